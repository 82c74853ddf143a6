"""The classifier's training table: one row per page with its probabilistic (weak) label.

Rows no LF voted on carry no information from the LFs (the label model just returns its prior)
and are dropped, as Snorkel's ``filter_unlabeled_dataframe`` does. Optional gold labels override
the weak label of their rows (one-hot probabilities, ``label_source == "gold"``) and keep those
rows even when no LF voted.

Schema (flat, Parquet-friendly; one float column per class so each is a typed column):

    page_id, partition_key, text, prob_0 .. prob_{k-1}, weak_label (int64),
    weak_confidence (float64, the max probability), n_votes (int64, LFs that voted),
    label_source ("weak" | "gold")

``build_training_set`` returns a :class:`TrainingSet`: the frame plus the counts (rows in, kept,
dropped as abstain-only, gold overrides).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.training.splits import split_gold

log = logging.getLogger(__name__)

ABSTAIN = -1


@dataclass(frozen=True)
class TrainingSet:
    """The training frame and what building it kept and dropped."""

    frame: pd.DataFrame
    n_input: int
    n_kept: int
    n_filtered: int  # rows dropped because no LF voted (and no gold label)
    n_gold_overrides: int  # rows whose weak label a gold label replaced

    def counts(self) -> dict[str, int]:
        return {
            "n_input": self.n_input,
            "n_kept": self.n_kept,
            "n_filtered_abstain": self.n_filtered,
            "n_gold_overrides": self.n_gold_overrides,
        }


def prob_columns(k: int) -> list[str]:
    """The probability column names for a k-class task: ``prob_0 .. prob_{k-1}``."""
    return [f"prob_{c}" for c in range(k)]


def probs_of(frame: pd.DataFrame) -> np.ndarray:
    """The (n, k) probability matrix of a training-set frame."""
    cols = sorted(
        (c for c in frame.columns if c.startswith("prob_") and c[5:].isdigit()), key=lambda c: int(c[5:])
    )
    if not cols or cols != prob_columns(len(cols)):
        raise ValueError(f"frame has no complete prob_0..prob_k-1 columns (found {cols})")
    return frame[cols].to_numpy(dtype=float)


def build_training_set(
    features: pd.DataFrame,
    L: np.ndarray,
    probs: np.ndarray,
    text_field: str,
    *,
    gold: np.ndarray | None = None,
) -> TrainingSet:
    """Join page features with label-model probabilities, dropping rows no LF voted on.

    ``features`` needs ``page_id`` and ``text_field`` (``partition_key`` is carried when present,
    else null). ``L`` is the (n x m) label matrix, or an (n,) count of LF votes per row (all this
    needs); ``probs`` (n x k) is aligned with the rows. ``gold`` (length n, ``-1`` = unknown)
    overrides the weak label where known.
    """
    n = len(features)
    L = np.asarray(L)
    probs = np.asarray(probs, dtype=float)
    if L.ndim not in (1, 2) or L.shape[0] != n:
        raise ValueError(f"L must have {n} rows (one per feature row), got shape {L.shape}")
    if probs.ndim != 2 or probs.shape[0] != n:
        raise ValueError(f"probs must have {n} rows, got shape {probs.shape}")
    k = probs.shape[1]
    if k < 2:
        raise ValueError("probs must have at least two class columns")
    missing = [c for c in ("page_id", text_field) if c not in features.columns]
    if missing:
        raise ValueError(f"features lacks column(s) {missing}")
    if n and (not np.all(np.isfinite(probs)) or (probs < 0).any()):
        raise ValueError("probs must be finite and non-negative")

    if L.ndim == 1:
        n_votes = L.astype(np.int64)
        if (n_votes < 0).any():
            raise ValueError("a 1-D L is a count of votes per row and cannot be negative")
    else:
        n_votes = (L != ABSTAIN).sum(axis=1).astype(np.int64)
    gold_known = np.zeros(n, dtype=bool)
    probs = probs.copy()
    if gold is not None:
        gold = np.asarray(gold).astype(np.int64)
        if gold.shape != (n,):
            raise ValueError(f"gold must have shape ({n},), got {gold.shape}")
        if n and (gold.min() < ABSTAIN or gold.max() >= k):
            raise ValueError(f"gold has labels outside [-1, {k - 1}]")
        gold_known = gold != ABSTAIN
        probs[gold_known] = np.eye(k)[gold[gold_known]]

    keep = (n_votes > 0) | gold_known
    sums = probs[keep].sum(axis=1)
    if (sums <= 0).any():
        raise ValueError("some kept rows have probabilities summing to 0")
    kept_probs = probs[keep] / sums[:, None]

    rows = features.iloc[np.flatnonzero(keep)]
    text = rows[text_field].astype(object)
    frame = pd.DataFrame(
        {
            "page_id": rows["page_id"].to_numpy(),
            "partition_key": (
                rows["partition_key"].to_numpy(dtype=object)
                if "partition_key" in rows.columns
                else np.full(len(rows), None, dtype=object)
            ),
            "text": [("" if pd.isna(t) else str(t)) for t in text],
        }
    )
    for c, col in enumerate(prob_columns(k)):
        frame[col] = kept_probs[:, c].astype(np.float64)
    frame["weak_label"] = kept_probs.argmax(axis=1).astype(np.int64) if len(frame) else np.zeros(0, np.int64)
    frame["weak_confidence"] = kept_probs.max(axis=1) if len(frame) else np.zeros(0)
    frame["n_votes"] = n_votes[keep]
    frame["label_source"] = np.where(gold_known[keep], "gold", "weak").astype(object)

    result = TrainingSet(
        frame=frame,
        n_input=int(n),
        n_kept=int(keep.sum()),
        n_filtered=int(n - keep.sum()),
        n_gold_overrides=int(gold_known.sum()),
    )
    log.info(
        "training set: kept %d of %d rows (%d abstain-only dropped, %d gold overrides)",
        result.n_kept,
        n,
        result.n_filtered,
        result.n_gold_overrides,
    )
    return result


def summarize_training_set(frame: pd.DataFrame) -> dict[str, Any]:
    """Class mass and confidence of a training-set frame (also one read back from Parquet)."""
    out: dict[str, Any] = {"n_rows": len(frame)}
    if len(frame):
        probs = probs_of(frame)
        out["expected_class_counts"] = probs.sum(axis=0).round(3).tolist()
        out["weak_label_counts"] = np.bincount(frame["weak_label"], minlength=probs.shape[1]).tolist()
        out["mean_confidence"] = float(frame["weak_confidence"].mean())
        out["n_gold"] = int((frame["label_source"] == "gold").sum())
    return out


class OutOfStepError(ValueError):
    """The window's features and label-model rows are not the same pages in the same order."""


