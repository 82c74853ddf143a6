"""Where the heavy per-page work runs: in the Dagster step (``local``) or as a Beam pipeline (``beam``).

``lf_votes`` and ``predictions`` call :class:`ComputeResource` instead of the local applier and
scorer directly, so the engine is chosen per run by resource config (Launchpad in the UI, run config
in a job or schedule, or ``BEAMBELL_COMPUTE_ENGINE`` for the deployment default) without touching
asset code. Both engines give the same label matrix and the same scores (tested), so switching never
changes results, only where and how fast they are computed. See ``docs/scale-out.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field
from snorkel.labeling import LabelingFunction

from beambell_assets.labeling.applier import ApplyReport, FastLFApplier
from beambell_assets.labeling.task import Task
from beambell_assets.serving.scoring import score_pages
from beambell_assets.settings import ComputeSettings
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier
from beambell_assets.training.streaming_classifier import StreamingSoftClassifier

ENGINES = ("local", "beam")
#: ``tfidf-lbfgs``: TF-IDF + L-BFGS logistic regression on the whole window (the default; the
#: ``classifier`` asset picks its featurisation per task, ``training/end_model.py``);
#: ``hashed-sgd``: hashed tf-idf + SGD (``training/streaming_classifier.py``), ~60x faster to fit on
#: 100k pages, 0.01-0.03 less accurate on the dev set (``benchmarks/full_retrain.py``).
CLASSIFIERS = ("tfidf-lbfgs", "hashed-sgd")


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

    @classmethod
    def from_settings(cls, compute: ComputeSettings) -> ComputeResource:
        """The deployment default (``Settings.compute``: ``BEAMBELL_COMPUTE_ENGINE`` …)."""
        return cls(
            engine=compute.engine,
            classifier=compute.classifier,
            beam_runner=compute.beam_runner,
            beam_options=list(compute.beam_options),
        )

    @classmethod
    def from_env(cls) -> ComputeResource:
        """:meth:`from_settings` of the environment's settings."""
        return cls.from_settings(ComputeSettings.from_env())

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
        self, lfs: Sequence[LabelingFunction], frame: pd.DataFrame
    ) -> tuple[np.ndarray, ApplyReport]:
        """``(L, report)`` for ``frame``; identical ``L`` and fault counts on either engine."""
        if self._check_engine() == "local":
            local = FastLFApplier(lfs, n_jobs=self.local_n_jobs or None, chunk_size=self.chunk_size)
            return local.apply(frame)
        from beambell_assets.beam.lf_pipeline import BeamLFApplier

        applier = BeamLFApplier(
            lfs,
            options=self.pipeline_options(job_name="beambell-lf-votes"),
            chunk_size=self.chunk_size,
            staging_dir=self.staging_dir or None,
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
