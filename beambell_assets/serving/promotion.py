"""The gates a candidate classifier must pass before it may replace the champion.

Pure logic (testable without Dagster); the Dagster side (``defs/asset_checks.py``) gathers the
numbers and turns each gate into a blocking asset check on the classifier.

* ``quality_floor`` — the candidate must agree with the label model it was trained from (a model
  fitted to shuffled or corrupted labels agrees at chance level, with or without gold), and on gold
  it must reach ``floor`` and beat always-predict-the-majority-class by ``min_lift``.
* ``not_worse_than_champion`` — on the *same* gold rows (the champion is re-scored, not compared
  with a number from another day's gold), the candidate may trail by at most ``tolerance``.
* ``no_severe_drift`` — the newest partitions must still look like the candidate's training data;
  a model trained on a world that has moved is not promoted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PromotionPolicy:
    metric: str = "macro_f1"
    floor: float = 0.5
    tolerance: float = 0.02
    min_gold: int = 20
    min_lift: float = 0.10
    min_agreement_with_label_model: float = 0.5


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    reason: str
    metadata: dict[str, Any] = field(default_factory=dict)


GATES = ("quality_floor", "not_worse_than_champion", "no_severe_drift")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def quality_gate(candidate: dict[str, Any], policy: PromotionPolicy, has_champion: bool) -> GateResult:
    agreement = candidate.get("agreement_with_label_model")
    md = {
        "agreement_with_label_model": agreement,
        "n_gold": int(candidate.get("n_gold") or 0),
        policy.metric: candidate.get(policy.metric),
        "accuracy": candidate.get("accuracy"),
        "majority_class_accuracy": candidate.get("majority_class_accuracy"),
        "floor": policy.floor,
    }
    if agreement is None or agreement < policy.min_agreement_with_label_model:
        return GateResult(
            "quality_floor",
            False,
            f"agrees with its own label model on {_fmt(agreement)} of training pages "
            f"(< {policy.min_agreement_with_label_model}): labels look corrupted",
            md,
        )
    n_gold, score = md["n_gold"], candidate.get(policy.metric)
    if n_gold < policy.min_gold or score is None:
        if has_champion:
            return GateResult(
                "quality_floor", False, f"only {n_gold} gold labels (< {policy.min_gold}): cannot vouch", md
            )
        return GateResult(
            "quality_floor",
            True,
            f"first model; only {n_gold} gold labels, so gated on label-model agreement "
            f"{_fmt(agreement)} only",
            md,
        )
    if score < policy.floor:
        return GateResult(
            "quality_floor", False, f"{policy.metric}={score:.3f} below the floor {policy.floor:.3f}", md
        )
    accuracy, baseline = candidate.get("accuracy"), candidate.get("majority_class_accuracy")
    if accuracy is not None and baseline is not None and accuracy < baseline + policy.min_lift:
        return GateResult(
            "quality_floor",
            False,
            f"accuracy {accuracy:.3f} does not beat the majority class ({baseline:.3f}) by {policy.min_lift}",
            md,
        )
    return GateResult(
        "quality_floor", True, f"{policy.metric}={score:.3f} >= {policy.floor:.3f} on {n_gold} gold", md
    )


def champion_gate(
    candidate: dict[str, Any], champion_now: dict[str, Any] | None, policy: PromotionPolicy
) -> GateResult:
    """``champion_now``: the champion's metrics re-scored on the candidate's gold rows (None: none)."""
    if champion_now is None:
        return GateResult("not_worse_than_champion", True, "no champion yet")
    score, best = candidate.get(policy.metric), champion_now.get(policy.metric)
    n_gold = int(candidate.get("n_gold") or 0)
    md = {"candidate": score, "champion": best, "tolerance": policy.tolerance, "n_gold": n_gold}
    if score is None or n_gold < policy.min_gold:
        return GateResult(
            "not_worse_than_champion",
            False,
            f"only {n_gold} gold labels (< {policy.min_gold}): keeping the champion",
            md,
        )
    if best is not None and score < best - policy.tolerance:
        return GateResult(
            "not_worse_than_champion",
            False,
            f"{policy.metric}={score:.3f} worse than the champion's {best:.3f} on the same gold "
            f"by more than {policy.tolerance}",
            md,
        )
    return GateResult(
        "not_worse_than_champion", True, f"{policy.metric}={score:.3f} vs champion {_fmt(best)}", md
    )


def drift_gate(severity: str | None, detail: str, metadata: dict[str, Any] | None = None) -> GateResult:
    if severity == "severe":
        return GateResult(
            "no_severe_drift", False, f"severe drift vs the newest partitions: {detail}", metadata or {}
        )
    return GateResult(
        "no_severe_drift", True, f"drift {severity or 'not measured'}: {detail}", metadata or {}
    )
