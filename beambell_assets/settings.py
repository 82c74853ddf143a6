"""Where beambell keeps things, read from the environment once so every layer agrees.

Everything lives under one home folder (``BEAMBELL_HOME``, default ``./.beambell``):

    landing/      batch files dropped by scrapers (one file = one partition)
    gold/         CSV files of hand labels (url,label[,labeler])
    artifacts/    Parquet frames, label matrices, skops models, written by the IO manager
    warehouse.db  the embedded SQLite warehouse (unless BEAMBELL_WAREHOUSE_URL points elsewhere)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TASK = "beambell_assets.labeling.tasks.web_content"


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    task_spec: str
    column_mapping: str = ""

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
    return Settings(home=home_path, warehouse_url=url, task_spec=task, column_mapping=mapping)
