"""Where beambell keeps things, read from the environment once so every layer agrees.

Everything lives under one home folder (``BEAMBELL_HOME``, default ``./.beambell``):

    landing/      batch files dropped by scrapers (one file = one partition)
    gold/         CSV files of hand labels (url,label[,labeler])
    artifacts/    Parquet frames, label matrices, skops models, written by the IO manager
    warehouse.db  the embedded SQLite warehouse (unless BEAMBELL_WAREHOUSE_URL points elsewhere)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TASK = "beambell_assets.labeling.tasks.web_content"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc


@dataclass(frozen=True)
class AutomationSettings:
    """How often sensors look, and what triggers a retrain (env ``BEAMBELL_*``, see README)."""

    #: Seconds between landing-folder checks (``BEAMBELL_LANDING_INTERVAL_S``).
    landing_interval_s: int = 5
    #: A file must be this old (mtime) before it is picked up: a safety net for writers that cannot
    #: rename atomically (``BEAMBELL_LANDING_MIN_AGE_S``); the contract is still write-then-rename.
    landing_min_age_s: float = 1.0
    #: New files turned into runs per sensor tick, so a burst never makes one tick time out.
    landing_max_per_tick: int = 200
    #: Seconds between retrain-trigger checks (drift requests, new gold, no champion yet).
    retrain_interval_s: int = 30
    #: New gold labels since the champion was trained that trigger a retrain.
    retrain_min_new_gold: int = 50
    #: Cron schedule of the periodic retrain (``BEAMBELL_RETRAIN_CRON``), UTC.
    retrain_cron: str = "0 4 * * *"
    #: After a promotion, the newest partitions re-scored with the new champion.
    rescore_partitions: int = 20

    @classmethod
    def from_env(cls) -> AutomationSettings:
        d = cls()
        return cls(
            landing_interval_s=int(_env_float("BEAMBELL_LANDING_INTERVAL_S", d.landing_interval_s)),
            landing_min_age_s=_env_float("BEAMBELL_LANDING_MIN_AGE_S", d.landing_min_age_s),
            landing_max_per_tick=int(_env_float("BEAMBELL_LANDING_MAX_PER_TICK", d.landing_max_per_tick)),
            retrain_interval_s=int(_env_float("BEAMBELL_RETRAIN_INTERVAL_S", d.retrain_interval_s)),
            retrain_min_new_gold=int(_env_float("BEAMBELL_RETRAIN_MIN_NEW_GOLD", d.retrain_min_new_gold)),
            retrain_cron=os.environ.get("BEAMBELL_RETRAIN_CRON") or d.retrain_cron,
            rescore_partitions=int(_env_float("BEAMBELL_RESCORE_PARTITIONS", d.rescore_partitions)),
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    task_spec: str
    column_mapping: str = ""
    automation: AutomationSettings = field(default_factory=lambda: AutomationSettings())

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def gold_dir(self) -> Path:
        return self.home / "gold"

    @property
    def mapping_file(self) -> Path:
        """Where ``beambell demo --map`` remembers the column mapping for later runs (UI, sensors)."""
        return self.home / "column_mapping.txt"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.home / "dagster_home")

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    def ensure_dirs(self) -> Settings:
        for d in (self.home, self.landing_dir, self.gold_dir, self.artifacts_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def load_settings(home: str | os.PathLike[str] | None = None) -> Settings:
    """Settings from arguments, then environment, then defaults."""
    home_path = Path(home or os.environ.get("BEAMBELL_HOME") or ".beambell").expanduser().resolve()
    url = os.environ.get("BEAMBELL_WAREHOUSE_URL") or f"sqlite:///{home_path / 'warehouse.db'}"
    task = os.environ.get("BEAMBELL_TASK") or DEFAULT_TASK
    mapping = os.environ.get("BEAMBELL_COLUMN_MAPPING")
    if mapping is None:
        mapping_file = home_path / "column_mapping.txt"
        mapping = mapping_file.read_text(encoding="utf-8").strip() if mapping_file.exists() else ""
    return Settings(
        home=home_path,
        warehouse_url=url,
        task_spec=task,
        column_mapping=mapping,
        automation=AutomationSettings.from_env(),
    )
