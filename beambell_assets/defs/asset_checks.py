"""Promotion gates: blocking asset checks on a task's classifier, built per task by a factory.

The classifier asset registers every trained model as a *candidate*. These checks decide whether
it may become the champion; because they are blocking, a failing gate stops ``deployed_model``
in the same run, and the verdict is written to the registry (``gates_passed`` or ``reject``, with
who, why and the numbers), so ``deployed_model`` materialized on its own later still only
promotes a candidate that passed.
"""

from collections.abc import Iterator

import numpy as np
import pandas as pd
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
from beambell_assets.monitoring.reference import parse_training_window, window_partitions
from beambell_assets.monitoring.training_drift import feature_drift
from beambell_assets.serving.model_store import load_model
from beambell_assets.serving.promotion import GATES, GateResult, champion_gate, drift_gate, quality_gate
from beambell_assets.serving.registry import ModelRecord, ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.training.evaluation import evaluate

_DESCRIPTIONS = {
    "quality_floor": "Agrees with its label model; on gold reaches the floor and beats the majority class.",
    "not_worse_than_champion": "On the same gold rows, not worse than the champion beyond the tolerance.",
    "no_severe_drift": "The newest partitions do not drift severely from the candidate's training data.",
}
_DRIFT_SAMPLE = 5_000


def _sample_features(store: ArtifactStore, asset: str, keys: list[str], seed: int = 0) -> pd.DataFrame:
    frames = [store.read_frame(asset, k) for k in keys]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame.sample(n=_DRIFT_SAMPLE, random_state=seed) if len(frame) > _DRIFT_SAMPLE else frame


def _champion_on_same_gold(champion: ModelRecord, gold_eval: pd.DataFrame, label_names: list[str]) -> dict:
    if gold_eval.empty:
        return dict(champion.metrics)
    model = load_model(champion.artifact_path, expected_sha256=champion.artifact_sha256)
    preds = np.asarray(model.predict(gold_eval["text"].tolist()))
    report = evaluate(gold_eval["gold"].to_numpy(), preds, label_names)
    return {k: report.get(k) for k in ("accuracy", "macro_f1", "n_gold")}


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
        policy = settings.policy()
        registry = ModelRegistry(wh, task.name)
        candidate = registry.latest_candidate()
        if candidate is None:
            for g in GATES:
                yield AssetCheckResult(
                    asset_key=classifier_key,
                    check_name=g,
                    passed=True,
                    metadata={"note": "no candidate to gate"},
                )
            return
        champion = registry.champion()
        gold_eval = store.read_frame(n("training_set"), "gold_eval")
        champion_now = (
            _champion_on_same_gold(champion, gold_eval, list(task.label_names)) if champion else None
        )

        keys = store.frame_keys(spec.features_asset)
        # The candidate's training pages (all partitions when it recorded no window).
        trained_on = (
            window_partitions(keys, candidate.training_window)
            if parse_training_window(candidate.training_window)
            else keys
        )
        reference = _sample_features(store, spec.features_asset, trained_on)
        recent_keys = keys[-settings.recent_partitions :]
        current = _sample_features(store, spec.features_asset, recent_keys)
        drift = feature_drift(current, reference)
        drift_md = {
            "recent_partitions": ", ".join(recent_keys),
            "share_drifted": scalar(drift.share_drifted),
            "drifted_columns": ", ".join(drift.drifted_columns) or "none",
        }

        results: list[GateResult] = [
            quality_gate(candidate.metrics, policy, has_champion=champion is not None),
            champion_gate(candidate.metrics, champion_now, policy),
            drift_gate(drift.severity, f"{len(drift.drifted_columns)} drifted column(s)", drift_md),
        ]
        actor = f"promotion gates, dagster run {context.run.run_id}"
        failed = [r for r in results if not r.passed]
        if failed:
            registry.reject(
                candidate.version, actor=actor, reason="; ".join(f"{r.name}: {r.reason}" for r in failed)
            )
        else:
            registry.record(
                candidate.version,
                "gates_passed",
                actor=actor,
                reason="; ".join(r.reason for r in results),
                metrics=candidate.metrics,
            )
        for r in results:
            yield AssetCheckResult(
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

    return promotion_gates
