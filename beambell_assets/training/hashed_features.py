"""Stateless word features for out-of-core training: hashed TF-IDF built in streaming steps.

A vocabulary-fitted ``TfidfVectorizer`` needs every document in memory before the first row can be
transformed. Here each worker maps a chunk of texts to term counts on its own:

* tokens are the LFs' tokens (:func:`~beambell_assets.labeling.tokens.tokenize`: lowercased
  ``\\w+``); stop words, numbers and one-character tokens are dropped (they carry no topic and are
  a third of a page's tokens);
* a token's column is MurmurHash3 (scikit-learn's ``murmurhash3_32``, seed 0) modulo
  ``n_features``, so two processes, or two runs, give every token the same column with no shared
  state (each process hashes a distinct token once: pages repeat most words);
* document frequencies are plain counts, so they add up over chunks (:func:`document_frequencies`),
  and :func:`tfidf` weights a chunk afterwards: ``(1 + log tf) * idf``, rows L2-normalised,
  with scikit-learn's smoothed ``idf = ln((1 + n) / (1 + df)) + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from sklearn.utils import murmurhash3_32

from beambell_assets.labeling.model_lfs import STOP_WORDS
from beambell_assets.labeling.tokens import OwnTokenTable, TokenColumn, token_column

__all__ = ["TokenHasher", "document_frequencies", "idf_from_counts", "tfidf"]

DEFAULT_N_FEATURES = 2**18  # SGD touches one weight row per feature: 2**20 was ~2x slower, no better
_DROPPED = -1


class TokenHasher:
    """Texts -> sparse term-count rows over ``n_features`` hashed columns (picklable, stateless).

    Texts are tokenised into token ids (:func:`token_column`, the LFs' own tokeniser) of the
    hasher's own :attr:`token_table`, or of the table the caller's tokens come from (e.g. the LF
    applier's); each distinct token is hashed once per table (:meth:`TokenTable.lut`), then a
    chunk's counts are numpy work. The table is a cache: counts never depend on it.
    """

    token_table = OwnTokenTable()

    def __init__(self, n_features: int = DEFAULT_N_FEATURES) -> None:
        if n_features < 2:
            raise ValueError("n_features must be >= 2")
        self.n_features = int(n_features)

    def column_of(self, token: str) -> int:
        """The hashed column of one token, or -1 for a token that is dropped."""
        if len(token) <= 1 or token in STOP_WORDS or token.isdigit():
            return _DROPPED
        return murmurhash3_32(token, seed=0, positive=True) % self.n_features

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(len(texts), n_features) float32 term counts, columns sorted within each row."""
        return self.counts_of_tokens(token_column(texts, self.token_table))

    def counts_of_tokens(self, tokens: TokenColumn) -> sp.csr_matrix:
        """:meth:`counts` of texts already tokenised (e.g. by the LF applier for the same chunk)."""
        nf = self.n_features
        cols = tokens.table.lut(self, self.column_of)[tokens.ids]
        kept = cols != _DROPPED
        codes = tokens.doc_index[kept] * nf + cols[kept]
        cells, counts = np.unique(codes, return_counts=True)
        n = len(tokens)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cells // nf, minlength=n), out=indptr[1:])
        return sp.csr_matrix(
            (counts.astype(np.float32), (cells % nf).astype(np.int32), indptr), shape=(n, nf)
        )


def document_frequencies(counts: sp.csr_matrix) -> np.ndarray:
    """Per column, how many rows contain it (int64; add these up over chunks)."""
    return np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)


def idf_from_counts(df: np.ndarray, n_docs: int) -> np.ndarray:
    """scikit-learn's smoothed idf, ``ln((1 + n) / (1 + df)) + 1``, as float32."""
    return (np.log((1.0 + n_docs) / (1.0 + np.asarray(df, dtype=np.float64))) + 1.0).astype(np.float32)


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, rows L2-normalised (a new matrix; ``counts`` is left alone)."""
    x = counts.astype(np.float32, copy=True)
    np.log(x.data, out=x.data)
    x.data += 1.0
    x.data *= idf[x.indices]
    return normalize(x, copy=False)
