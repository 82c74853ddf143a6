"""The gold-free class prior: EM with abstains modelled recovers a known prior on synthetic LFs."""

from __future__ import annotations

import numpy as np
import pytest

from beambell_assets.training.class_prior import estimate_class_prior, label_shift_factors


def _imbalanced(pos_rate: float, n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Binary task: 3 LFs for the positive class (fire on 40% of positives, 3% of negatives), 3 for
    the negative class (30% of negatives, 10% of positives): uncovered rows skew negative."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < pos_rate).astype(np.int64)
    L = np.full((n, 6), -1, dtype=np.int64)
    for j in range(3):
        L[np.where(y == 1, rng.random(n) < 0.4, rng.random(n) < 0.03), j] = 1
    for j in range(3, 6):
        L[np.where(y == 0, rng.random(n) < 0.3, rng.random(n) < 0.1), j] = 0
    return L, y


@pytest.mark.parametrize("pos_rate", [0.1, 0.3, 0.5])
def test_prior_recovered_on_all_covered_and_uncovered_rows(pos_rate: float) -> None:
    L, y = _imbalanced(pos_rate)
    covered = (L != -1).any(axis=1)
    est = estimate_class_prior(L, 2)
    assert est.prior[1] == pytest.approx(y.mean(), abs=0.03)
    assert est.prior_covered[1] == pytest.approx(y[covered].mean(), abs=0.04)
    assert est.uncovered[1] == pytest.approx(y[~covered].mean(), abs=0.05)
    assert est.coverage == pytest.approx(covered.mean())
    uniform_gap = abs(0.5 - y.mean())
    assert abs(est.prior[1] - y.mean()) <= max(uniform_gap, 0.03)  # never worse than uniform


def test_label_shift_factors_down_weight_the_over_covered_class() -> None:
    L, _y = _imbalanced(0.1)
    est = estimate_class_prior(L, 2)
    factors = label_shift_factors(est.prior, est.prior_covered)
    assert factors[1] < 1.0 < factors[0]  # positives are over-represented among covered rows


def test_degenerate_inputs() -> None:
    est = estimate_class_prior(np.full((5, 3), -1), 4)
    np.testing.assert_allclose(est.prior, 0.25)
    assert estimate_class_prior(np.zeros((0, 2), dtype=int), 3).coverage == 0.0
    full = estimate_class_prior(np.array([[0, 0], [1, 1], [0, 1], [2, 2]]), 3)  # no uncovered row
    assert np.isfinite(full.uncovered).all() and full.uncovered.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        estimate_class_prior(np.zeros(3, dtype=int), 2)


def test_label_model_without_gold_uses_the_learned_prior() -> None:
    """The failure this fixes: with a uniform prior the covered rows' mean P(positive) is far above
    the truth on an imbalanced task; with the EM prior it is close to it."""
    from beambell_assets.training.label_model import fit_label_model

    L, y = _imbalanced(0.1, seed=3)
    covered = (L != -1).any(axis=1)
    truth = y[covered].mean()
    learned = fit_label_model(L, 2, seed=0, n_epochs=200)
    uniform = fit_label_model(L, 2, seed=0, n_epochs=200, class_balance="uniform")
    assert learned.class_prior is not None and learned.class_balance_source.startswith("EM")
    err_learned = abs(learned.probs[covered, 1].mean() - truth)
    err_uniform = abs(uniform.probs[covered, 1].mean() - truth)
    assert err_learned < 0.06 and err_learned < err_uniform
