"""The soft-label classifier for windows too large to hold in memory: hashed TF-IDF + SGD.

:class:`~beambell_assets.training.soft_classifier.SoftLabelTextClassifier` fits a vocabulary and
L-BFGS on every document at once; past a few hundred thousand pages that no longer fits the
machine. This one learns chunk by chunk (scikit-learn's out-of-core recipe): features come from
:mod:`~beambell_assets.training.hashed_features` (no vocabulary to fit, document frequencies
summed over chunks), and a logistic-loss ``SGDClassifier`` (one-vs-rest) takes each chunk with
``partial_fit``. Soft labels are used the same way as in the in-memory model: each row is
repeated once per class it keeps, weighted by that class's probability (the expected
cross-entropy).

``partial_fit_features`` is the streaming entry point (already weighted feature rows + their
class probabilities); ``fit`` runs the same steps over texts held in memory, in shuffled
mini-batches, so small windows and tests use the identical model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import SGDClassifier
from sklearn.utils.validation import check_is_fitted

from beambell_assets.training.hashed_features import (
    DEFAULT_N_FEATURES,
    TokenHasher,
    document_frequencies,
    idf_from_counts,
    tfidf,
)
from beambell_assets.training.soft_classifier import _as_texts, expand_soft_labels, soft_targets


class StreamingSoftClassifier(ClassifierMixin, BaseEstimator):
    """Hashed TF-IDF + SGD logistic regression, trained chunk by chunk on soft labels.

    Parameters
    ----------
    n_classes: size of the fixed class space (``predict_proba`` always has that many columns).
    n_features: hashed feature columns.
    alpha: L2 regularisation of the SGD model (scikit-learn's ``alpha``).
    min_prob: soft-label mass below this is dropped before row expansion (the argmax stays).
    epochs: passes over the data in :meth:`fit` (a streaming caller decides its own passes).
    batch_size: rows per ``partial_fit`` call in :meth:`fit`.
    random_state: seeds SGD's shuffling and :meth:`fit`'s batch order.
    n_jobs: threads for the one-vs-rest binary problems (SGD runs without the GIL).
    """

    def __init__(
        self,
        n_classes: int | None = None,
        *,
        n_features: int = DEFAULT_N_FEATURES,
        alpha: float = 1e-6,
        min_prob: float = 0.01,
        epochs: int = 5,
        batch_size: int = 4096,
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.n_features = n_features
        self.alpha = alpha
        self.min_prob = min_prob
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ streaming API

    def start(self, idf: np.ndarray, n_classes: int | None = None) -> StreamingSoftClassifier:
        """Begin a streaming fit with the window's idf (from summed document frequencies)."""
        k = int(n_classes if n_classes is not None else self.n_classes or 0)
        if k < 2:
            raise ValueError("need a class space of at least two classes (set n_classes)")
        idf = np.asarray(idf, dtype=np.float32)
        if idf.shape != (self.n_features,):
            raise ValueError(f"idf has shape {idf.shape}, expected ({self.n_features},)")
        self.classes_ = np.arange(k)
        self.n_classes_ = k
        self.idf_ = idf
        self.hasher_ = TokenHasher(self.n_features)
        self.model_ = SGDClassifier(
            loss="log_loss", alpha=self.alpha, random_state=self.random_state, n_jobs=self.n_jobs
        )
        self.rows_seen_ = 0
        self.expanded_rows_ = 0
        self.seen_classes_ = np.zeros(0, dtype=np.int64)
        return self

    def features(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Weighted feature rows for texts (hashed counts, then tf-idf with the fitted idf)."""
        check_is_fitted(self, "idf_")
        return tfidf(self.hasher_.counts(_as_texts(texts)), self.idf_)

    def partial_fit_features(self, X: sp.csr_matrix, probs: np.ndarray) -> StreamingSoftClassifier:
        """One SGD pass over weighted rows ``X`` with (n, k) class probabilities ``probs``."""
        check_is_fitted(self, "model_")
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (X.shape[0], self.n_classes_):
            raise ValueError(f"probs has shape {probs.shape}, expected ({X.shape[0]}, {self.n_classes_})")
        if X.shape[0] == 0:
            return self
        sums = probs.sum(axis=1, keepdims=True)
        if (sums <= 0).any() or not np.all(np.isfinite(probs)) or (probs < 0).any():
            raise ValueError("probs must be finite, non-negative, with positive row sums")
        rows, cols, weights = expand_soft_labels(probs / sums, self.min_prob)
        self.model_.partial_fit(X[rows], cols, classes=self.classes_, sample_weight=weights)
        self.rows_seen_ += X.shape[0]
        self.expanded_rows_ += len(rows)
        self.seen_classes_ = np.union1d(self.seen_classes_, np.unique(cols))
        return self

    # ------------------------------------------------------------------ in-memory convenience

    def fit(self, X: Any, y: Any) -> StreamingSoftClassifier:
        """Fit on documents ``X`` and (n, k) probabilities or (n,) class indices ``y``."""
        texts = _as_texts(X)
        n = len(texts)
        if n == 0:
            raise ValueError("cannot fit on zero documents")
        probs = soft_targets(y, n, self.n_classes)
        k = probs.shape[1]
        hasher = TokenHasher(self.n_features)
        counts = hasher.counts(texts)
        self.start(idf_from_counts(document_frequencies(counts), n), n_classes=k)
        X_all = tfidf(counts, self.idf_)
        rng = np.random.default_rng(self.random_state)
        for _ in range(int(self.epochs)):
            order = rng.permutation(n)
            for s in range(0, n, int(self.batch_size)):
                idx = order[s : s + int(self.batch_size)]
                self.partial_fit_features(X_all[idx], probs[idx])
        return self

    # ------------------------------------------------------------------ predicting

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """(n, n_classes) probabilities (one-vs-rest logistic outputs, normalised)."""
        return self.predict_proba_features(self.features(X))

    def predict_proba_features(self, X: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self, "model_")
        out = np.zeros((X.shape[0], self.n_classes_))
        if X.shape[0]:
            out[:, self.model_.classes_] = self.model_.predict_proba(X)
        return out

    def predict(self, X: Iterable[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
