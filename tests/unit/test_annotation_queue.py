"""Annotation-queue ranking: each signal moves the score the right way; picks are diverse."""

import numpy as np
import pandas as pd

from beambell_assets.feedback.annotation_queue import (
    AUDIT_REASON,
    COLD_START_REASON,
    QUEUE_COLUMNS,
    QueueWeights,
    audit_count,
    build_queue,
    classifier_signals,
    cold_start_labels,
    lf_signals,
    score_pages,
    select_diverse,
)

LABELS = ("A", "B", "C")


def test_classifier_signals_margin_and_entropy() -> None:
    proba = np.array([[0.98, 0.01, 0.01], [0.5, 0.49, 0.01], [1 / 3, 1 / 3, 1 / 3]])
    margin, entropy = classifier_signals(proba)
    assert margin[0] < margin[1] < margin[2] + 1e-9
    assert entropy[0] < entropy[1] < entropy[2]
    assert np.isclose(entropy[2], 1.0)


def test_lf_signals_conflict_and_coverage() -> None:
    L = np.array([[0, 0, -1], [0, 1, -1], [-1, -1, -1], [0, 1, 2]])
    entropy, conflict, uncovered = lf_signals(L, 3)
    assert np.allclose(conflict, [0.0, 0.5, 0.0, 2 / 3])
    assert uncovered.tolist() == [0.0, 0.0, 1.0, 0.0]
    assert entropy[0] == 0.0 and entropy[3] > entropy[1] > 0


def test_score_uses_label_model_posterior_where_known() -> None:
    L = np.array([[0, 0], [0, 0]])
    lm = np.array([[0.34, 0.33, 0.33], [np.nan, np.nan, np.nan]])
    scored = score_pages(["x", "y"], L, 3, lm_proba=lm)
    assert scored.loc[0, "lm_entropy"] > 0.99  # the fitted posterior is uncertain
    assert scored.loc[1, "lm_entropy"] == 0.0  # outside the window: the unanimous LF votes
    assert scored.loc[0, "score"] > scored.loc[1, "score"]
    assert scored["classifier_margin"].isna().all()


def _features(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "page_id": [f"p{i}" for i in range(len(texts))],
            "url": [f"https://s{i}.example/" for i in range(len(texts))],
            "text": texts,
        }
    )


def test_queue_ranks_uncertain_first_skips_gold_and_near_duplicates() -> None:
    texts = [
        "alpha beta gamma delta epsilon",  # p0 certain
        "football match score league goal",  # p1 uncertain
        "football match score league goal",  # p2 exact duplicate of p1
        "recipes pasta dinner kitchen oven",  # p3 uncovered
        "stock market shares earnings profit",  # p4 gold already
    ]
    L = np.array([[0, 0], [0, 1], [0, 1], [-1, -1], [1, 2]])
    proba = np.array(
        [[0.95, 0.03, 0.02], [0.4, 0.39, 0.21], [0.4, 0.39, 0.21], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33]]
    )
    picks, skipped = build_queue(
        _features(texts),
        L,
        LABELS,
        budget=3,
        classifier_proba=proba,
        model_version="m1",
        gold_page_ids={"p4"},
        weights=QueueWeights(diversity=0.0, density=0.0, audit_share=0.0),  # plain score order
        n_labelled=100,  # past the cold start: uncertainty decides
    )
    assert list(picks.columns) == [*QUEUE_COLUMNS, "text"]
    assert set(picks["page_id"][:2]) == {"p1", "p3"} and picks["page_id"].iat[2] == "p0"
    assert skipped["near_duplicate"] == 1 and skipped["already_gold"] == 1
    assert picks["queue_rank"].tolist() == [1, 2, 3]
    assert picks["score"].is_monotonic_decreasing
    assert "no LF covers it" in picks.set_index("page_id").loc["p3", "reason"]
    assert "LFs disagree" in picks.set_index("page_id").loc["p1", "reason"]
    assert (picks["model_version"] == "m1").all()


