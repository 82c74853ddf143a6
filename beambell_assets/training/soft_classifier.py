"""A text classifier that learns from probabilistic labels (the label model's output), not only argmax.

Training on soft labels = minimising the expected cross-entropy ``-Σ_i Σ_c p_ic log q_c(x_i)``
against the label model's distribution ``p_i``. Multinomial logistic regression with
``sample_weight`` does exactly that when every document is repeated once per class ``c`` with
weight ``p_ic`` ("row expansion"). Classes with ``p_ic < min_prob`` are
dropped and the row's kept weights renormalised to sum to 1, which bounds the expansion (a sure
row costs one copy) and removes noise-level mass.

Features: TF-IDF over word 1-2-grams with sublinear tf (optionally plus char n-grams within word
boundaries), fitted once on the documents; the expansion only repeats sparse rows. Terms must
occur in ``min_df=2`` documents (a term seen in one document can only memorise it; dropping them
made fits ~5x faster on the dev data; a corpus too small for that falls back to ``min_df=1``), and
at most ``max_features`` most frequent terms are kept, which bounds the model for large corpora.

Speed: 100k short documents with 16-class soft labels (~4.8 expanded rows each) fit in about a
minute on a busy 2-core machine.

The class space is fixed by ``n_classes``: ``classes_`` is ``0..n_classes-1`` and
``predict_proba`` always has ``n_classes`` columns; classes never seen in training get probability
exactly 0 (and are never predicted). If training sees a single class the model predicts it always.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from beambell_assets.training.calibration import LogitCalibration
from beambell_assets.training.corpus_counts import CorpusCounts, NoTermsRemain
from beambell_assets.training.packed_vocabulary import PackedTfidfVectorizer


def _as_texts(X: Any) -> list[str]:
    """Documents as strings; missing values (None, NaN, pd.NA) are the empty document."""
    if isinstance(X, str):
        raise TypeError("X must be a sequence of documents, not one string")
    if isinstance(X, pd.Series | pd.Index):
        X = X.to_numpy(dtype=object)
    out = []
    for value in X:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            out.append("")
        else:
            out.append(str(value))
    return out


def soft_targets(y: Any, n: int, n_classes: int | None) -> np.ndarray:
    """``y`` as (n, k) row-normalised class probabilities: from an (n, k) matrix (non-negative,
    positive row sums) or from 1-D class indices ``0..k-1``. ``k`` is ``n_classes`` if given."""
    arr = np.asarray(y)
    if arr.ndim == 2:
        k = n_classes if n_classes is not None else arr.shape[1]
        if arr.shape != (n, k):
            raise ValueError(f"y has shape {arr.shape}; expected ({n}, {k}) class probabilities")
        probs = arr.astype(float)
        if not np.all(np.isfinite(probs)) or (probs < 0).any():
            raise ValueError("y probabilities must be finite and non-negative")
        sums = probs.sum(axis=1, keepdims=True)
        if (sums <= 0).any():
            raise ValueError(f"{int((sums <= 0).sum())} row(s) of y have no probability mass")
        return probs / sums
    if arr.ndim == 1:
        if arr.shape[0] != n:
            raise ValueError(f"y has {arr.shape[0]} labels for {n} documents")
        if n and not np.issubdtype(arr.dtype, np.integer) and not np.all(np.mod(arr.astype(float), 1) == 0):
            raise ValueError("1-D y must hold integer class indices")
        labels = arr.astype(np.int64)
        k = n_classes if n_classes is not None else int(labels.max(initial=-1)) + 1
        if n and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(f"1-D y must hold class indices in [0, {k - 1}] (no -1: drop unknowns)")
        return np.eye(max(k, 1))[labels] if n else np.zeros((0, k))
    raise ValueError(f"y must be 1-D class indices or an (n, k) probability matrix, got {arr.shape}")


def expand_soft_labels(probs: np.ndarray, min_prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row index, class, weight) triples of the row expansion; each row's weights sum to 1.

    A row keeps the classes with probability >= ``min_prob`` and always its argmax.
    """
    keep = probs >= min_prob
    keep[np.arange(len(probs)), probs.argmax(axis=1)] = True
    rows, cols = np.nonzero(keep)
    weights = probs[rows, cols]
    totals = np.bincount(rows, weights=weights, minlength=len(probs))
    return rows, cols, weights / totals[rows]


