"""Every Dagster resource, and :func:`build_resources`, the one place they are built from ``Settings``.

* the warehouse, the artifact store, the landing folder, the gold files, the task, the promotion
  policy and the stream's Redis (``ConfigurableResource``s whose fields show in the UI);
* ``compute``: where the heavy per-page work runs, in the Dagster step (``local``) or as a Beam
  pipeline (``beam``). ``lf_votes`` and ``predictions`` call :class:`ComputeResource` instead of the
  local applier and scorer directly, so the engine is chosen per run by resource config (Launchpad,
  run config, or ``Settings.compute`` for the deployment default) without touching asset code. Both
  engines give the same label matrix and the same scores (tested). See ``docs/scale-out.md``;
* ``label_studio``: where the Label Studio server is (``feedback/label_studio.py`` does the work).

Defaults come from :mod:`beambell_assets.settings`, so the embedded set-up needs no configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr
from snorkel.labeling import LabelingFunction

from beambell_assets.feedback.label_studio import ensure_project
from beambell_assets.ingest.contract import ColumnMapping, landing_files
from beambell_assets.labeling.applier import ApplyReport, FastLFApplier
from beambell_assets.labeling.task import Task, load_task
from beambell_assets.serving.promotion import PromotionPolicy
from beambell_assets.serving.scoring import score_pages
from beambell_assets.settings import (
    CLASSIFIERS,
    ENGINES,
    ComputeSettings,
    EndModelSettings,
    LabelStudioSettings,
    Settings,
    StreamSettings,
)
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier
from beambell_assets.training.streaming_classifier import StreamingSoftClassifier

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

#: The organisation-type task (``labeling/tasks/org_type.py``), resource ``org_task``.
ORG_TASK_SPEC = "beambell_assets.labeling.tasks.org_type"


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
            redis_url=self.redis_url,
            prefix=self.prefix,
            group=self.group,
            max_lag=self.max_lag,
            down_after_s=self.down_after_s,
        )


# --------------------------------------------------------------------------- compute

# ENGINES and CLASSIFIERS (``settings.py``): where LFs run (local | beam) and the classifier kind.
# ``tfidf-lbfgs``: TF-IDF + L-BFGS logistic regression on the whole window (the default; the
# ``classifier`` asset picks its featurisation per task, ``training/end_model.py``);
# ``hashed-sgd``: hashed tf-idf + SGD (``training/streaming_classifier.py``), ~60x faster to fit on
# 100k pages, 0.01-0.03 less accurate on the dev set (``benchmarks/full_retrain.py``).


class ComputeResource(ConfigurableResource):
    """Engine for LF application and batch scoring.

    ``engine``: ``local`` (the process-pool ``FastLFApplier`` and in-process scoring) or ``beam``
    (Beam pipelines, ``beambell_assets/beam/``; needs the ``beam`` extra). The ``beam_*`` fields
    build the pipeline options (``beam/options.py``); ``beam_options`` are passed through verbatim,
    e.g. ``["--flink_master=flink:8081", "--environment_type=LOOPBACK"]``. ``staging_dir`` must be
    storage the Beam workers can reach (``gs://...`` on Dataflow); empty = a local temporary folder.
    """

    engine: str = Field(default="local", description="local | beam")
    beam_runner: str = Field(
        default="DirectRunner", description="DirectRunner | FlinkRunner | SparkRunner | DataflowRunner"
    )
    direct_num_workers: int = Field(default=2, description="DirectRunner worker count")
    direct_running_mode: str = Field(
        default="multi_processing", description="in_memory | multi_threading | multi_processing"
    )
    beam_options: list[str] = Field(default_factory=list, description="extra Beam flags, passed verbatim")
    staging_dir: str = Field(default="", description="chunk exchange folder for Beam workers")
    chunk_size: int = Field(default=4096, description="rows per unit of work")
    local_n_jobs: int = Field(default=0, description="local applier processes (0 = usable cores)")
    classifier: str = Field(default="tfidf-lbfgs", description="tfidf-lbfgs | hashed-sgd")
    # The tfidf-lbfgs end model (``training/end_model.py``; ``Settings.end_model``).
    end_model: str = Field(
        default="",
        description="overrides the task's end_model: auto | fixed | word | char | both | encoder"
        " | both+encoder",
    )
    end_model_combine: str = Field(default="ensemble", description="what auto ships: ensemble | best")
    end_model_folds: int = Field(default=3, description="k of the gold-free k-fold search")
    end_model_cv_rows: int = Field(default=2000, description="rows the search scores at most")
    end_model_repeats: int = Field(default=1, description="k-fold splits scored (0: by a text budget)")

    @classmethod
    def from_settings(
        cls, compute: ComputeSettings, end_model: EndModelSettings | None = None
    ) -> ComputeResource:
        """The deployment default (``Settings.compute``: ``BEAMBELL_COMPUTE_ENGINE`` …, and
        ``Settings.end_model``: ``BEAMBELL_END_MODEL`` …)."""
        em = end_model or EndModelSettings()
        return cls(
            engine=compute.engine,
            classifier=compute.classifier,
            beam_runner=compute.beam_runner,
            beam_options=list(compute.beam_options),
            end_model=em.spec,
            end_model_combine=em.combine,
            end_model_folds=em.cv_folds,
            end_model_cv_rows=em.cv_max_rows,
            end_model_repeats=em.cv_repeats,
        )

    @classmethod
    def from_env(cls) -> ComputeResource:
        """:meth:`from_settings` of the environment's settings."""
        return cls.from_settings(ComputeSettings.from_env(), EndModelSettings.from_env())

    def end_model_settings(self) -> EndModelSettings:
        """The end-model search configured here. The encoder (path, precision) comes from the
        environment, where ``page_features`` and the stream read it too: one encoder per deployment."""
        env = EndModelSettings.from_env()
        return EndModelSettings(
            encoder_path=env.encoder_path,
            encoder_precision=env.encoder_precision,
            spec=self.end_model,
            cv_folds=self.end_model_folds,
            cv_max_rows=self.end_model_cv_rows,
            cv_repeats=self.end_model_repeats,
            combine=self.end_model_combine,
        )

    def _check_engine(self) -> str:
        if self.engine not in ENGINES:
            raise ValueError(f"compute engine {self.engine!r}: expected one of {', '.join(ENGINES)}")
        return self.engine

    def make_classifier(self, n_classes: int) -> Any:
        """An unfitted text classifier of the configured kind (``fit(texts, probs)``, ``predict_proba``)."""
        if self.classifier == "tfidf-lbfgs":
            return SoftLabelTextClassifier(n_classes=n_classes, random_state=0)
        if self.classifier == "hashed-sgd":
            return StreamingSoftClassifier(n_classes, epochs=5, min_prob=0.05, random_state=0)
        raise ValueError(f"classifier {self.classifier!r}: expected one of {', '.join(CLASSIFIERS)}")

    def pipeline_options(self, job_name: str | None = None) -> Any:
        from beambell_assets.beam.options import pipeline_options

        return pipeline_options(
            runner=self.beam_runner,
            direct_num_workers=self.direct_num_workers,
            direct_running_mode=self.direct_running_mode,
            extra_args=self.beam_options,
            job_name=job_name,
        )

    def apply_lfs(
        self, lfs: Sequence[LabelingFunction], frame: pd.DataFrame, cardinality: int | None = None
    ) -> tuple[np.ndarray, ApplyReport]:
        """``(L, report)`` for ``frame``; identical ``L`` and fault counts on either engine
        (``cardinality``: votes for labels outside it are faults, see the appliers)."""
        if self._check_engine() == "local":
            local = FastLFApplier(
                lfs, n_jobs=self.local_n_jobs or None, chunk_size=self.chunk_size, cardinality=cardinality
            )
            return local.apply(frame)
        from beambell_assets.beam.lf_pipeline import BeamLFApplier

        applier = BeamLFApplier(
            lfs,
            options=self.pipeline_options(job_name="beambell-lf-votes"),
            chunk_size=self.chunk_size,
            staging_dir=self.staging_dir or None,
            cardinality=cardinality,
        )
        return applier.apply(frame)

    def score(self, model: Any, features: pd.DataFrame, task: Task, version: str) -> pd.DataFrame:
        """``score_pages(model, features, task, version)`` on the configured engine."""
        if self._check_engine() == "local":
            return score_pages(model, features, task, version)
        from beambell_assets.beam.scoring_pipeline import score_pages_beam

        return score_pages_beam(
            model,
            features,
            task,
            version,
            options=self.pipeline_options(job_name="beambell-predictions"),
            chunk_size=max(self.chunk_size, 1024),
            staging_dir=self.staging_dir or None,
        )


# --------------------------------------------------------------------------- Label Studio


class LabelStudioResource(ConfigurableResource):
    """Where the Label Studio server is: URL, API token and the project (id, or title to find/create).

    Unset ``url`` means "no server": the export then only writes the JSON file and the gold sensor
    skips. ``api_key`` is a legacy token or a personal access token (the SDK handles both).
    """

    url: str = ""
    api_key: str = ""
    project_id: int = 0
    project_title: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.url and self.api_key)

    @classmethod
    def from_settings(cls, settings: LabelStudioSettings) -> LabelStudioResource:
        return cls(
            url=settings.url,
            api_key=settings.api_key,
            project_id=settings.project_id,
            project_title=settings.project_title,
        )

    def client(self) -> LabelStudio:
        from label_studio_sdk import LabelStudio

        if not self.configured:
            raise RuntimeError("Label Studio is not configured (BEAMBELL_LABEL_STUDIO_URL / _TOKEN)")
        return LabelStudio(base_url=self.url, api_key=self.api_key)

    def project(self, client: LabelStudio, task: Task) -> int:
        return self.project_id or ensure_project(client, task, title=self.project_title or None)


# --------------------------------------------------------------------------- built from Settings


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    """Every resource the definitions need, from ``settings`` (the only place resources are built)."""
    return {
        "warehouse": WarehouseResource(url=settings.warehouse_url),
        "artifacts": ArtifactStoreResource(root=str(settings.artifacts_dir)),
        "landing": LandingResource(
            landing_dir=str(settings.landing_dir), column_mapping=settings.column_mapping
        ),
        "gold_files": GoldFilesResource(gold_dir=str(settings.gold_dir)),
        "task": TaskResource(spec=settings.task_spec),
        "org_task": TaskResource(spec=ORG_TASK_SPEC),
        "promotion": PromotionPolicyResource(),
        "stream": StreamResource(
            redis_url=settings.stream.redis_url,
            prefix=settings.stream.prefix,
            group=settings.stream.group,
            max_lag=settings.stream.max_lag,
            down_after_s=settings.stream.down_after_s,
        ),
        "compute": ComputeResource.from_settings(settings.compute, settings.end_model),
        "label_studio": LabelStudioResource.from_settings(settings.label_studio),
    }
