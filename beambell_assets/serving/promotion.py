"""When a new classifier may replace the champion. Pure logic, so it is testable without Dagster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PromotionPolicy:
    """``metric`` on gold must reach ``floor`` and not fall more than ``tolerance`` below the champion."""

    metric: str = "macro_f1"
    floor: float = 0.0
    tolerance: float = 0.02
    min_gold: int = 10


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide(candidate: dict[str, Any], champion: dict[str, Any] | None, policy: PromotionPolicy) -> Decision:
    """Compare a candidate's gold metrics with the policy and the current champion's."""
    score = candidate.get(policy.metric)
    n_gold = int(candidate.get("n_gold") or 0)
    if champion is None:
        if score is None or n_gold < policy.min_gold:
            return Decision(True, f"first model; only {n_gold} gold labels, so it is not gated on quality")
        if score < policy.floor:
            return Decision(False, f"{policy.metric}={score:.3f} below the floor {policy.floor:.3f}")
        return Decision(True, f"first model; {policy.metric}={score:.3f} >= floor {policy.floor:.3f}")
    if score is None or n_gold < policy.min_gold:
        return Decision(False, f"only {n_gold} gold labels (< {policy.min_gold}): keeping the champion")
    if score < policy.floor:
        return Decision(False, f"{policy.metric}={score:.3f} below the floor {policy.floor:.3f}")
    best = champion.get(policy.metric)
    if best is not None and score < best - policy.tolerance:
        return Decision(
            False,
            f"{policy.metric}={score:.3f} worse than champion {best:.3f} by more than {policy.tolerance}",
        )
    return Decision(
        True, f"{policy.metric}={score:.3f} vs champion {best if best is None else f'{best:.3f}'}"
    )