def fit_vectorizer(
    build: Callable[..., Any],
    texts: list[str],
    min_df: int | float,
    corpus_counts: Sequence[CorpusCounts] = (),
) -> tuple[Any, Any]:
    """``build()`` fitted on ``texts`` -> (vectorizer, features). A tiny corpus where no term reaches
    ``min_df`` falls back to ``build(min_df=1)``.

    ``corpus_counts``: counts of exactly ``texts`` that a model search already made
    (``training/corpus_counts.py``); one counted with ``build()``'s configuration gives the fitted
    vectorizer without reading the texts again."""
    vectorizer = build()
    for counted in corpus_counts:
        if counted.n_docs == len(texts) and counted.matches(vectorizer):
            try:
                return counted.fitted_vectorizer()
            except NoTermsRemain:
                break  # the min_df fallback below
    try:
        features = vectorizer.fit_transform(texts)
    except ValueError as exc:
        if "no terms remain" not in str(exc) or min_df == 1:
            raise
        vectorizer = build(min_df=1)
        features = vectorizer.fit_transform(texts)
    return vectorizer, features


class HeadLower:
    """A TF-IDF preprocessor: the first ``n`` characters, lower-cased (picklable, skops-safe)."""

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def __call__(self, text: str) -> str:
        return text[: self.n].lower()

    def __eq__(self, other: object) -> bool:  # equal configurations (``CorpusCounts.matches``)
        return isinstance(other, HeadLower) and other.n == self.n

    def __hash__(self) -> int:
        return hash((HeadLower, self.n))

    def __repr__(self) -> str:
        return f"HeadLower({self.n})"


