"""The promotion gates' decisions, one rule at a time (pure logic; the Dagster side is tested in
tests/integration/test_promotion.py)."""

import pytest

from beambell_assets.serving.promotion import PromotionPolicy, champion_gate, drift_gate, quality_gate

POLICY = PromotionPolicy(
    floor=0.5, tolerance=0.02, min_gold=20, min_lift=0.1, min_agreement_with_label_model=0.5
)
GOOD = {
    "agreement_with_label_model": 0.93,
    "n_gold": 60,
    "macro_f1": 0.8,
    "accuracy": 0.82,
    "majority_class_accuracy": 0.3,
}


@pytest.mark.parametrize(
    ("candidate", "has_champion", "passed", "why"),
    [
        (GOOD, True, True, ">= 0.500"),
        ({**GOOD, "agreement_with_label_model": 0.08}, False, False, "labels look corrupted"),
        ({**GOOD, "agreement_with_label_model": None}, False, False, "labels look corrupted"),
        ({**GOOD, "macro_f1": 0.4}, True, False, "below the floor"),
        ({**GOOD, "accuracy": 0.35}, True, False, "majority class"),
        ({**GOOD, "n_gold": 5}, False, True, "first model"),
        ({**GOOD, "n_gold": 5}, True, False, "cannot vouch"),
    ],
)
def test_quality_gate(candidate: dict, has_champion: bool, passed: bool, why: str) -> None:
    result = quality_gate(candidate, POLICY, has_champion)
    assert result.passed is passed
    assert why in result.reason


@pytest.mark.parametrize(
    ("candidate_f1", "champion_f1", "n_gold", "passed"),
    [(0.80, 0.81, 60, True), (0.80, 0.83, 60, False), (0.90, 0.80, 60, True), (0.90, 0.80, 5, False)],
)
def test_champion_gate(candidate_f1: float, champion_f1: float, n_gold: int, passed: bool) -> None:
    result = champion_gate({"macro_f1": candidate_f1, "n_gold": n_gold}, {"macro_f1": champion_f1}, POLICY)
    assert result.passed is passed


def test_champion_gate_without_champion_passes() -> None:
    assert champion_gate({"macro_f1": 0.1, "n_gold": 0}, None, POLICY).passed


@pytest.mark.parametrize(
    ("severity", "passed"), [("none", True), ("moderate", True), ("severe", False), (None, True)]
)
def test_drift_gate(severity: str | None, passed: bool) -> None:
    assert drift_gate(severity, "x").passed is passed
