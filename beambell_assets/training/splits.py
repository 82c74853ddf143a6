"""Which gold pages are held out for evaluation.

Gold pages are the classifier's evaluation set and never weak-training rows. When gold covers
more than ``max_share`` of the training window (a fully labeled dataset brought with ``--data``),
holding all of it out would leave nothing to learn from, so only a deterministic, page-id-hashed
subset of ``max_share`` of the window is held out; the rest stays in training *with its weak
label* (the gold label is not used for training here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def stable_unit_interval(key: str) -> float:
    """A key's fixed position in [0, 1): the same split on every run and machine."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64


def evaluation_mask(page_ids: Sequence[str], is_gold: np.ndarray, max_share: float = 0.5) -> np.ndarray:
    is_gold = np.asarray(is_gold, dtype=bool)
    n, n_gold = len(is_gold), int(is_gold.sum())
    if n_gold == 0 or n_gold <= max_share * n:
        return is_gold
    keep_fraction = max_share * n / n_gold
    position = np.array([stable_unit_interval(str(p)) for p in page_ids])
    return is_gold & (position < keep_fraction)
