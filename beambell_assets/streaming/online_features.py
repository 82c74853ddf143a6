"""The stream's end-model features, following the batch path's gold-free choice of end model.

The ``classifier`` asset chooses its featurisation without gold (``training/end_model.py``: word
n-grams, character n-grams, both, or sentence embeddings; soft or hard targets) and records it in
the registry (``end_model_spec(metrics)``). The stream's online model cannot fit a vocabulary, so it
mirrors that choice with stateless features that add up page by page:

* ``word``: hashed word tokens (:class:`~beambell_assets.training.hashed_features.TokenHasher`, the
  batch path's out-of-core features: unigrams without stop words; the batch model's bigrams are not
  hashed, as before this module);
* ``char``: hashed ``char_wb`` 2-5-grams of the first ``CHAR_MAX_CHARS`` lower-cased characters,
  exactly scikit-learn's ``char_wb`` n-grams (tested against its analyser), counted vectorised
  (:class:`CharWbHasher`: a polynomial hash of the code points over a whole chunk in numpy, no
  Python string per n-gram: the same idea as ``training/char_ngrams.py`` without a vocabulary);
* ``both``: the two blocks side by side, each L2-normalised as a ``FeatureUnion`` of the two
  TF-IDF vectorizers is;
* ``encoder``: the offline sentence encoder's unit vectors (``training/encoder.py``; only when an
  encoder is configured and importable, else ``word``);
* ``both+encoder``: the ``both`` blocks and the unit vectors side by side (else ``both``).

Every featuriser gives sparse "counts" (what the replay buffer stores and the document frequencies
count) and weights them afterwards (:meth:`OnlineFeaturizer.weight`: sublinear tf x running idf per
block; the embeddings as they are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from beambell_assets.training.hashed_features import DEFAULT_N_FEATURES, TokenHasher, tfidf

FEATURES = ("word", "char", "both", "encoder", "both+encoder")
#: Featurisations that read the sentence encoder, and what each becomes where none can be used.
ENCODER_FALLBACK = {"encoder": "word", "both+encoder": "both"}
TARGETS = ("soft", "hard")
CHAR_NGRAMS = (2, 5)
CHAR_MAX_CHARS = 3000  # = training.end_model.CHAR_MAX_CHARS (the batch char candidates' page head)

_P = np.uint64(1_000_003)  # polynomial base over code points
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)  # MurmurHash3's 64-bit finaliser
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)


@dataclass(frozen=True)
class OnlineSpec:
    """What the online model learns from: its featurisation and its targets; ``calibrated``: its
    probabilities go through a gold-free calibration fitted on its own prequential predictions
    (:class:`~beambell_assets.streaming.online_model.OnlineSoftClassifier`)."""

    features: str = "word"
    targets: str = "soft"
    calibrated: bool = False

    def __post_init__(self) -> None:
        if self.features not in FEATURES or self.targets not in TARGETS:
            raise ValueError(f"unknown online model spec {self}")

    @property
    def tag(self) -> str:
        return f"{self.features}.{self.targets}" + (".calibrated" if self.calibrated else "")

    @property
    def model_spec(self) -> OnlineSpec:
        """The part of the spec the weights depend on (calibration sits on top of them)."""
        return OnlineSpec(self.features, self.targets)


DEFAULT_SPEC = OnlineSpec()


def spec_from_end_model(end_model: dict[str, Any] | None, encoder_path: str | None) -> OnlineSpec:
    """The online model's spec for a champion's chosen end model (``end_model_spec(metrics)``);
    ``None`` (no champion, or one from before the search) -> the default. ``encoder`` falls back to
    ``word`` and ``both+encoder`` to ``both`` where no encoder can be used; a calibrated choice
    (since 2026-12-06) is calibrated here too."""
    if not end_model:
        return DEFAULT_SPEC
    features = end_model.get("features") if end_model.get("features") in FEATURES else "word"
    if features in ENCODER_FALLBACK and not encoder_path:
        features = ENCODER_FALLBACK[features]
    targets = end_model.get("targets") if end_model.get("targets") in TARGETS else "soft"
    return OnlineSpec(features, targets, bool(end_model.get("calibrated", False)))


def _mix(h: np.ndarray, length: int) -> np.ndarray:
    h = h ^ np.uint64(length * 0x9E3779B9)
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX2
    return h ^ (h >> np.uint64(33))


def char_ngram_hash(ngram: str) -> int:
    """The hash :class:`CharWbHasher` gives one n-gram (a plain-Python reference, for tests)."""
    mask, p = 2**64 - 1, int(_P)
    h = 0
    for c in ngram:
        h = (h * p + ord(c)) & mask
    h ^= (len(ngram) * 0x9E3779B9) & mask
    for mult in (int(_MIX1), int(_MIX2)):
        h ^= h >> 33
        h = (h * mult) & mask
    return h ^ (h >> 33)


class CharWbHasher:
    """Texts -> hashed ``char_wb`` n-gram counts (float32 csr, ``n_features`` columns), stateless.

    scikit-learn's ``char_wb``: each whitespace-separated word, padded with one space each side,
    gives its n-grams for every n up to its own length; one shorter than the smallest n gives itself
    once.
    """

    def __init__(
        self,
        n_features: int = DEFAULT_N_FEATURES,
        ngram_range: tuple[int, int] = CHAR_NGRAMS,
        max_chars: int | None = CHAR_MAX_CHARS,
    ) -> None:
        self.n_features = int(n_features)
        self.min_n, self.max_n = (int(v) for v in ngram_range)
        self.max_chars = max_chars

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        n_docs, nf = len(texts), self.n_features
        words: list[str] = []
        doc_of_word: list[int] = []
        for i, text in enumerate(texts):
            head = str(text)[: self.max_chars] if self.max_chars else str(text)
            split = head.lower().split()
            words.extend(split)
            doc_of_word.extend([i] * len(split))
        if not words:
            return sp.csr_matrix((n_docs, nf), dtype=np.float32)
        padded = "".join(f" {w} " for w in words)
        codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        span_len = np.fromiter((len(w) + 2 for w in words), dtype=np.int64, count=len(words))
        span_start = np.concatenate([[0], np.cumsum(span_len)[:-1]])
        span_end = span_start + span_len
        pos_end = np.repeat(span_end, span_len)
        pos_doc = np.repeat(np.asarray(doc_of_word, dtype=np.int64), span_len)
        total = len(codes)
        positions = np.arange(total)
        ext = np.concatenate([codes, np.zeros(self.max_n, dtype=np.uint64)])
        cells: list[np.ndarray] = []
        h = np.zeros(total, dtype=np.uint64)
        by_length: dict[int, np.ndarray] = {}
        with np.errstate(over="ignore"):
            for n in range(1, self.max_n + 1):
                h = h * _P + ext[n - 1 : n - 1 + total]  # hash of codes[i : i + n]
                by_length[n] = h
                if n < self.min_n:
                    continue
                full = positions + n <= pos_end
                cols = _mix(h[full], n) % np.uint64(nf)
                cells.append(pos_doc[full] * nf + cols.astype(np.int64))
                if n > self.min_n:
                    continue
                short = span_len < n  # a padded word shorter than min_n: itself, once
                for length in np.unique(span_len[short]):
                    at = short & (span_len == length)
                    starts = span_start[at]
                    col = _mix(by_length[int(length)][starts], int(length)) % np.uint64(nf)
                    cells.append(np.asarray(doc_of_word, dtype=np.int64)[at] * nf + col.astype(np.int64))
        keys, counts = np.unique(np.concatenate(cells), return_counts=True)
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // nf, minlength=n_docs), out=indptr[1:])
        return sp.csr_matrix(
            (counts.astype(np.float32), (keys % nf).astype(np.int32), indptr), shape=(n_docs, nf)
        )


class OnlineFeaturizer:
    """The featurisation of an :class:`OnlineSpec`: ``counts`` (additive, stored in the replay
    buffer) then ``weight`` (the features the SGD model sees). Stateless apart from its settings."""

    def __init__(
        self, features: str = "word", n_features: int = DEFAULT_N_FEATURES, encoder_path: str | None = None
    ) -> None:
        if features not in FEATURES:
            raise ValueError(f"unknown featurisation {features!r}")
        if features in ENCODER_FALLBACK and not encoder_path:
            raise ValueError(f"{features} features need an encoder path")
        self.features = features
        self.n_features = int(n_features)
        self.encoder_path = encoder_path
        self.uses_encoder = features in ENCODER_FALLBACK
        self.blocks: list[Any] = []  # the hashed n-gram blocks, weighted by tf-idf
        if features in ("word", "both", "both+encoder"):
            self.blocks.append(TokenHasher(self.n_features))
        if features in ("char", "both", "both+encoder"):
            self.blocks.append(CharWbHasher(self.n_features))

    @property
    def width(self) -> int:
        """Columns of the counts (and of the SGD model's weights): the n-gram blocks, then the
        embedding's."""
        return self.n_features * len(self.blocks) + (self._embed([""]).shape[1] if self.uses_encoder else 0)

    def _embed(self, texts: list[str]) -> np.ndarray:
        from beambell_assets.training.encoder import embed

        return embed(texts, str(self.encoder_path))

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        texts = ["" if t is None else str(t) for t in texts]
        parts = [block.counts(texts) for block in self.blocks]
        if self.uses_encoder:
            parts.append(sp.csr_matrix(self._embed(texts), dtype=np.float32))
        return parts[0] if len(parts) == 1 else sp.hstack(parts, format="csr", dtype=np.float32)

    def weight(self, counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
        """Sublinear tf x idf per n-gram block (each row L2-normalised); the embedding as it is."""
        if len(self.blocks) == 1 and not self.uses_encoder:
            return tfidf(counts, idf)  # the whole matrix is the block: no column slice
        nf = self.n_features
        parts = [
            tfidf(counts[:, b * nf : (b + 1) * nf], idf[b * nf : (b + 1) * nf])
            for b in range(len(self.blocks))
        ]
        if self.uses_encoder:
            parts.append(counts[:, len(self.blocks) * nf :].astype(np.float32))
        return parts[0] if len(parts) == 1 else sp.hstack(parts, format="csr", dtype=np.float32)
