"""Promotion gates: blocking asset checks on a task's classifier, built per task by a factory.

The classifier asset registers every trained model as a *candidate*. These checks decide whether
it may become the champion; because they are blocking, a failing gate stops ``deployed_model``
in the same run, and the verdict is written to the registry (``gates_passed`` or ``reject``, with
who, why and the numbers), so ``deployed_model`` materialized on its own later still only
promotes a candidate that passed.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from beambell_assets.defs.assets.metadata import scalar
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.monitoring.training_drift import candidate_feature_drift
from beambell_assets.serving.candidates import champion_on_same_gold, record_gate_verdict
from beambell_assets.serving.promotion import GATES, GateResult, champion_gate, drift_gate, quality_gate
from beambell_assets.serving.registry import ModelRecord, ModelRegistry

_DESCRIPTIONS = {
    "quality_floor": "Agrees with its label model; on gold reaches the floor and beats the majority class.",
    "not_worse_than_champion": "On the same gold rows, not worse than the champion beyond the tolerance.",
    "no_severe_drift": "The newest partitions do not drift severely from the candidate's training data.",
}


def _no_candidate(classifier_key: AssetKey) -> Iterator[AssetCheckResult]:
    for g in GATES:
        yield AssetCheckResult(
            asset_key=classifier_key, check_name=g, passed=True, metadata={"note": "no candidate to gate"}
        )


def _gate_result(
    classifier_key: AssetKey, r: GateResult, candidate: ModelRecord, champion: ModelRecord | None
) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=classifier_key,
        check_name=r.name,
        passed=r.passed,
        severity=AssetCheckSeverity.ERROR,
        description=r.reason,
        metadata={
            "candidate": candidate.version,
            "champion": champion.version if champion else "none",
            "reason": r.reason,
            **{k: scalar(v) for k, v in r.metadata.items()},
        },
    )


def build_promotion_gates(spec: WeakSupervisionSpec, classifier_key: AssetKey) -> AssetChecksDefinition:
    n = spec.name

    @multi_asset_check(
        name=n("promotion_gates"),
        specs=[
            AssetCheckSpec(g, asset=classifier_key, blocking=True, description=_DESCRIPTIONS[g])
            for g in GATES
        ],
        required_resource_keys=spec.resource_keys | {"promotion"},
    )
    def promotion_gates(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
        """Gate the newest candidate model; record the verdict in the registry."""
        task, wh, store = spec.parts(context)
        settings = context.resources.promotion
        registry = ModelRegistry(wh, task.name)
        candidate = registry.latest_candidate()
        if candidate is None:
            yield from _no_candidate(classifier_key)
            return
        champion = registry.champion()
        gold_eval = store.read_frame(n("training_set"), "gold_eval")
        labels = list(task.label_names)
        champion_now = champion_on_same_gold(champion, gold_eval, labels) if champion else None
        drift, recent = candidate_feature_drift(
            store, spec.features_asset, candidate.training_window, settings.recent_partitions
        )
        drift_md = {
            "recent_partitions": ", ".join(recent),
            "share_drifted": scalar(drift.share_drifted),
            "drifted_columns": ", ".join(drift.drifted_columns) or "none",
        }
        results: list[GateResult] = [
            quality_gate(candidate.metrics, settings.policy(), has_champion=champion is not None),
            champion_gate(candidate.metrics, champion_now, settings.policy()),
            drift_gate(drift.severity, f"{len(drift.drifted_columns)} drifted column(s)", drift_md),
        ]
        record_gate_verdict(
            registry, candidate, results, actor=f"promotion gates, dagster run {context.run.run_id}"
        )
        for r in results:
            yield _gate_result(classifier_key, r, candidate, champion)

    return promotion_gates
