"""Which gold pages are held out for evaluation.

Gold pages are the classifier's evaluation set and never weak-training rows. When gold covers
more than ``max_share`` of the training window (a fully labeled dataset brought with ``--data``),
holding all of it out would leave nothing to learn from, so only a deterministic, page-id-hashed
subset of ``max_share`` of the window is held out; the rest stays in training *with its weak
label* (the gold label is not used for training here).

Gold labels collected through the annotation loop can also *override* weak labels (see
:class:`GoldPolicy`): those pages are then training targets and never evaluation rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


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


# --------------------------------------------------------------------------- gold overrides


@dataclass(frozen=True)
class GoldPolicy:
    """Which gold labels may become training targets, and how many are kept for evaluation.

    Gold from a ``training_sources`` source (prefix of ``gold_labels.source``; by default Label
    Studio, i.e. the humans in the loop) is split by a stable page-id hash once there are at least
    ``min_training_gold`` such labels: a page whose hash position is >= ``eval_share`` has the
    *train* role (it overrides its weak label in the training set and teaches the stateful LFs), the
    rest stay *eval*. Below the threshold, and for every other source (CSV gold brought with
    ``--data`` measures weak supervision), all gold is *eval*. A page never has both roles, so
    metrics on gold never include a page trained on; a page's role only changes once, when the
    threshold is first crossed.
    """

    #: Humans in the loop: Label Studio, a POST to the prediction service, feedback on the stream.
    training_sources: tuple[str, ...] = ("label_studio", "service", "stream")
    #: Of those, sources whose pages were picked at random (a user who imports random pages into
    #: Label Studio may say so); the queue's audit picks are one anyway (``feedback/gold.py``).
    sampled_sources: tuple[str, ...] = ()
    min_training_gold: int = 40
    eval_share: float = 0.5


def from_sources(gold: pd.DataFrame, prefixes: Sequence[str]) -> np.ndarray:
    """Per gold row: its ``source`` starts with one of ``prefixes`` (no ``source`` column: none)."""
    if "source" not in gold:
        return np.zeros(len(gold), dtype=bool)
    source = gold["source"].fillna("").astype(str)
    return source.map(lambda s: any(s.startswith(p) for p in prefixes)).to_numpy(dtype=bool)


def gold_roles(gold: pd.DataFrame, policy: GoldPolicy = GoldPolicy()) -> pd.Series:
    """``"eval"`` or ``"train"`` per gold page (index: page_id); ``gold`` needs page_id, source."""
    if gold.empty:
        return pd.Series([], index=pd.Index([], name="page_id"), dtype=object)
    trainable = from_sources(gold, policy.training_sources)
    roles = np.full(len(gold), "eval", dtype=object)
    if int(trainable.sum()) >= policy.min_training_gold:
        position = np.array([stable_unit_interval(str(p)) for p in gold["page_id"]])
        roles[trainable & (position >= policy.eval_share)] = "train"
    return pd.Series(roles, index=pd.Index(gold["page_id"].astype(str), name="page_id"), dtype=object)


def split_gold(
    page_ids: Sequence[str], is_gold: np.ndarray, roles: pd.Series, max_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """(evaluation mask, override mask) over a window's rows; disjoint by construction.

    Override rows are gold pages with the *train* role; the evaluation set is the other gold pages,
    capped by :func:`evaluation_mask` (``max_share`` of the window) as before.
    """
    is_gold = np.asarray(is_gold, dtype=bool)
    role = roles.reindex([str(p) for p in page_ids]).to_numpy(dtype=object)
    override = is_gold & (role == "train")
    held = evaluation_mask(page_ids, is_gold & ~override, max_share=max_share)
    return held, override
