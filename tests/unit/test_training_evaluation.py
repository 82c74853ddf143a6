"""evaluate(): metrics against gold, unknown gold ignored, missing predictions counted wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from beambell_assets.training.evaluation import evaluate, flat_metrics

NAMES = ["travel", "news", "sports", "games"]


def test_basic_metrics_match_sklearn_over_present_classes():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 3])  # class 3 ("games") predicted but never true
    ev = evaluate(y_true, y_pred, NAMES)
    assert ev["n_gold"] == 7
    assert ev["accuracy"] == pytest.approx(4 / 7)
    expected = f1_score(y_true, y_pred, labels=[0, 1, 2], average="macro")
    assert ev["macro_f1"] == pytest.approx(expected)
    assert ev["classes_evaluated"] == ["travel", "news", "sports"]
    per_class = ev["per_class"]
    assert list(per_class.index) == NAMES
    assert per_class.loc["travel", "support"] == 2
    assert per_class.loc["news", "recall"] == pytest.approx(1.0)
    assert per_class.loc["news", "precision"] == pytest.approx(2 / 3)
    # "games" has no gold example: recall undefined (NaN), and precision 0 (one wrong prediction)
    assert math.isnan(per_class.loc["games", "recall"])
    assert per_class.loc["games", "precision"] == 0.0
    confusion = ev["confusion"]
    assert list(confusion.index) == ["travel", "news", "sports"]
    assert list(confusion.columns) == NAMES
    assert confusion.to_numpy().sum() == 7
    assert confusion.loc["sports", "games"] == 1


def test_macro_f1_ignores_classes_absent_from_gold():
    """A perfect prediction on a 2-class gold set is 1.0 even in a 4-class label space."""
    y = np.array([0, 1, 0, 1])
    ev = evaluate(y, y, NAMES)
    assert ev["macro_f1"] == 1.0
    assert ev["accuracy"] == 1.0


def test_unknown_gold_rows_are_ignored():
    y_true = np.array([-1, 0, -1, 1])
    y_pred = np.array([3, 0, 2, 0])
    ev = evaluate(y_true, y_pred, NAMES)
    assert ev["n_gold"] == 2
    assert ev["accuracy"] == 0.5
    assert ev["confusion"].to_numpy().sum() == 2


def test_missing_predictions_count_as_wrong_and_get_their_own_column():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, -1, 1, -1])
    ev = evaluate(y_true, y_pred, NAMES)
    assert ev["n_predicted"] == 2
    assert ev["coverage"] == 0.5
    assert ev["accuracy"] == 0.5
    assert ev["accuracy_on_predicted"] == 1.0
    assert ev["per_class"].loc["travel", "recall"] == 0.5
    assert ev["per_class"].loc["travel", "precision"] == 1.0
    assert ev["confusion"].loc["news", "(no prediction)"] == 1


def test_no_prediction_at_all():
    ev = evaluate(np.array([0, 1]), np.array([-1, -1]), NAMES)
    assert ev["accuracy"] == 0.0
    assert ev["accuracy_on_predicted"] is None
    assert ev["macro_f1"] == 0.0


@pytest.mark.parametrize("y_true", [np.array([], dtype=int), np.array([-1, -1, -1])])
def test_empty_gold_gives_none_metrics(y_true):
    y_pred = np.zeros(len(y_true), dtype=int)
    ev = evaluate(y_true, y_pred, NAMES, proba=np.full((len(y_true), 4), 0.25))
    assert ev["n_gold"] == 0
    for key in ("accuracy", "macro_f1", "coverage", "accuracy_on_predicted", "log_loss", "brier"):
        assert ev[key] is None
    assert ev["per_class"].empty
    assert ev["confusion"].empty
    assert flat_metrics(ev)["accuracy"] is None


def test_proba_metrics():
    y_true = np.array([0, 1, -1])
    proba = np.array([[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    ev = evaluate(y_true, proba.argmax(axis=1), NAMES, proba=proba)
    assert ev["log_loss"] == pytest.approx(-(np.log(1.0) + np.log(0.5)) / 2)
    assert ev["brier"] == pytest.approx((0.0 + 0.5) / 2)
    # a zero probability on the true class is finite (clipped), not inf
    bad = evaluate(np.array([1]), np.array([0]), NAMES, proba=np.array([[1.0, 0.0, 0.0, 0.0]]))
    assert np.isfinite(bad["log_loss"])


def test_flat_metrics_prefix():
    ev = evaluate(np.array([0, 1]), np.array([0, 1]), NAMES)
    flat = flat_metrics(ev, prefix="clf_")
    assert flat["clf_accuracy"] == 1.0
    assert flat["clf_n_gold"] == 2
    assert "clf_log_loss" not in flat


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        (np.array([0, 4]), np.array([0, 1]), "outside"),
        (np.array([0, 1]), np.array([0, -2]), "outside"),
        (np.array([0, 1]), np.array([0]), "rows"),
        (np.array([[0, 1]]), np.array([0, 1]), "1-D"),
        (np.array([0.5, 1.0]), np.array([0, 1]), "integer"),
    ],
)
def test_bad_inputs_raise_clear_errors(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        evaluate(y_true, y_pred, NAMES)


def test_proba_shape_checked():
    with pytest.raises(ValueError, match="proba"):
        evaluate(np.array([0, 1]), np.array([0, 1]), NAMES, proba=np.ones((2, 3)))
