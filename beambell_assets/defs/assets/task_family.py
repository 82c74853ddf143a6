"""Everything one weak-supervision task has in the asset graph, from one factory and one spec.

    stateful_lfs ─┐
    <features> ───┴▶ lf_votes ▶ label_model ▶ training_set ▶ classifier (+ promotion gates)
                                                                 ▶ deployed_model ▶ predictions
    predictions ▶ drift_report · deployed_model ▶ annotation_queue ▶ label_studio_export
    deployed_model ▶ stream_predictions ▶ stream_learned_state, stream_rollup

The page-content task (prefix ``""``) and the organisation-type task (``org_``) both come from
:func:`build_task_assets`; asset keys are the spec's names, never another task's.
"""

from dataclasses import dataclass

from dagster import AssetChecksDefinition, AssetsDefinition

from beambell_assets.defs.assets.annotation import AnnotationAssets, build_annotation_assets
from beambell_assets.defs.assets.monitoring import build_drift_report
from beambell_assets.defs.assets.stateful_lfs import build_stateful_lfs_asset
from beambell_assets.defs.assets.streaming import StreamAssets, build_stream_assets
from beambell_assets.defs.assets.weak_supervision import WeakSupervisionAssets, build_weak_supervision_assets
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec


@dataclass(frozen=True)
class TaskAssets:
    """One task's assets by role: no caller looks an asset up by name."""

    spec: WeakSupervisionSpec
    stateful_lfs: AssetsDefinition
    chain: WeakSupervisionAssets
    drift_report: AssetsDefinition
    annotation: AnnotationAssets
    stream: StreamAssets

    @property
    def scoring(self) -> list[AssetsDefinition]:
        """What follows a new champion or a new batch: predictions, drift, the annotation queue and export."""
        return [self.chain.predictions, self.drift_report, *self.annotation.all]

    @property
    def all(self) -> list[AssetsDefinition | AssetChecksDefinition]:
        return [self.stateful_lfs, *self.chain.all, self.drift_report, *self.annotation.all, *self.stream.all]


def build_task_assets(spec: WeakSupervisionSpec | None = None) -> TaskAssets:
    """The whole per-task family for ``spec`` (default: the page-content task)."""
    spec = spec or WeakSupervisionSpec()
    stateful = build_stateful_lfs_asset(spec)
    return TaskAssets(
        spec=spec,
        stateful_lfs=stateful,
        chain=build_weak_supervision_assets(spec, stateful_lfs_asset=spec.name("stateful_lfs")),
        drift_report=build_drift_report(spec),
        annotation=build_annotation_assets(spec),
        stream=build_stream_assets(spec),
    )