def window_training_set(
    features: pd.DataFrame,
    probs: pd.DataFrame,
    roles: pd.Series,
    k: int,
    text_field: str,
) -> tuple[TrainingSet, pd.DataFrame]:
    """The weak training set and the gold evaluation rows of a window (``label_model``'s ``probs``
    and the window's features, row for row).

    Gold pages are either evaluation rows (kept out of training) or, with the *train* role,
    overrides: training rows whose target is the gold label. The two never overlap
    (``training/splits.py::split_gold``).
    """
    if (
        len(features) != len(probs)
        or not (features["page_id"].to_numpy() == probs["page_id"].to_numpy()).all()
    ):
        raise OutOfStepError("page_features and label_model rows are out of step: re-materialize the window")
    gold_all = probs["gold"].to_numpy()
    is_gold, override = split_gold(probs["page_id"].astype(str).tolist(), gold_all != -1, roles)
    weak = build_training_set(
        features[~is_gold].reset_index(drop=True),
        probs["n_votes"].to_numpy()[~is_gold],
        probs[prob_columns(k)].to_numpy()[~is_gold],
        text_field,
        gold=np.where(override, gold_all, -1)[~is_gold],
    )
    gold_eval = pd.DataFrame(
        {
            "page_id": features.loc[is_gold, "page_id"].to_numpy(),
            "text": features.loc[is_gold, text_field].fillna("").astype(str).to_numpy(),
            "gold": probs.loc[is_gold, "gold"].to_numpy(),
        }
    )
    return weak, gold_eval
