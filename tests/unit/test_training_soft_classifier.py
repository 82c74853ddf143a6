"""SoftLabelTextClassifier: learns from probabilistic labels, fixed class space, deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier

from beambell_assets.training.soft_classifier import SoftLabelTextClassifier

TRAVEL = [
    "cheap flights and hotel deals for your next holiday",
    "book a hotel room near the beach and save on travel",
    "compare flights to paris rome and barcelona",
    "holiday packages with flights hotel and car rental",
    "travel guide best beaches and city breaks in europe",
    "find cheap hotel deals and last minute holiday offers",
]
SPORTS = [
    "live football scores and premier league results",
    "the match ended two nil after a late goal",
    "tennis open final results and player rankings",
    "football transfer news and league table",
    "basketball scores highlights and team standings",
    "the striker scored a goal in the league match",
]
NEWS = [
    "breaking news politics election results and world headlines",
    "the government announced a new policy on taxes today",
    "latest headlines from parliament and the election campaign",
    "world news reports on the economy and government",
    "breaking headlines the minister resigned after the vote",
    "election coverage politics news and analysis",
]
TEXTS = TRAVEL + SPORTS + NEWS
LABELS = np.repeat([0, 1, 2], 6)


def test_is_a_scikit_learn_classifier():
    clf = SoftLabelTextClassifier(n_classes=4, C=3.0)
    assert is_classifier(clf)
    cloned = clone(clf)
    assert cloned.get_params() == clf.get_params()
    assert cloned.get_params()["C"] == 3.0


def test_learns_from_hard_labels():
    clf = SoftLabelTextClassifier(n_classes=3).fit(TEXTS, LABELS)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    pred = clf.predict(["cheap hotel and flights", "league football goal", "election government news"])
    np.testing.assert_array_equal(pred, [0, 1, 2])
    assert clf.score(TEXTS, LABELS) == 1.0


def test_soft_labels_change_the_fit_versus_argmax():
    """Identical documents, labels split between two groups.

    12 copies say (0.4, 0.6) and 10 copies say (0.9, 0.1): the argmax labels make class 1 the
    majority (12 vs 10), the expected class mass makes class 0 the majority (13.8 vs 8.2).
    """
    texts = ["shared words in this page"] * 22 + ["other text about something else"] * 4
    soft = np.array([[0.4, 0.6, 0.0]] * 12 + [[0.9, 0.1, 0.0]] * 10 + [[0.0, 0.0, 1.0]] * 4)
    soft_clf = SoftLabelTextClassifier(n_classes=3).fit(texts, soft)
    hard_clf = SoftLabelTextClassifier(n_classes=3).fit(texts, soft.argmax(axis=1))
    query = ["shared words in this page"]
    assert soft_clf.predict(query)[0] == 0
    assert hard_clf.predict(query)[0] == 1
    p = soft_clf.predict_proba(query)[0]
    assert p[0] == pytest.approx(13.8 / 22, abs=0.05)  # calibrated to the soft mass


def test_soft_labels_temper_confidence():
    """Uncertain labels give less confident predictions than the same labels hardened."""
    soft = np.tile([0.6, 0.2, 0.2], (18, 1))
    soft[LABELS == 1] = [0.2, 0.6, 0.2]
    soft[LABELS == 2] = [0.2, 0.2, 0.6]
    soft_conf = SoftLabelTextClassifier(n_classes=3).fit(TEXTS, soft).decision_confidence(TEXTS)
    hard_conf = SoftLabelTextClassifier(n_classes=3).fit(TEXTS, LABELS).decision_confidence(TEXTS)
    assert soft_conf.mean() < hard_conf.mean() - 0.1


def test_always_k_columns_even_for_unseen_classes():
    clf = SoftLabelTextClassifier(n_classes=5).fit(TRAVEL + SPORTS, np.repeat([0, 3], 6))
    proba = clf.predict_proba(["hotel", "goal", ""])
    assert proba.shape == (3, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba[:, [1, 2, 4]] == 0).all()
    assert set(clf.predict(TEXTS).tolist()) <= {0, 3}
    assert clf.predict_proba([]).shape == (0, 5)


def test_single_training_class_predicts_it():
    clf = SoftLabelTextClassifier(n_classes=3).fit(TRAVEL, np.full(6, 2))
    np.testing.assert_array_equal(clf.predict(["anything at all"]), [2])
    np.testing.assert_allclose(clf.predict_proba(["x", "y"]), [[0, 0, 1], [0, 0, 1]])


def test_deterministic():
    rng = np.random.default_rng(0)
    soft = rng.dirichlet(np.ones(3), size=len(TEXTS))
    a = SoftLabelTextClassifier(n_classes=3, random_state=1).fit(TEXTS, soft).predict_proba(TEXTS)
    b = SoftLabelTextClassifier(n_classes=3, random_state=1).fit(TEXTS, soft).predict_proba(TEXTS)
    np.testing.assert_array_equal(a, b)


def test_min_prob_bounds_the_row_expansion():
    soft = np.tile([0.995, 0.004, 0.001], (len(TEXTS), 1))
    soft[LABELS == 1] = [0.3, 0.7, 0.0]
    clf = SoftLabelTextClassifier(n_classes=3).fit(TEXTS, soft)
    assert clf.expanded_rows_ == 12 + 2 * 6  # 12 sure rows once, six (0.3, 0.7) rows twice
    assert clf.predict_proba(TEXTS).shape == (18, 3)


def test_class_weight_balanced_and_sample_weight():
    labels = np.array([0] * 12 + [1] * 6)
    texts = TRAVEL + TRAVEL + SPORTS
    plain = SoftLabelTextClassifier(n_classes=2).fit(texts, labels)
    balanced = SoftLabelTextClassifier(n_classes=2, class_weight="balanced").fit(texts, labels)
    q = ["something unrelated entirely"]
    assert balanced.predict_proba(q)[0, 1] > plain.predict_proba(q)[0, 1]
    weights = np.r_[np.zeros(12), np.ones(6)]
    only_sports = SoftLabelTextClassifier(n_classes=2).fit(texts, labels, sample_weight=weights)
    np.testing.assert_array_equal(only_sports.predict(TRAVEL), np.ones(6))


def test_char_ngrams_option_and_missing_text():
    texts = pd.Series([*TEXTS[:-1], None])
    clf = SoftLabelTextClassifier(n_classes=3, char_ngram_range=(3, 4)).fit(texts, LABELS)
    assert clf.predict_proba(pd.Series(["hotels", np.nan])).shape == (2, 3)
    assert clf.predict(["footbal leage"])[0] == 1  # misspelt: char n-grams still match


def test_tiny_corpus_falls_back_to_min_df_1():
    clf = SoftLabelTextClassifier(n_classes=2).fit(["alpha beta", "gamma delta"], [0, 1])
    np.testing.assert_array_equal(clf.predict(["alpha", "delta"]), [0, 1])


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.array([0, 1, -1]), "class indices"),
        (np.array([0, 1, 3]), "class indices"),
        (np.array([0, 1]), "labels for 3"),
        (np.array([[0.5, 0.5, 0.0]] * 2 + [[0.0, 0.0, 0.0]]), "no probability mass"),
        (np.array([[0.5, 0.5, -0.1]] * 3), "non-negative"),
        (np.ones((3, 2)), "expected"),
    ],
)
def test_bad_labels_raise(y, match):
    with pytest.raises(ValueError, match=match):
        SoftLabelTextClassifier(n_classes=3).fit(["a b", "c d", "e f"], y)


def test_bad_documents_raise():
    with pytest.raises(TypeError, match="sequence of documents"):
        SoftLabelTextClassifier(n_classes=2).fit("just one string", [0])
    with pytest.raises(ValueError, match="zero documents"):
        SoftLabelTextClassifier(n_classes=2).fit([], np.zeros(0, dtype=int))


def test_n_classes_inferred_when_not_given():
    clf = SoftLabelTextClassifier().fit(TEXTS, LABELS)
    assert clf.n_classes_ == 3
    clf2 = SoftLabelTextClassifier().fit(TEXTS, np.eye(4)[LABELS])
    assert clf2.predict_proba(TEXTS).shape == (18, 4)