class SoftLabelTextClassifier(ClassifierMixin, BaseEstimator):
    """TF-IDF + multinomial logistic regression trained on soft labels.

    ``fit(X, y)``: ``X`` a sequence of strings; ``y`` either an (n, k) matrix of class
    probabilities (rows are renormalised; they must be non-negative with a positive sum) or 1-D
    class indices ``0..k-1``.

    (``ClassifierMixin`` comes before ``BaseEstimator``, as scikit-learn requires for the mixin's
    tags — ``is_classifier`` — to take effect.)

    Parameters
    ----------
    n_classes: size of the fixed class space (``None``: taken from ``y`` — give it for a task).
    C: inverse L2 regularisation strength of the logistic regression.
    word_ngram_range, min_df, max_df, max_features: the word TF-IDF (sublinear tf, unicode tokens);
        ``min_df`` falls back to 1 if no term would remain. ``word_ngram_range=None`` drops the word
        features (then ``char_ngram_range`` must be set: character n-grams only).
    char_ngram_range: e.g. ``(3, 5)`` adds ``char_wb`` TF-IDF features; ``None`` (default) does not.
    max_chars: the char n-grams read only this many leading characters of a document (long pages
        make char n-grams slow; the head of a page carries its topic); ``None``: all of it.
    encoder_path: a local sentence-encoder directory (``training/encoder.py``): its embeddings are
        the features instead of TF-IDF. ``None`` (default): TF-IDF.
    encoder_with_ngrams: with ``encoder_path``, the embeddings are a block *beside* the word / char
        TF-IDF blocks (one logistic regression weighs both) instead of replacing them. Each block's
        rows have unit L2 norm, so neither dominates by scale.
    min_prob: soft-label mass below this is dropped before row expansion (the argmax always stays).
    class_weight: ``None``, ``"balanced"`` or k per-class factors: ``"balanced"`` reweights by the
        inverse *expected* class frequency ``n / (k_seen · Σ_i p_ic)``; factors multiply each class's
        mass (e.g. ``prior / prior_on_covered_rows``, the label-shift correction of
        ``training/class_prior.py``).
    max_iter, tol: the lbfgs solver.
    random_state: kept for API symmetry; lbfgs is deterministic, so is the model.

    ``set_calibration`` attaches a gold-free calibration of the probabilities (``calibration_scale_``,
    ``calibration_bias_``; the end-model search fits it on held-out predictions); a refit drops it.
    """

    def __init__(
        self,
        n_classes: int | None = None,
        *,
        C: float = 10.0,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] | None = None,
        max_chars: int | None = None,
        encoder_path: str | None = None,
        encoder_with_ngrams: bool = False,
        min_df: int | float = 2,
        max_df: float = 1.0,
        max_features: int | None = 2**18,
        min_prob: float = 0.01,
        class_weight: str | Sequence[float] | None = None,
        max_iter: int = 500,
        tol: float = 1e-3,
        random_state: int | None = 0,
    ) -> None:
        self.n_classes = n_classes
        self.C = C
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.max_chars = max_chars
        self.encoder_path = encoder_path
        self.encoder_with_ngrams = encoder_with_ngrams
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.min_prob = min_prob
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    def _build_vectorizer(self, min_df: int | float | None = None) -> Any:
        encoder = None
        if self.encoder_path:
            from beambell_assets.training.encoder import EncoderFeatures  # torch only when asked

            encoder = EncoderFeatures(self.encoder_path)
            # a model saved before the parameter existed has no attribute: encoder only
            if not getattr(self, "encoder_with_ngrams", False):
                return encoder
        min_df = self.min_df if min_df is None else min_df
        parts: list[tuple[str, PackedTfidfVectorizer]] = []
        if self.word_ngram_range is not None:
            word = PackedTfidfVectorizer(
                analyzer="word",
                ngram_range=tuple(self.word_ngram_range),
                sublinear_tf=True,
                min_df=min_df,
                max_df=self.max_df,
                max_features=self.max_features,
                token_pattern=r"(?u)\b\w+\b",
                dtype=np.float32,
            )
            parts.append(("word", word))
        if self.char_ngram_range is not None:
            char = PackedTfidfVectorizer(
                analyzer="char_wb",
                ngram_range=tuple(self.char_ngram_range),
                sublinear_tf=True,
                min_df=min_df,
                max_df=self.max_df,
                max_features=self.max_features,
                preprocessor=HeadLower(self.max_chars) if self.max_chars else None,
                dtype=np.float32,
            )
            parts.append(("char", char))
        if not parts:
            raise ValueError("word_ngram_range and char_ngram_range cannot both be None")
        if encoder is not None:
            return FeatureUnion([*parts, ("encoder", encoder)])
        return parts[0][1] if len(parts) == 1 else FeatureUnion(parts)

    def _expand(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return expand_soft_labels(probs, self.min_prob)

    def _texts(self, X: Any) -> list[str]:
        return _as_texts(X)

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, corpus_counts: Sequence[CorpusCounts] = ()
    ) -> SoftLabelTextClassifier:
        """Fit on documents ``X`` and soft (n x k) or hard (n,) labels ``y``. ``corpus_counts``: a
        search's n-gram counts of exactly ``X`` to fit the vectorizer from (:func:`fit_vectorizer`)."""
        texts = self._texts(X)
        if len(texts) == 0:
            raise ValueError("cannot fit on zero documents")
        self.vectorizer_, features = fit_vectorizer(self._build_vectorizer, texts, self.min_df, corpus_counts)
        return self.fit_features(features, y, sample_weight)

    def fit_features(self, features: Any, y: Any, sample_weight: Any = None) -> SoftLabelTextClassifier:
        """Fit only the logistic-regression head on already vectorised rows (``vectorizer_`` must be
        set for predicting texts later). Lets a model search vectorise a fold once for many heads."""
        n = features.shape[0]
        if n == 0:
            raise ValueError("cannot fit on zero documents")
        if not 0.0 <= float(self.min_prob) < 1.0:
            raise ValueError("min_prob must be in [0, 1)")
        probs = soft_targets(y, n, self.n_classes)
        k = probs.shape[1]
        if k < 2:
            raise ValueError("need a class space of at least two classes (set n_classes)")
        factor = self._class_factors(k)
        row_w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if row_w.shape != (n,) or (row_w < 0).any() or not np.all(np.isfinite(row_w)):
            raise ValueError("sample_weight must be n non-negative finite numbers")
        if sp.issparse(features) and not isinstance(features, sp.csr_matrix):
            features = sp.csr_matrix(features)

        self.classes_ = np.arange(k)
        self.n_classes_ = k
        self.set_calibration(None)  # a refit is a new model
        rows, cols, weights = self._expand(probs)
        weights = weights * row_w[rows]
        if self.class_weight == "balanced":
            mass = np.bincount(cols, weights=weights, minlength=k)
            seen = mass > 0
            factor = np.zeros(k)
            factor[seen] = mass.sum() / (seen.sum() * mass[seen])
        if factor is not None:
            weights = weights * factor[cols]
        positive = weights > 0
        rows, cols, weights = rows[positive], cols[positive], weights[positive]
        self.seen_classes_ = np.unique(cols)
        self.expanded_rows_ = len(rows)
        if len(self.seen_classes_) == 0:
            raise ValueError("all sample weights are zero")
        if len(self.seen_classes_) == 1:
            self.model_ = None  # a single class: predict it always
        else:
            # Weights are normalised to mean 1 so C means the same for soft and hard labels.
            self.model_ = LogisticRegression(
                C=self.C,
                solver="lbfgs",
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=self.random_state,
            )
            # One BLAS/OpenMP thread: L-BFGS-B makes many small BLAS calls and the loss many small
            # OpenMP loops; spinning threads on a small or busy machine made fits ~3-10x slower here.
            with threadpool_limits(limits=1):
                self.model_.fit(features[rows], cols, sample_weight=weights * (len(weights) / weights.sum()))
        return self

    def _class_factors(self, k: int) -> np.ndarray | None:
        """Per-class weight factors from ``class_weight`` (``None`` for none or "balanced")."""
        if self.class_weight is None or isinstance(self.class_weight, str):
            if self.class_weight not in (None, "balanced"):
                raise ValueError("class_weight must be None, 'balanced' or k non-negative factors")
            return None
        factor = np.asarray(self.class_weight, dtype=float)
        if factor.shape != (k,) or not np.all(np.isfinite(factor)) or (factor < 0).any():
            raise ValueError(f"class_weight must be {k} non-negative finite factors, got {factor!r}")
        return factor

    def predict_proba_features(self, features: Any) -> np.ndarray:
        """Like ``predict_proba`` on already vectorised rows."""
        check_is_fitted(self, "classes_")
        out = np.zeros((features.shape[0], self.n_classes_))
        if features.shape[0] == 0:
            return out
        if self.model_ is None:
            out[:, self.seen_classes_[0]] = 1.0
            return out
        out[:, self.model_.classes_] = self.model_.predict_proba(features)
        scale = getattr(self, "calibration_scale_", None)
        if scale is not None:
            out = LogitCalibration(scale, self.calibration_bias_).apply(out)
        return out

    def set_calibration(self, calibration: LogitCalibration | None) -> SoftLabelTextClassifier:
        """Apply ``calibration`` (``training/calibration.py``, fitted on held-out predictions of
        this configuration) to every prediction from now on; ``None`` removes it."""
        check_is_fitted(self, "classes_")
        if calibration is None:
            self.__dict__.pop("calibration_scale_", None)
            self.__dict__.pop("calibration_bias_", None)
            return self
        bias = np.asarray(calibration.bias, dtype=float)
        if bias.shape != (self.n_classes_,):
            raise ValueError(f"calibration has {bias.shape} offsets for {self.n_classes_} classes")
        self.calibration_scale_ = float(calibration.scale)
        self.calibration_bias_ = bias
        return self

    # ------------------------------------------------------------------ predicting

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """(n, n_classes) probabilities; classes unseen in training get exactly 0."""
        check_is_fitted(self, "vectorizer_")
        texts = self._texts(X)
        if not texts:
            return np.zeros((0, self.n_classes_))
        return self.predict_proba_features(self.transform(texts))

    def transform(self, X: Iterable[str]) -> Any:
        """The fitted features of documents ``X`` (char n-grams counted vectorised, same values)."""
        check_is_fitted(self, "vectorizer_")
        index = self.__dict__.get("_char_index")
        if index is None or index[0] is not self.vectorizer_:
            from beambell_assets.training.char_ngrams import build_index

            index = (self.vectorizer_, build_index(self.vectorizer_))
            self.__dict__["_char_index"] = index  # a cache: never persisted (__getstate__)
        from beambell_assets.training.char_ngrams import transform

        return transform(self.vectorizer_, self._texts(X), index[1])

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_char_index", None)
        return state

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """The most probable class per document (ties: the lowest index)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def decision_confidence(self, X: Iterable[str]) -> np.ndarray:
        """Max class probability per document (for active learning and thresholds)."""
        return self.predict_proba(X).max(axis=1)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