def test_class_cap_spreads_predicted_classes_and_fills_budget_when_needed() -> None:
    scored = pd.DataFrame({"page_id": [f"p{i}" for i in range(6)], "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]})
    texts = [f"distinct words number {w}" for w in ("one", "two", "three", "four", "five", "six")]
    predicted = ["A", "A", "A", "A", "B", "C"]
    picks, _ = select_diverse(scored, texts, predicted, budget=4, max_per_class=0.5)
    assert picks["page_id"].tolist() == ["p0", "p1", "p4", "p5"]
    only_a, _ = select_diverse(scored.head(4), texts[:4], ["A"] * 4, budget=3, max_per_class=0.34)
    assert only_a["page_id"].tolist() == ["p0", "p1", "p2"]  # one class: the cap cannot starve the queue


def test_without_champion_lf_signals_alone() -> None:
    picks, _ = build_queue(
        _features(["a b c d", "e f g h"]),
        np.array([[0, 1], [0, 0]]),
        LABELS,
        budget=5,
        n_labelled=100,
        weights=QueueWeights(audit_share=0.0),
    )
    assert picks["page_id"].tolist() == ["p0", "p1"]
    assert picks["model_version"].isna().all() and picks["classifier_margin"].isna().all()


def test_model_disagreement_flags_covered_pages_where_classifier_and_label_model_differ() -> None:
    L = np.array([[0, 0], [1, 1], [-1, -1]])
    lm = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [1 / 3, 1 / 3, 1 / 3]])
    proba = np.array([[0.8, 0.1, 0.1], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    scored = score_pages(["a", "b", "c"], L, 3, classifier_proba=proba, lm_proba=lm)
    assert scored["model_disagreement"].tolist() == [0, 1, 0]  # uncovered pages are not "disagreements"
    off = score_pages(
        ["a", "b", "c"], L, 3, classifier_proba=proba, lm_proba=lm, weights=QueueWeights(model_disagreement=0)
    )
    assert scored.loc[1, "score"] - scored.loc[0, "score"] > off.loc[1, "score"] - off.loc[0, "score"]


def test_diversity_spreads_a_batch_over_topics() -> None:
    texts = [
        "football league match goal",
        "football league match goals",
        "football league match scored",
        "pasta recipe dinner kitchen",
        "stock market shares profit",
    ]
    scored = pd.DataFrame({"page_id": [f"p{i}" for i in range(5)], "score": [0.9, 0.89, 0.88, 0.7, 0.6]})
    plain, _ = select_diverse(scored, texts, [None] * 5, budget=3, max_per_class=1.0)
    diverse, _ = select_diverse(scored, texts, [None] * 5, budget=3, max_per_class=1.0, diversity=1.0)
    assert plain["page_id"].tolist() == ["p0", "p1", "p2"]
    assert diverse["page_id"].tolist() == ["p0", "p3", "p4"]
    # labelled pages count as picked: a page like the gold one loses to an unlike one
    after_gold, skipped = select_diverse(
        scored, texts, [None] * 5, budget=1, max_per_class=1.0, diversity=1.0, exclude={"p0"}
    )
    assert after_gold["page_id"].tolist() == ["p3"] and skipped["already_gold"] == 1


def test_density_prefers_a_typical_uncertain_page_to_an_outlier() -> None:
    texts = [
        "zzqx unique gibberish token soup",  # outlier, most uncertain
        "travel flights hotel booking holiday",
        "travel flights hotel booking trip",
        "travel flights hotel deals holiday",
    ]
    scored = pd.DataFrame({"page_id": [f"p{i}" for i in range(4)], "score": [0.9, 0.8, 0.5, 0.5]})
    plain, _ = select_diverse(scored, texts, [None] * 4, budget=1)
    dense, _ = select_diverse(scored, texts, [None] * 4, budget=1, density=1.0)
    assert plain["page_id"].tolist() == ["p0"]
    assert dense["page_id"].tolist() == ["p1"]


def test_cold_start_picks_representative_pages_not_uncertain_outliers() -> None:
    # Three topics of 6 near-identical pages each, plus 3 uncertain outliers (odd one-off texts).
    topics = [
        "football match league goal striker coach",
        "pasta recipe oven kitchen garlic dinner",
        "hotel flight beach resort airport booking",
    ]
    texts = [f"{t} page{i}" for t in topics for i in range(6)]
    texts += ["zzz qqq xxx", "lorem ipsum dolor", "foo bar baz"]
    n = len(texts)
    L = np.repeat(np.arange(3), 6).tolist() + [-1] * 3  # the outliers: no LF covers them
    L = np.asarray(L).reshape(n, 1)
    proba = np.full((n, 3), 0.01)
    proba[np.arange(18), L[:18, 0]] = 0.98
    proba[-3:] = 0.33 + 0.01 * np.eye(3)  # and the classifier is torn on them
    on = QueueWeights(cold_start_per_class=2.0, audit_share=0.0)
    kwargs = dict(budget=3, classifier_proba=proba, gold_page_ids=frozenset(), weights=on)
    warm, _ = build_queue(_features(texts), L, LABELS, n_labelled=100, **kwargs)
    assert set(warm["page_id"]) == {f"p{i}" for i in range(n - 3, n)}  # uncertainty: the outliers
    assert cold_start_labels(len(LABELS), on) == 6 and cold_start_labels(len(LABELS)) == 0  # off by default
    cold, _ = build_queue(_features(texts), L, LABELS, n_labelled=0, **kwargs)
    topic_of = {f"p{i}": i // 6 for i in range(18)}
    assert {topic_of.get(p) for p in cold["page_id"]} == {0, 1, 2}  # one typical page per topic
    assert (cold["reason"] == COLD_START_REASON).all()
    # n_labelled defaults to the gold pages given: 6 gold pages end the cold start for 3 classes
    gold = frozenset(f"p{i}" for i in (0, 1, 6, 7, 12, 13))
    after, _ = build_queue(_features(texts), L, LABELS, **{**kwargs, "gold_page_ids": gold})
    assert (after["reason"] != COLD_START_REASON).all()


def test_audit_picks_are_random_pages_spread_through_the_batch() -> None:
    rng = np.random.default_rng(1)
    words = np.array(["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "iota"])
    texts = [" ".join(rng.choice(words, size=6)) + f" page{i}" for i in range(60)]
    L = rng.integers(-1, 3, size=(60, 3))
    proba = rng.dirichlet(np.ones(3), size=60)
    gold = frozenset({"p0", "p1", "p2"})
    kwargs = dict(budget=10, classifier_proba=proba, gold_page_ids=gold, n_labelled=100)
    picks, _ = build_queue(_features(texts), L, LABELS, seed=7, **kwargs)
    audit = picks[picks["reason"] == AUDIT_REASON]
    assert audit_count(10, 0.2) == 2 and len(audit) == 2 and len(picks) == 10
    assert picks["page_id"].is_unique and not set(picks["page_id"]) & gold
    assert picks["queue_rank"].tolist() == list(range(1, 11))
    assert 1 not in audit["queue_rank"].tolist() and audit["queue_rank"].max() < 10  # interleaved
    # the other picks are the plain queue's, in its order, over the pages the audit did not draw
    # (score order: no diversity, density or class cap, which depend on the budget)
    plain_w = dict(diversity=0.0, density=0.0)
    kw = {**kwargs, "max_per_class": 1.0}
    scored, _ = build_queue(_features(texts), L, LABELS, weights=QueueWeights(**plain_w), seed=7, **kw)
    no_audit = QueueWeights(**plain_w, audit_share=0.0)
    plain, _ = build_queue(_features(texts), L, LABELS, weights=no_audit, **{**kw, "budget": 57})
    drawn = scored.loc[scored["reason"] == AUDIT_REASON, "page_id"]
    chosen = scored.loc[scored["reason"] != AUDIT_REASON, "page_id"].tolist()
    assert chosen == [p for p in plain["page_id"] if p not in set(drawn)][:8]
    # the draw is over every non-gold page, the pages the queue would choose included
    assert set(drawn) == set(audit["page_id"])
    # reproducible by seed; another seed draws other pages (a uniform draw over 50 open pages)
    again, _ = build_queue(_features(texts), L, LABELS, seed=7, **kwargs)
    assert again["page_id"].tolist() == picks["page_id"].tolist()
    draws = {
        frozenset(q.loc[q["reason"] == AUDIT_REASON, "page_id"])
        for q in (build_queue(_features(texts), L, LABELS, seed=s, **kwargs)[0] for s in range(8))
    }
    assert len(draws) > 4
    assert audit_count(1, 0.2) == 0 and audit_count(3, 0.2) == 1 and audit_count(5, 0.0) == 0


def test_audit_picks_when_too_few_pages_are_chosen() -> None:
    texts = ["alpha beta", "gamma delta", "epsilon zeta", "eta theta"]
    L = np.array([[0], [1], [2], [0]])
    picks, _ = build_queue(
        _features(texts),
        L,
        LABELS,
        budget=4,
        gold_page_ids={"p0", "p1"},
        weights=QueueWeights(audit_share=0.75),
        n_labelled=100,
    )
    assert sorted(picks["page_id"]) == ["p2", "p3"] and picks["queue_rank"].tolist() == [1, 2]
    assert (picks["reason"] == AUDIT_REASON).sum() >= 1


def test_an_uncovered_page_outranks_a_covered_one_the_classifier_is_only_fairly_sure_of() -> None:
    """An uncovered page is a training row only once a human labels it, so by default it outranks a
    covered page of moderate margin even when the classifier is sure of it; at the old weight (0.25)
    the covered page came first."""
    L = np.array([[-1, -1, -1], [0, 0, -1]])  # u: no LF votes; c: two LFs agree
    classifier = np.array([[0.95, 0.03, 0.02], [0.7, 0.2, 0.1]])
    lm = np.array([[1 / 3, 1 / 3, 1 / 3], [0.9, 0.05, 0.05]])

    def order(weights: QueueWeights) -> list[str]:
        scored = score_pages(["u", "c"], L, 3, classifier_proba=classifier, lm_proba=lm, weights=weights)
        return scored.sort_values("score", ascending=False)["page_id"].tolist()

    assert order(QueueWeights()) == ["u", "c"]
    assert order(QueueWeights(uncovered=0.25)) == ["c", "u"]
