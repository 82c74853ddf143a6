"""Label-model aggregators (majority vote, weighted vote, Snorkel, triplet, Dawid-Skene), the choice."""

from __future__ import annotations

import numpy as np
import pytest

from beambell_assets.streaming.label_models import fit_triplet
from beambell_assets.streaming.statistics import VoteStatistics
from beambell_assets.training.aggregators import (
    aggregators,
    anchor_mu,
    choose_aggregator,
    fit_dawid_skene,
    fit_majority_vote,
    fit_snorkel,
    fit_triplet_aggregator,
    fit_weighted_vote,
    gold_cv_scores,
    heldout_lf_agreement,
)
from beambell_assets.training.label_model import fit_label_model


def noisy_annotators(n: int, k: int, lfs: list[tuple[float, float]], seed: int = 0):
    """LFs ``(coverage, accuracy)``: each fires at random with ``coverage`` and then votes the true
    class with ``accuracy``, else a uniformly drawn wrong class. Independent given y."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    L = np.full((n, len(lfs)), -1, dtype=np.int64)
    for j, (cov, acc) in enumerate(lfs):
        fire = rng.random(n) < cov
        right = rng.random(n) < acc
        wrong = (y + rng.integers(1, k, size=n)) % k
        L[fire, j] = np.where(right, y, wrong)[fire]
    return L, y


def correlated_trap(n: int = 1500, seed: int = 0):
    """Three copies of one poor LF (60 % accurate, always voting) and two good ones (90 %).

    Majority vote follows the copies; a model that learns from gold that they are one poor voter
    should not.
    """
    rng = np.random.default_rng(seed)
    L, y = noisy_annotators(n, 3, [(1.0, 0.6), (0.9, 0.9), (0.9, 0.9)], seed=seed)
    poor = L[:, [0]]
    L = np.hstack([poor, poor, poor, L[:, 1:]])
    gold = np.full(n, -1)
    rows = rng.choice(n, size=150, replace=False)
    gold[rows] = y[rows]
    return L, y, gold


def test_the_registry_offers_at_least_snorkel_majority_vote_and_a_confusion_model() -> None:
    names = set(aggregators())
    assert {"majority_vote", "snorkel", "dawid_skene", "triplet"} <= names
    L, _ = noisy_annotators(300, 3, [(0.8, 0.8)] * 4)
    for name, fit in aggregators().items():
        agg = fit(L, 3, seed=0)
        assert agg.probs.shape == (300, 3)
        np.testing.assert_allclose(agg.probs.sum(axis=1), 1.0)
        np.testing.assert_allclose(agg.predict_proba(L), agg.probs, atol=1e-6, err_msg=name)


def test_majority_vote_is_exactly_fit_label_models_baseline() -> None:
    L, _ = noisy_annotators(500, 4, [(0.5, 0.7)] * 5, seed=3)
    fit = fit_label_model(L, 4, class_balance="uniform")
    np.testing.assert_array_equal(fit_majority_vote(L, 4).preds, fit.mv_preds)


def test_snorkel_without_gold_is_fit_label_model() -> None:
    L, _ = noisy_annotators(400, 3, [(0.7, 0.8)] * 4, seed=4)
    fit = fit_label_model(L, 3, class_balance="uniform", seed=0)
    agg = fit_snorkel(L, 3, seed=0)
    np.testing.assert_allclose(agg.probs, fit.probs)


def test_triplet_aggregator_is_the_streams_fit_on_the_statistics_of_L() -> None:
    L, _ = noisy_annotators(800, 3, [(0.6, 0.8)] * 5, seed=5)
    stream = fit_triplet(VoteStatistics(m=5, k=3).update(L), np.full(3, 1 / 3))
    np.testing.assert_allclose(fit_triplet_aggregator(L, 3).probs, stream.predict_proba(L))


def test_dawid_skene_recovers_known_confusion() -> None:
    truth = [(0.9, 0.9), (0.8, 0.75), (0.7, 0.6), (0.9, 0.85), (0.6, 0.95), (0.8, 0.5)]
    L, y = noisy_annotators(6000, 3, truth, seed=1)
    agg = fit_dawid_skene(L, 3)
    theta = agg.model.theta  # (m, c, c+1): P(outcome | y), last outcome = abstain
    for j, (cov, acc) in enumerate(truth):
        assert np.diag(theta[j][:, :3]).mean() == pytest.approx(cov * acc, abs=0.03), j
        assert theta[j][:, 3].mean() == pytest.approx(1 - cov, abs=0.03), j
    mv = fit_majority_vote(L, 3)
    assert (agg.preds == y).mean() >= (mv.preds == y).mean()


def test_dawid_skene_ranks_lfs_by_their_true_accuracy() -> None:
    truth = [(0.8, a) for a in (0.95, 0.85, 0.7, 0.55, 0.45)]
    L, _ = noisy_annotators(4000, 4, truth, seed=2)
    theta = fit_dawid_skene(L, 4).model.theta
    conditional_acc = [np.mean(np.diag(t[:, :4]) / t[:, :4].sum(axis=1)) for t in theta]
    assert np.all(np.diff(conditional_acc) < 0), conditional_acc


def test_gold_anchoring_moves_dawid_skene_toward_the_truth() -> None:
    L, y, gold = correlated_trap()
    free = fit_dawid_skene(L, 3)
    anchored = fit_dawid_skene(L, 3, gold=gold)
    assert anchored.anchored_on == 150

    def poor_accuracy(agg) -> float:  # conditional accuracy DS believes the poor copies have
        t = agg.model.theta[0][:, :3]
        return float(np.mean(np.diag(t) / t.sum(axis=1)))

    assert abs(poor_accuracy(anchored) - 0.6) < abs(poor_accuracy(free) - 0.6)
    rest = gold == -1  # exact copies still fool an independence model's predictions; never worse
    assert (anchored.preds[rest] == y[rest]).mean() >= (free.preds[rest] == y[rest]).mean()


def test_anchor_mu_pulls_conditional_vote_probabilities_toward_gold() -> None:
    L, y, gold = correlated_trap(seed=1)
    stats = VoteStatistics(m=L.shape[1], k=3).update(L)
    model = fit_triplet(stats, np.full(3, 1 / 3))
    anchored = anchor_mu(model, L, gold, strength=10.0)
    g = gold != -1
    # empirical P(LF 0 votes its class correctly | y), on the gold rows
    empirical = np.mean([(L[g & (y == c), 0] == c).mean() for c in range(3)])
    before = np.mean([model.mu[c, c] for c in range(3)])  # indicator (LF 0, class c) is row c
    after = np.mean([anchored.mu[c, c] for c in range(3)])
    assert abs(after - empirical) < abs(before - empirical)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(anchored.mu, model.mu)


def test_weighted_vote_without_gold_is_majority_vote_and_with_gold_discounts_copies() -> None:
    L, y, gold = correlated_trap(seed=2)
    np.testing.assert_array_equal(fit_weighted_vote(L, 3).preds, fit_majority_vote(L, 3).preds)
    w, _b = fit_weighted_vote(L, 3, gold=gold).model
    assert w[:3].mean() < w[3:].mean()
    rest = gold == -1
    assert (fit_weighted_vote(L, 3, gold=gold).preds[rest] == y[rest]).mean() > (
        fit_majority_vote(L, 3).preds[rest] == y[rest]
    ).mean()


def test_selection_by_gold_picks_the_better_aggregator_and_never_scores_an_anchor() -> None:
    L, y, gold = correlated_trap(seed=3)
    choice = choose_aggregator(L, 3, gold=gold, candidates=["majority_vote", "weighted_vote"])
    assert choice.criterion == "gold_cv_accuracy"
    assert choice.chosen == "weighted_vote"
    scores = choice.scores.set_index("aggregator")["score"]
    assert scores["weighted_vote"] > scores["majority_vote"]
    rest = gold == -1
    assert (choice.fit.preds[rest] == y[rest]).mean() > (
        fit_majority_vote(L, 3).preds[rest] == y[rest]
    ).mean()
    # cross-fitting: majority vote's score is its plain accuracy on the gold rows
    g = gold != -1
    cv = gold_cv_scores(L, 3, gold, ["majority_vote"])
    assert cv["score"].iloc[0] == pytest.approx((fit_majority_vote(L, 3).preds[g] == y[g]).mean())


def test_too_little_gold_falls_back_to_the_gold_free_criterion() -> None:
    L, _, gold = correlated_trap(seed=4)
    few = np.where(np.cumsum(gold != -1) <= 5, gold, -1)
    choice = choose_aggregator(L, 3, gold=few, candidates=["majority_vote", "dawid_skene"])
    assert choice.criterion == "heldout_lf_agreement"
    assert choice.n_gold == 5


def test_heldout_lf_agreement_prefers_the_aggregator_that_is_right_more_often() -> None:
    # Independent LFs of very different quality: weighting them (Dawid-Skene) beats counting them.
    L, y = noisy_annotators(3000, 3, [(0.9, 0.95), (0.9, 0.4), (0.9, 0.4), (0.9, 0.92), (0.9, 0.4)], seed=6)
    scores = heldout_lf_agreement(L, 3, ["majority_vote", "dawid_skene"]).set_index("aggregator")["score"]
    ds, mv = fit_dawid_skene(L, 3), fit_majority_vote(L, 3)
    assert (ds.preds == y).mean() > (mv.preds == y).mean()
    assert scores["dawid_skene"] > scores["majority_vote"]
    choice = choose_aggregator(L, 3)
    assert choice.criterion == "heldout_lf_agreement"
    assert (choice.fit.preds == y).mean() >= (mv.preds == y).mean()


def test_gold_free_choice_keeps_majority_vote_unless_clearly_beaten() -> None:
    L, _ = noisy_annotators(600, 3, [(0.8, 0.8)] * 5, seed=7)
    choice = choose_aggregator(L, 3, candidates=["majority_vote", "weighted_vote"], margin=0.01)
    assert choice.chosen == "majority_vote"  # weighted vote without gold *is* majority vote: a tie
    assert choice.scores["chosen"].sum() == 1


def test_choice_on_a_sample_still_fits_every_row() -> None:
    L, _ = noisy_annotators(900, 3, [(0.8, 0.8)] * 4, seed=8)
    choice = choose_aggregator(L, 3, candidates=["majority_vote", "dawid_skene"], max_rows=300)
    assert choice.fit.probs.shape == (900, 3)
    assert choice.scores["n_scored"].max() < (L != -1).sum()


def test_unknown_candidate_is_refused() -> None:
    L, _ = noisy_annotators(50, 3, [(0.8, 0.8)] * 3)
    with pytest.raises(ValueError, match="unknown aggregators"):
        choose_aggregator(L, 3, candidates=["majority_vote", "nope"])


def test_classes_nobody_votes_get_no_probability_from_dawid_skene() -> None:
    L, _ = noisy_annotators(400, 3, [(0.8, 0.8)] * 4, seed=9)
    agg = fit_dawid_skene(L, 5)  # classes 3 and 4 never voted
    assert agg.probs.shape == (400, 5)
    covered = (L != -1).any(axis=1)
    assert np.all(agg.probs[covered][:, 3:] == 0)


def test_with_gold_the_weighted_vote_stays_unless_its_lead_is_significant() -> None:
    import pandas as pd

    from beambell_assets.training.aggregators import _gold_pick

    def scores(n: int, **wins: tuple[int, int]) -> pd.DataFrame:
        """Cross-fitted per-row results on ``n`` gold rows: (rows won, rows lost) vs the weighted vote."""
        rows = []
        for name, (won, lost) in {"weighted_vote": (0, 0), **wins}.items():
            d = np.r_[np.ones(won), -np.ones(lost), np.zeros(n - won - lost)]
            se = d.std(ddof=1) / np.sqrt(n)
            rows.append(
                {"aggregator": name, "score": 0.9 + d.mean(), "brier": 0.1, "lead": d.mean(), "lead_se": se}
            )
        return pd.DataFrame(rows)

    # 3 rows won, 1 lost out of 100: a 2-point lead, but within noise -> keep the weighted vote
    assert _gold_pick(scores(100, triplet=(3, 1))) == "weighted_vote"
    # the same 2-point lead on 10,000 rows (300 won, 100 lost) is significant
    assert _gold_pick(scores(10_000, triplet=(300, 100))) == "triplet"
    # the best clear winner wins
    assert _gold_pick(scores(10_000, triplet=(300, 100), dawid_skene=(500, 100))) == "dawid_skene"
    # a larger lead needs more evidence when there are more challengers (Bonferroni)
    one = scores(400, triplet=(9, 2))
    many = scores(400, triplet=(9, 2), snorkel=(0, 5), dawid_skene=(0, 5), majority_vote=(0, 9))
    assert _gold_pick(one) == "triplet" and _gold_pick(many) == "weighted_vote"
    # without the default among the candidates: the best cross-fitted accuracy
    no_default = scores(100, triplet=(1, 0)).iloc[1:]
    assert _gold_pick(no_default) == "triplet"


def test_gold_cv_scores_report_the_paired_lead_over_the_weighted_vote() -> None:
    L, _, gold = correlated_trap(seed=3)
    cv = gold_cv_scores(L, 3, gold, ["majority_vote", "weighted_vote"]).set_index("aggregator")
    assert cv.loc["weighted_vote", "lead"] == 0.0
    assert cv.loc["majority_vote", "lead"] == pytest.approx(
        cv.loc["majority_vote", "score"] - cv.loc["weighted_vote", "score"]
    )
    assert cv.loc["majority_vote", "lead_se"] > 0
