"""A task's own end model (``Task.end_model`` = a factory ``n_classes -> estimator``), fitted.

The factory's estimator gets the weak labels as they are, ``fit(texts, probs)``, when it learns
from probabilities (beambell's own classifiers do). A plain scikit-learn classifier does not: it
refuses an (n, k) target (``y should be a 1d array`` and the like). Such an estimator is fitted on
the argmax of the weak labels instead, the recipe of Snorkel's tutorials, inside
:class:`ClassIndexClassifier`, which also keeps its probabilities in the task's class space (a
class no training row has gets probability 0, so column ``c`` is always class ``c``).

Either way the fitted model must answer ``predict_proba`` with one column per class of the task:
checked here, so a wrong model fails at training, named, not later in evaluation or serving.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

#: ``Task.end_model`` as a factory: the task's class count -> an unfitted estimator.
EndModelFactory = Callable[[int], Any]


class ClassIndexClassifier(ClassifierMixin, BaseEstimator):
    """``estimator`` (which learns from class indices) fitted on the argmax of soft labels, with
    ``predict_proba`` in the fixed class space ``0..n_classes-1``."""

    def __init__(self, estimator: Any = None, n_classes: int = 2) -> None:
        self.estimator = estimator
        self.n_classes = n_classes

    def fit(self, X: Any, y: Any) -> ClassIndexClassifier:
        y = np.asarray(y)
        hard = y.argmax(axis=1) if y.ndim == 2 else y.astype(np.int64)
        self.estimator.fit(X, hard)
        seen = np.asarray(self.estimator.classes_).astype(np.int64)
        if seen.min() < 0 or seen.max() >= self.n_classes:
            raise ValueError(f"estimator learned classes {seen.tolist()} outside 0..{self.n_classes - 1}")
        self.seen_classes_ = seen
        self.classes_ = np.arange(self.n_classes)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        proba = np.asarray(self.estimator.predict_proba(X), dtype=float)
        out = np.zeros((proba.shape[0], self.n_classes))
        out[:, self.seen_classes_] = proba
        return out

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


def fit_factory_model(
    factory: EndModelFactory, texts: Sequence[str], probs: np.ndarray, n_classes: int
) -> tuple[Any, str]:
    """``(fitted model, targets)``: ``"soft"`` when the estimator took the probabilities, else
    ``"hard: <why it refused them>"``, having learned their argmax (see the module docstring)."""
    texts = list(texts)
    model, targets = factory(n_classes), "soft"
    try:
        model.fit(texts, probs)
    except (ValueError, TypeError) as soft_error:  # a classifier of class indices
        if not hasattr(model, "predict_proba"):
            raise
        model = ClassIndexClassifier(factory(n_classes), n_classes)
        targets = f"hard: it refused probabilities ({type(soft_error).__name__}: {soft_error})"[:300]
        try:
            model.fit(texts, probs)
        except Exception as hard_error:
            raise hard_error from soft_error
    name = type(model).__name__
    if not hasattr(model, "predict_proba"):
        raise TypeError(f"end model {name} has no predict_proba: beambell needs class probabilities")
    n = min(2, len(texts))
    shape = np.shape(model.predict_proba(texts[:n]))
    if shape != (n, n_classes):
        raise ValueError(
            f"end model {name}: predict_proba of {n} pages has shape {shape}, expected "
            f"({n}, {n_classes}): one column per class of the task, in its order"
        )
    return model, targets
