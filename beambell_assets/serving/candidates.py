"""A trained model's way into the registry: saved as a candidate, promoted once it passed the gates.

Plain steps of the ``classifier`` and ``deployed_model`` assets (``defs/assets/weak_supervision.py``);
the gates themselves are ``serving/promotion.py``, run as blocking checks on the classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.labeling.task import Task
from beambell_assets.serving.model_store import load_registered_model, save_model
from beambell_assets.serving.promotion import GateResult
from beambell_assets.serving.registry import ModelRecord, ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.evaluation import evaluate


class NoChampionError(RuntimeError):
    """The registry has no model (or no champion) for the task."""


def register_candidate(
    wh: Warehouse,
    store: ArtifactStore,
    task: Task,
    model: Any,
    metrics: dict[str, Any],
    weak: pd.DataFrame,
    run_id: str | None = None,
    now: datetime | None = None,
) -> tuple[ModelRecord, Any]:
    """Save ``model`` (skops, under ``models/<task>-<UTC stamp>``) and register it as a candidate
    trained on ``weak``'s partitions; returns its record and artifact path."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    version = f"{task.name}-{stamp}"
    path = store.path("models", f"{version}.skops")
    sha = save_model(model, path)
    record = ModelRegistry(wh, task.name).register(
        version=version,
        artifact_path=str(path),
        artifact_sha256=sha,
        n_train=len(weak),
        metrics=metrics,
        training_window=f"{weak['partition_key'].min()}..{weak['partition_key'].max()}",
        lf_fingerprint=task.fingerprint(),
        run_id=run_id,
    )
    return record, path


def promote_gated_candidate(registry: ModelRegistry, actor: str) -> tuple[ModelRecord, str]:
    """Promote the newest candidate if it passed the gates; (champion, what was decided).

    Only the recorded gate verdict counts, so calling this without the gates never skips them.
    Raises :class:`NoChampionError` when the task has no model or, after the decision, no champion.
    """
    if not registry.versions():
        raise NoChampionError(f"no {registry.task} model in the registry yet")
    candidate = registry.latest_candidate()
    decision = "no new candidate"
    if candidate is not None:
        if registry.passed_gates(candidate.version):
            registry.promote(candidate.version, actor=actor, reason="passed the promotion gates")
            decision = f"promoted {candidate.version}"
        else:
            decision = f"{candidate.version} has not passed the promotion gates: champion kept"
    champion = registry.champion()
    if champion is None:
        raise NoChampionError(f"no champion for {registry.task}: {decision}")
    return champion, decision


def registry_history(registry: ModelRegistry, last: int = 20) -> pd.DataFrame:
    """The task's newest registry events (who promoted or rejected what, and why)."""
    events = pd.DataFrame(registry.events())[["at", "action", "version", "previous", "actor", "reason"]]
    return events.tail(last)


def champion_on_same_gold(champion: ModelRecord, gold_eval: pd.DataFrame, label_names: list[str]) -> dict:
    """The champion's accuracy, macro F1 and gold rows on the candidate's evaluation gold (its own
    recorded metrics when there is none), so the two are compared on the same rows."""
    if gold_eval.empty:
        return dict(champion.metrics)
    model = load_registered_model(champion.artifact_path, champion.artifact_sha256)
    preds = np.asarray(model.predict(gold_eval["text"].tolist()))
    report = evaluate(gold_eval["gold"].to_numpy(), preds, label_names)
    return {k: report.get(k) for k in ("accuracy", "macro_f1", "n_gold")}


def record_gate_verdict(
    registry: ModelRegistry, candidate: ModelRecord, results: Sequence[GateResult], actor: str
) -> bool:
    """Reject the candidate (naming each failed gate) or record ``gates_passed``; whether it passed."""
    failed = [r for r in results if not r.passed]
    if failed:
        registry.reject(
            candidate.version, actor=actor, reason="; ".join(f"{r.name}: {r.reason}" for r in failed)
        )
        return False
    registry.record(
        candidate.version,
        "gates_passed",
        actor=actor,
        reason="; ".join(r.reason for r in results),
        metrics=candidate.metrics,
    )
    return True
