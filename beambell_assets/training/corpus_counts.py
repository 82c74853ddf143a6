"""Fit a TF-IDF vectorizer on many subsets of one corpus from a single pass over its text.

The end-model search (``end_model.py``) fits each n-gram featurisation once per fold of its k-fold
split: every fold re-tokenises and re-counts the same documents, and on short texts with char
n-grams that counting was most of the search (a binary task on the dev websites: 59 of 95 s of a
quality report in ``CountVectorizer``). Fitting a ``TfidfVectorizer`` on a subset of rows needs only
that subset's term counts: its vocabulary is the terms whose document frequency in the subset passes
``min_df`` / ``max_df`` (then the ``max_features`` most frequent), its idf comes from the same
document frequencies. So :class:`CorpusCounts` counts the whole corpus once (every term that *some*
subset could keep: with an integer ``min_df``, a term must reach it in the whole corpus too) and
:meth:`CorpusCounts.fit_transform` turns any rows into the matrices that fitting the vectorizer on
those rows and transforming other rows would give: the same vocabulary in the same (alphabetical)
order, the same ``max_features`` cut (the same array goes into the same ``argsort``), the same idf
and weighting (scikit-learn's own ``TfidfTransformer``). Equal up to float rounding (the order of
summation within a row may differ), tested against ``TfidfVectorizer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer

#: ``CountVectorizer`` parameters that decide which terms a document has and how they are counted.
_COUNT_PARAMS = (
    "input",
    "encoding",
    "decode_error",
    "strip_accents",
    "lowercase",
    "preprocessor",
    "tokenizer",
    "stop_words",
    "token_pattern",
    "ngram_range",
    "analyzer",
    "binary",
    "dtype",
)


class NoTermsRemain(ValueError):
    """No term of the subset passes ``min_df`` / ``max_df`` (scikit-learn raises a ValueError too)."""


class CorpusCounts:
    """``vectorizer``'s (unfitted ``TfidfVectorizer``) term counts over ``texts``, counted once."""

    def __init__(self, vectorizer: TfidfVectorizer, texts: Sequence[str]) -> None:
        if not isinstance(vectorizer, TfidfVectorizer) or vectorizer.vocabulary is not None:
            raise TypeError("CorpusCounts needs an unfitted TfidfVectorizer without a fixed vocabulary")
        params = vectorizer.get_params()
        self.min_df, self.max_df = params["min_df"], params["max_df"]
        self.max_features = params["max_features"]
        self.tfidf_params = {k: params[k] for k in ("norm", "use_idf", "smooth_idf", "sublinear_tf")}
        # A subset's document frequency is at most the corpus's: an integer min_df prunes here already.
        floor = int(self.min_df) if isinstance(self.min_df, Integral) else 1
        counter = CountVectorizer(**{k: params[k] for k in _COUNT_PARAMS}, min_df=max(floor, 1))
        try:
            self.counts: sp.csr_matrix = counter.fit_transform(list(texts)).tocsr()
        except ValueError as exc:  # not even the whole corpus has a term that often
            raise NoTermsRemain(str(exc)) from exc
        self.vectorizer = vectorizer
        self.terms = counter.get_feature_names_out()
        self.n_docs, self.n_terms = self.counts.shape

    def matches(self, vectorizer: Any) -> bool:
        """Whether ``vectorizer`` is configured exactly as the one counted (same terms, same rules)."""
        return type(vectorizer) is type(self.vectorizer) and _same_params(vectorizer, self.vectorizer)

    def _columns(self, counts: sp.csr_matrix) -> np.ndarray:
        """The columns a vectorizer fitted on ``counts``' rows keeps (``CountVectorizer`` rules)."""
        n_doc = counts.shape[0]
        high = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_doc
        low = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_doc
        if high < low:
            raise ValueError("max_df corresponds to < documents than min_df")
        dfs = np.bincount(counts.indices, minlength=self.n_terms)
        mask = (dfs > 0) & (dfs <= high) & (dfs >= low)  # dfs > 0: terms the subset has at all
        if self.max_features is not None and mask.sum() > self.max_features:
            tfs = np.asarray(counts.sum(axis=0)).ravel()
            keep = (-tfs[mask]).argsort()[: self.max_features]
            new_mask = np.zeros(len(dfs), dtype=bool)
            new_mask[np.flatnonzero(mask)[keep]] = True
            mask = new_mask
        if not mask.any():
            raise NoTermsRemain("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        return np.flatnonzero(mask)

    def _fit(self, counts: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix, TfidfTransformer]:
        """What fitting on ``counts``' rows keeps: (columns, their counts, the fitted idf weighting)."""
        cols = self._columns(counts)
        fitted = counts[:, cols]
        return cols, fitted, TfidfTransformer(**self.tfidf_params).fit(fitted)

    def fitted_vectorizer(self) -> tuple[TfidfVectorizer, sp.csr_matrix]:
        """The vectorizer fitted on the whole corpus, as ``fit_transform(texts)`` leaves it, and its
        matrix: the vocabulary and the fitted ``TfidfTransformer`` that
        scikit-learn keeps in ``_tfidf`` (a private attribute: checked by a test against a real fit)."""
        cols, fitted, tfidf = self._fit(self.counts)
        vectorizer = clone(self.vectorizer)
        vectorizer.vocabulary_ = {str(term): i for i, term in enumerate(self.terms[cols])}
        vectorizer.fixed_vocabulary_ = False
        vectorizer._tfidf = tfidf
        return vectorizer, tfidf.transform(fitted)

    def fit_transform(self, rows: np.ndarray, other: np.ndarray | None = None) -> tuple[Any, Any]:
        """(TF-IDF of ``rows``, TF-IDF of ``other`` rows or None) as if the vectorizer were fitted on
        ``rows``' texts and then applied to ``other``'s."""
        cols, fitted, tfidf = self._fit(self.counts[np.asarray(rows)])
        out_other = None
        if other is not None:
            out_other = tfidf.transform(self.counts[np.asarray(other)][:, cols])
        return tfidf.transform(fitted), out_other


def _same_params(a: Any, b: Any) -> bool:
    pa, pb = a.get_params(), b.get_params()
    return pa.keys() == pb.keys() and all(_same(pa[k], pb[k]) for k in pa)


def _same(x: Any, y: Any) -> bool:
    try:
        return bool(x == y)
    except (TypeError, ValueError):  # e.g. arrays: not a parameter these vectorizers use
        return x is y
