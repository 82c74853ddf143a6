"""The stream's label-model statistics and the fits from them (no rows kept)."""

from __future__ import annotations

import numpy as np
import pytest

from beambell_assets.streaming.label_models import (
    StreamLabelModel,
    fit_snorkel,
    fit_triplet,
    majority_vote_model,
)
from beambell_assets.streaming.statistics import VoteStatistics, majority_vote_probs, vote_indicators
from beambell_assets.training.label_model import fit_label_model


def synthetic(n: int, prior: list[float], lfs: list[tuple[int, float, float]], seed: int = 0):
    """Unipolar LFs ``(class, fire rate on that class, fire rate elsewhere)``, independent given y."""
    rng = np.random.default_rng(seed)
    k = len(prior)
    y = rng.choice(k, size=n, p=prior)
    L = np.full((n, len(lfs)), -1, dtype=np.int64)
    for j, (c, alpha, beta) in enumerate(lfs):
        fire = np.where(y == c, rng.random(n) < alpha, rng.random(n) < beta)
        L[fire, j] = c
    return L, y


THREE_PER_CLASS = [(c, a, b) for c in range(4) for a, b in ((0.5, 0.02), (0.3, 0.05), (0.6, 0.01))]
PRIOR = [0.55, 0.25, 0.15, 0.05]


def streamed(L: np.ndarray, k: int, chunk: int = 37, decay: float = 1.0) -> VoteStatistics:
    stats = VoteStatistics(L.shape[1], k, decay=decay)
    for s in range(0, len(L), chunk):
        stats.update(L[s : s + chunk])
    return stats


def test_statistics_chunked_equal_the_batch_overlap_matrix() -> None:
    L, _ = synthetic(2000, PRIOR, THREE_PER_CLASS)
    stats = streamed(L, 4, chunk=13)
    ind = vote_indicators(L, 4)
    np.testing.assert_array_equal(stats.overlaps.toarray(), (ind.T @ ind).toarray())
    assert stats.n == stats.pages == 2000
    np.testing.assert_allclose(stats.lf_coverage(), (L != -1).mean(axis=0))


def test_decay_weighs_a_page_seen_t_pages_ago_by_decay_to_the_t() -> None:
    L, _ = synthetic(300, PRIOR, THREE_PER_CLASS, seed=1)
    d = 0.99
    stats = streamed(L, 4, chunk=7, decay=d)
    w = d ** np.arange(len(L) - 1, -1, -1)
    ind = vote_indicators(L, 4)
    expected = (ind.T @ (ind.multiply(w[:, None]))).toarray()
    np.testing.assert_allclose(stats.overlaps.toarray(), expected, rtol=1e-10)
    assert stats.n == pytest.approx(w.sum())


def test_statistics_round_trip_through_plain_arrays() -> None:
    L, _ = synthetic(500, PRIOR, THREE_PER_CLASS, seed=2)
    stats = streamed(L, 4)
    stats.add_posteriors(np.full((10, 4), 0.25))
    back = VoteStatistics.from_arrays(stats.to_arrays())
    np.testing.assert_array_equal(back.overlaps.toarray(), stats.overlaps.toarray())
    np.testing.assert_array_equal(back.posterior_sums, stats.posterior_sums)
    assert (back.n, back.pages, back.decay) == (stats.n, stats.pages, stats.decay)


def test_snorkel_fitted_from_streamed_statistics_equals_the_batch_fit() -> None:
    L, _ = synthetic(3000, PRIOR, THREE_PER_CLASS, seed=3)
    L = np.hstack([L, np.full((len(L), 1), -1)])  # an LF that never votes: left out of both fits
    model = fit_snorkel(streamed(L, 4), n_epochs=200)
    batch = fit_label_model(L, 4, class_balance="uniform", n_epochs=200)
    np.testing.assert_allclose(model.lf_weights, batch.lf_weights, rtol=0, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(model.predict_proba(L), batch.probs, atol=1e-6)
    assert model.method == "snorkel"


def test_triplet_recovers_lf_precision_and_beats_majority_vote_on_imbalanced_classes() -> None:
    L, y = synthetic(8000, PRIOR, THREE_PER_CLASS, seed=4)
    stats = streamed(L, 4)
    model = fit_triplet(stats, prior=np.array(PRIOR))
    true_precision = [float((y[L[:, j] == c] == c).mean()) for j, (c, _a, _b) in enumerate(THREE_PER_CLASS)]
    assert np.max(np.abs(model.lf_weights - true_precision)) < 0.12
    covered = (L != -1).any(axis=1)
    acc = lambda P: float((P[covered].argmax(axis=1) == y[covered]).mean())  # noqa: E731
    assert acc(model.predict_proba(L)) > acc(majority_vote_probs(L, 4)) + 0.005
    # with the gold-free prior estimate (majority-vote shares) it still beats majority vote
    est = fit_triplet(stats, prior=stats.class_prior("majority_vote"))
    assert acc(est.predict_proba(L)) > acc(majority_vote_probs(L, 4))


def test_fits_fall_back_to_majority_vote_when_there_is_nothing_to_fit() -> None:
    L, _ = synthetic(200, PRIOR, THREE_PER_CLASS[:2], seed=5)  # two LFs, one class
    for fit in (fit_triplet, fit_snorkel):
        model = fit(streamed(L, 4))
        assert model.method == "majority_vote" and model.notes
        np.testing.assert_allclose(
            model.predict_proba(L)[(L != -1).any(1)], majority_vote_probs(L, 4)[(L != -1).any(1)]
        )


def test_stream_label_model_round_trips_through_json_and_predicts_prior_on_uncovered_rows() -> None:
    L, _ = synthetic(2000, PRIOR, THREE_PER_CLASS, seed=6)
    model = fit_triplet(streamed(L, 4), prior=np.array(PRIOR))
    back = StreamLabelModel.from_json(model.to_json())
    np.testing.assert_allclose(back.predict_proba(L), model.predict_proba(L))
    assert back.version == model.version
    uncovered = np.full((3, L.shape[1]), -1)
    np.testing.assert_allclose(model.predict_proba(uncovered), np.tile(model.prior, (3, 1)))
    assert majority_vote_model(streamed(L, 4)).predict_proba(uncovered).shape == (3, 4)
