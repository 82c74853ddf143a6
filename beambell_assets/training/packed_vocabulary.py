"""A ``TfidfVectorizer`` whose fitted vocabulary is saved as one string and one array of lengths.

skops writes a ``dict`` node by node into its JSON schema: every term and every column index is an
object with its own type record. For the end model's ~85k word and char terms (the dev websites)
that was 48.6 MB of the model's 57.8 MB and most of the ~4 s a save or a load took, paid by every
training run and every process that scores, checks drift or queues pages (measured in
``benchmarks/model_io.py``). This class saves the vocabulary as its terms in column order, joined,
plus an int32 array of their lengths (skops stores arrays as ``.npy`` files), and rebuilds the same
``dict`` on load. Fitting and transforming are scikit-learn's own; only ``__getstate__`` /
``__setstate__`` differ, so pickle and ``copy`` see the packed form too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

_TEXT = "vocabulary_terms_"
_LENGTHS = "vocabulary_lengths_"


def pack_vocabulary(vocabulary: Mapping[str, int]) -> tuple[str, np.ndarray] | None:
    """``(terms joined in column order, their lengths)``, or None unless the terms are strings and
    the columns exactly the integers ``0..n-1`` (then the dict is saved as it is)."""
    n = len(vocabulary)
    terms: list[str | None] = [None] * n
    for term, index in vocabulary.items():
        if not isinstance(term, str) or isinstance(index, bool) or not isinstance(index, int | np.integer):
            return None
        i = int(index)
        if not 0 <= i < n or terms[i] is not None:
            return None
        terms[i] = term
    ordered: list[str] = terms  # type: ignore[assignment]  # every slot filled: n distinct indexes
    return "".join(ordered), np.fromiter((len(t) for t in ordered), dtype=np.int32, count=n)


def unpack_vocabulary(text: str, lengths: np.ndarray) -> dict[str, int]:
    """The ``dict`` :func:`pack_vocabulary` packed: term -> column index."""
    ends = np.cumsum(lengths, dtype=np.int64).tolist()
    total = ends[-1] if ends else 0
    if total != len(text):
        raise ValueError(f"packed vocabulary: lengths sum to {total}, text has {len(text)}")
    starts = [0, *ends[:-1]] if ends else []
    return {text[s:e]: i for i, (s, e) in enumerate(zip(starts, ends, strict=True))}


class PackedTfidfVectorizer(TfidfVectorizer):
    """scikit-learn's ``TfidfVectorizer`` (same parameters, same fit and transform) that saves its
    fitted ``vocabulary_`` packed (see the module docstring)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object.__getstate__ returns __dict__ itself
        vocabulary = state.get("vocabulary_")
        packed = pack_vocabulary(vocabulary) if isinstance(vocabulary, dict) else None
        if packed is not None:
            del state["vocabulary_"]
            state[_TEXT], state[_LENGTHS] = packed
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if _TEXT in state:
            state["vocabulary_"] = unpack_vocabulary(state.pop(_TEXT), np.asarray(state.pop(_LENGTHS)))
        super().__setstate__(state)
