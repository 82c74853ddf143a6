"""Vectorised, exact ``char_wb`` n-gram counts for a fitted vocabulary (scoring, not fitting).

scikit-learn's ``char_wb`` analyser builds every n-gram of a page as a Python string and looks each
up in a dict: ~12,000 strings for a 3,000-character page and 2-5-grams, about 3 ms per page. When
the chosen end model uses character n-grams, that was a third of the stream's CPU per page.

Here each n-gram of a *known* alphabet (the characters of the fitted vocabulary) is packed into one
64-bit integer — ``bits`` per character, so the packing is exact, not a hash — and matched against
the vocabulary's sorted keys with ``np.searchsorted``, for a whole batch of documents at once. An
n-gram with a character outside the alphabet cannot be in the vocabulary and is skipped, as the dict
lookup would. The document-term counts equal ``CountVectorizer.transform``'s (tested against it on
real pages); the TF-IDF weighting is scikit-learn's own transformer. Where the packing cannot be
exact (an alphabet too large for ``max_n`` characters in 61 bits) or the vectorizer is not a plain
``char_wb`` one, :func:`transform` falls back to scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

_KEY_BITS = 61  # characters' bits; the top 3 bits hold the n-gram's length


class CharWbIndex:
    """A fitted ``char_wb`` vectorizer's vocabulary as sorted, exactly packed integer keys."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.vectorizer = vectorizer
        self.min_n, self.max_n = (int(v) for v in vectorizer.ngram_range)
        vocab: dict[str, int] = vectorizer.vocabulary_
        self.n_features = len(vocab)
        chars = sorted({c for term in vocab for c in term})
        self.alphabet = np.array([ord(c) for c in chars], dtype=np.uint32)
        self.bits = max(1, int(len(chars) + 1).bit_length())  # rank 0 = not in the alphabet
        self.exact = self.max_n * self.bits <= _KEY_BITS and self.max_n < 8
        if not self.exact:
            return
        terms = list(vocab)
        keys = np.empty(len(terms), dtype=np.uint64)
        columns = np.fromiter(vocab.values(), dtype=np.int64, count=len(terms))
        lengths = np.fromiter((len(t) for t in terms), dtype=np.int64, count=len(terms))
        for n in np.unique(lengths):
            at = np.flatnonzero(lengths == n)
            codes = _codes("".join(terms[i] for i in at)).reshape(len(at), int(n))
            keys[at] = self._pack([self._ranks(codes[:, j]) for j in range(int(n))], int(n))
        self._table_keys, self._table_columns, self._shift = _open_addressing(keys, columns)

    def _ranks(self, codes: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.alphabet, codes)
        pos = np.minimum(pos, len(self.alphabet) - 1)
        known = self.alphabet[pos] == codes
        return np.where(known, pos + 1, 0).astype(np.uint64)

    def _pack(self, ranks: Sequence[np.ndarray], n: int) -> np.ndarray:
        key = np.full(len(ranks[0]), np.uint64(n) << np.uint64(_KEY_BITS), dtype=np.uint64)
        for j, r in enumerate(ranks):
            key |= r << np.uint64(self.bits * j)
        return key

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The (n_docs, n_features) term counts ``CountVectorizer.transform`` would give."""
        vec = self.vectorizer
        decode, preprocess = vec.decode, vec.build_preprocessor()
        pieces: list[str] = []
        word_lengths: list[int] = []
        word_docs: list[int] = []
        for d, doc in enumerate(texts):
            words = preprocess(decode(doc)).split()
            pieces.extend(f" {w} " for w in words)
            word_lengths.extend(len(w) + 2 for w in words)
            word_docs.extend([d] * len(words))
        docs_out: list[np.ndarray] = []
        cols_out: list[np.ndarray] = []
        if word_lengths:
            lengths = np.asarray(word_lengths, dtype=np.int64)
            ends = np.cumsum(lengths)
            ranks = self._ranks(_codes("".join(pieces)))
            pos_end = np.repeat(ends, lengths)
            pos_doc = np.repeat(np.asarray(word_docs, dtype=np.int64), lengths)
            total = len(ranks)
            for n in range(self.min_n, self.max_n + 1):
                m = total - n + 1
                if m <= 0:
                    break
                ok = np.arange(n, m + n) <= pos_end[:m]  # the window stays inside its padded word
                for j in range(n):
                    ok &= ranks[j : j + m] > 0
                at = np.flatnonzero(ok)
                key = self._pack([ranks[j + at] for j in range(n)], n)
                self._lookup(key, pos_doc[at], docs_out, cols_out)
            short = np.flatnonzero(lengths < self.min_n)  # a padded word shorter than min_n counts once
            if len(short):
                starts = ends[short] - lengths[short]
                for n in np.unique(lengths[short]):
                    s = starts[lengths[short] == n]
                    rs = [ranks[s + j] for j in range(int(n))]
                    ok = np.logical_and.reduce([r > 0 for r in rs])
                    key = self._pack([r[ok] for r in rs], int(n))
                    self._lookup(key, pos_doc[s[ok]], docs_out, cols_out)
        rows = np.concatenate(docs_out) if docs_out else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(cols_out) if cols_out else np.zeros(0, dtype=np.int64)
        # COO -> CSR sums the duplicates (one count per occurrence) and sorts each row's columns
        X = sp.csr_matrix(
            (np.ones(len(rows), dtype=vec.dtype), (rows, cols)), shape=(len(texts), self.n_features)
        )
        X.sum_duplicates()
        return X

    def _lookup(self, key: np.ndarray, docs: np.ndarray, docs_out: list, cols_out: list) -> None:
        """Vectorised probes of the open-addressing table: each round resolves a hit or an empty slot."""
        if not len(key) or not self.n_features:
            return
        table, mask = self._table_keys, np.uint64(len(self._table_keys) - 1)
        slot = (key * _MULT) >> self._shift
        pending = np.arange(len(key))
        while len(pending):
            found = table[slot]
            hit = found == key
            if hit.any():
                docs_out.append(docs[pending[hit]])
                cols_out.append(self._table_columns[slot[hit]])
            again = ~hit & (found != _EMPTY)
            pending, key, slot = pending[again], key[again], (slot[again] + np.uint64(1)) & mask

    def transform(self, texts: Sequence[str]) -> Any:
        """What ``vectorizer.transform(texts)`` returns: the counts through its fitted TF-IDF."""
        X = self.counts(texts)
        if self.vectorizer.binary:
            X.data.fill(1)
        # TfidfVectorizer.transform = CountVectorizer.transform + its fitted transformer (_tfidf)
        return self.vectorizer._tfidf.transform(X, copy=False)


_EMPTY = np.uint64(2**64 - 1)  # no packed key has all bits set (its length field is < 8)
_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing


def _open_addressing(keys: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.uint64]:
    """A linear-probing hash table (load <= 1/4) of the vocabulary keys, built vectorised."""
    bits = max(4, int(4 * max(len(keys), 1) - 1).bit_length())
    table = np.full(2**bits, _EMPTY, dtype=np.uint64)
    table_columns = np.zeros(2**bits, dtype=np.int64)
    shift, mask = np.uint64(64 - bits), np.uint64(2**bits - 1)
    slot = (keys * _MULT) >> shift
    pending = np.arange(len(keys))
    while len(pending):
        # the first key (in order) aiming at a free slot takes it; the others probe the next slot
        s = slot[pending]
        free = table[s] == _EMPTY
        first = np.zeros(len(pending), dtype=bool)
        _, at = np.unique(s, return_index=True)
        first[at] = True
        take = free & first
        table[s[take]] = keys[pending[take]]
        table_columns[s[take]] = columns[pending[take]]
        rest = ~take
        slot[pending[rest]] = (s[rest] + np.uint64(1)) & mask
        pending = pending[rest]
    return table, table_columns, shift


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


def _is_char_wb(part: Any) -> bool:
    return (
        isinstance(part, TfidfVectorizer)
        and part.analyzer == "char_wb"
        and hasattr(part, "vocabulary_")
        and hasattr(part, "_tfidf")
        and part.input == "content"
    )


def build_index(vectorizer: Any) -> dict[int, CharWbIndex]:
    """Indexes for the ``char_wb`` parts of a fitted vectorizer (a TfidfVectorizer or a FeatureUnion),
    keyed by the part's position (0 for a lone vectorizer); parts that cannot be exact are left out."""
    union = isinstance(vectorizer, FeatureUnion)
    parts = [t for _, t in vectorizer.transformer_list] if union else [vectorizer]
    out = {}
    for i, part in enumerate(parts):
        if _is_char_wb(part):
            index = CharWbIndex(part)
            if index.exact:
                out[i] = index
    return out


def transform(vectorizer: Any, texts: Sequence[str], index: dict[int, CharWbIndex]) -> Any:
    """``vectorizer.transform(texts)``, with the indexed ``char_wb`` parts counted vectorised."""
    if not index:
        return vectorizer.transform(texts)
    if not isinstance(vectorizer, FeatureUnion):
        return index[0].transform(texts)
    if vectorizer.transformer_weights:
        return vectorizer.transform(texts)
    blocks = [
        index[i].transform(texts) if i in index else part.transform(texts)
        for i, (_, part) in enumerate(vectorizer.transformer_list)
    ]
    return sp.hstack(blocks).tocsr()
