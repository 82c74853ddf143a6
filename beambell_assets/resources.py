"""Dagster resources: the warehouse, the artifact store, the landing folder and the task.

Each is a ``ConfigurableResource`` whose fields show in the UI's resource view; defaults come from
:mod:`beambell_assets.settings` (environment), so the embedded set-up needs no configuration.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from beambell_assets.ingest.contract import ColumnMapping, list_landing_files, partition_key_for
from beambell_assets.labeling.task import Task, load_task
from beambell_assets.serving.promotion import PromotionPolicy
from beambell_assets.settings import StreamSettings
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse


class WarehouseResource(ConfigurableResource):
    """SQLAlchemy URL of the warehouse (SQLite file by default, PostgreSQL in production)."""

    url: str
    _wh: Warehouse | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._wh = Warehouse(self.url)
        self._wh.migrate()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._wh is not None:
            self._wh.dispose()

    def get(self) -> Warehouse:
        if self._wh is None:  # used outside a run (e.g. a sensor)
            self._wh = Warehouse(self.url)
            self._wh.migrate()
        return self._wh


class ArtifactStoreResource(ConfigurableResource):
    """Root folder (or object-storage URL) for frames, label matrices and models."""

    root: str

    def get(self) -> ArtifactStore:
        return ArtifactStore(self.root)


class LandingResource(ConfigurableResource):
    """The landing folder batch files are dropped in; one file is one partition.

    ``column_mapping`` maps a scraper's column names to the landing contract, e.g.
    ``url=website_url,text=cleaned_website_text,label=Category``.
    """

    landing_dir: str
    column_mapping: str = ""

    def mapping(self) -> ColumnMapping | None:
        return ColumnMapping.parse(self.column_mapping) if self.column_mapping.strip() else None

    def files(self) -> dict[str, Path]:
        """Partition key -> file, for every complete batch file in the landing folder."""
        return landing_files(Path(self.landing_dir))

    def path_for(self, partition_key: str) -> Path:
        files = self.files()
        if partition_key not in files:
            raise FileNotFoundError(
                f"no landing file for partition {partition_key!r} in {self.landing_dir} "
                f"(known: {', '.join(sorted(files)[:5]) or 'none'})"
            )
        return files[partition_key]


def landing_files(landing_dir: Path) -> dict[str, Path]:
    """Partition key -> file for every complete batch file (see the landing contract)."""
    return {partition_key_for(p): p for p in list_landing_files(landing_dir)}


class GoldFilesResource(ConfigurableResource):
    """Folder of hand-label CSV files (``url,label[,labeler,labeled_at]``)."""

    gold_dir: str


class TaskResource(ConfigurableResource):
    """Which task to run: a module path or a ``.py`` file (see ``labeling/task.py``)."""

    spec: str

    def get(self) -> Task:
        return _load_task_cached(self.spec)


@lru_cache(maxsize=8)
def _load_task_cached(spec: str) -> Task:
    return load_task(spec)


class PromotionPolicyResource(ConfigurableResource):
    """The promotion gates' thresholds (see ``serving/promotion.py``); shown and editable in the UI."""

    metric: str = "macro_f1"
    floor: float = 0.5
    tolerance: float = 0.02
    min_gold: int = 20
    min_lift: float = 0.10
    min_agreement_with_label_model: float = 0.5
    #: How many of the newest partitions the candidate's training data is compared with for drift.
    recent_partitions: int = 3

    def policy(self) -> PromotionPolicy:
        return PromotionPolicy(
            metric=self.metric,
            floor=self.floor,
            tolerance=self.tolerance,
            min_gold=self.min_gold,
            min_lift=self.min_lift,
            min_agreement_with_label_model=self.min_agreement_with_label_model,
        )


class StreamResource(ConfigurableResource):
    """Where the real-time path's Redis streams are, and when the stream counts as unhealthy."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "beambell"
    group: str = "beambell"
    max_lag: int = 5000
    down_after_s: float = 60.0

    def settings(self) -> StreamSettings:
        return StreamSettings(
            redis_url=self.redis_url, prefix=self.prefix, group=self.group, max_lag=self.max_lag,
            down_after_s=self.down_after_s,
        )
