"""LF analysis: Snorkel's ``LFAnalysis`` summary plus what beambell knows about each LF.

``lf_summary`` is ``LFAnalysis(L, lfs).lf_summary(Y)`` (Polarity, Coverage, Overlaps, Conflicts and,
with gold, Correct / Incorrect / Emp. Acc.) with extra columns: the LF's kind, the class it votes
(``label`` / ``class``), a one-line description and ``errors`` (rows where it raised). Gold may be
partial: ``Y == -1`` (or NaN) means unknown, and accuracy is measured on the known rows only.

``label_matrix_stats`` gives the matrix-level numbers (coverage, overlap, conflict, rows with no
vote) as plain floats and ints, ready for Dagster metadata.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction, LFAnalysis

from beambell_assets.labeling.lf_types import ABSTAIN

__all__ = ["gold_array", "label_matrix_stats", "lf_summary"]


def gold_array(Y: Any, n: int) -> np.ndarray:
    """Gold labels as int64 with -1 for unknown (accepts -1, NaN, None or pd.NA as unknown)."""
    y = pd.to_numeric(pd.Series(np.asarray(Y, dtype=object).ravel()))
    if len(y) != n:
        raise ValueError(f"Y has {len(y)} labels, L has {n} rows")
    out = y.fillna(ABSTAIN).to_numpy(dtype=float)
    if np.any(out != np.floor(out)):
        raise ValueError("gold labels must be integers")
    out = out.astype(np.int64)
    out[out < 0] = ABSTAIN
    return out


def _check_L(L: Any, lfs: Sequence[LabelingFunction] | None = None) -> np.ndarray:
    arr = np.asarray(L)
    if arr.ndim != 2:
        raise ValueError(f"L must be 2-D (rows x LFs), got shape {arr.shape}")
    if lfs is not None and arr.shape[1] != len(lfs):
        raise ValueError(f"L has {arr.shape[1]} columns but there are {len(lfs)} LFs")
    return arr.astype(np.int64, copy=False)


def _voted_class(lf: LabelingFunction, label_names: Sequence[str] | None) -> tuple[Any, Any]:
    """(label index or None, class name or None) for an LF that declares what it votes."""
    label = getattr(lf, "label", None)
    if label is not None:
        label = int(label)
        name = label_names[label] if label_names is not None and 0 <= label < len(label_names) else None
        return label, name
    labels = getattr(lf, "labels", None)  # multi-class LFs (e.g. model LFs)
    if labels:
        if label_names is None:
            return None, None
        names = [label_names[i] for i in labels if 0 <= i < len(label_names)]
        return None, names[0] if len(names) == 1 else f"any of {len(names)} classes"
    return None, None


def _describe(lf: LabelingFunction) -> str:
    describe = getattr(lf, "describe", None)
    if callable(describe):
        try:
            return str(describe())
        except Exception:  # a summary must not fail on one LF's description
            pass
    return f"{type(lf).__name__}({lf.name})"


def _snorkel_summary(L: np.ndarray, lfs: Sequence[LabelingFunction], Y: Any = None) -> pd.DataFrame:
    with warnings.catch_warnings():  # scipy FutureWarnings from inside Snorkel
        warnings.simplefilter("ignore", FutureWarning)
        return LFAnalysis(L, list(lfs)).lf_summary(Y)


def lf_summary(
    L: Any,
    lfs: Sequence[LabelingFunction],
    Y: Any = None,
    fault_counts: Mapping[str, int] | None = None,
    label_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per LF (index = LF name): Snorkel's summary plus kind, class, description, errors.

    Columns: ``j, kind, label, class, Polarity, Coverage, Overlaps, Conflicts`` (Snorkel's, over all
    rows), then with ``Y``: ``Correct, Incorrect, Emp. Acc., Gold rows`` over the rows whose gold is
    known (``Emp. Acc.`` is NaN for an LF that never votes on them - Snorkel reports 0 there), then
    ``errors`` and ``describe``.
    """
    arr = _check_L(L, lfs)
    n, m = arr.shape
    names = [lf.name for lf in lfs]
    if n:
        summary = _snorkel_summary(arr, lfs)
    else:  # Snorkel divides by the row count
        summary = pd.DataFrame(
            {
                "j": range(m),
                "Polarity": [[] for _ in range(m)],
                "Coverage": 0.0,
                "Overlaps": 0.0,
                "Conflicts": 0.0,
            },
            index=names,
        )
    summary["Polarity"] = [[int(v) for v in p] for p in summary["Polarity"]]
    summary.index.name = "lf"

    if Y is not None:
        y = gold_array(Y, n)
        known = y != ABSTAIN
        n_known = int(known.sum())
        if n_known:
            gold = _snorkel_summary(arr[known], lfs, y[known])
            correct = gold["Correct"].to_numpy(dtype=np.int64)
            incorrect = gold["Incorrect"].to_numpy(dtype=np.int64)
        else:
            correct = np.zeros(m, dtype=np.int64)
            incorrect = np.zeros(m, dtype=np.int64)
        voted = correct + incorrect
        with np.errstate(divide="ignore", invalid="ignore"):
            acc = np.where(voted > 0, correct / np.maximum(voted, 1), np.nan)
        summary["Correct"] = correct
        summary["Incorrect"] = incorrect
        summary["Emp. Acc."] = acc
        summary["Gold rows"] = n_known

    classes = [_voted_class(lf, label_names) for lf in lfs]
    summary.insert(1, "kind", [getattr(lf, "kind", None) or "plain" for lf in lfs])
    summary.insert(2, "label", pd.array([c[0] for c in classes], dtype="Int64"))
    summary.insert(3, "class", [c[1] for c in classes])
    faults = fault_counts or {}
    summary["errors"] = [int(faults.get(name, 0)) for name in names]
    summary["describe"] = [_describe(lf) for lf in lfs]
    return summary


def label_matrix_stats(L: Any) -> dict[str, float | int]:
    """Matrix-level numbers: coverage, overlap, conflict (fractions of rows, as in Snorkel's
    ``LFAnalysis.label_coverage/overlap/conflict``), rows with no vote, votes per row."""
    arr = _check_L(L)
    n, m = arr.shape
    votes = arr != ABSTAIN
    n_votes = votes.sum(axis=1)
    if n and m:
        hi = arr.max(axis=1)
        lo = np.where(votes, arr, np.iinfo(np.int64).max).min(axis=1)
        conflicted = (n_votes >= 2) & (lo != hi)
    else:
        conflicted = np.zeros(n, dtype=bool)

    def frac(k: int) -> float:
        return float(k / n) if n else 0.0

    covered = int((n_votes >= 1).sum())
    overlapped = int((n_votes >= 2).sum())
    n_conflicted = int(conflicted.sum())
    return {
        "n_rows": int(n),
        "n_lfs": int(m),
        "coverage": frac(covered),
        "overlap": frac(overlapped),
        "conflict": frac(n_conflicted),
        "rows_no_vote": int(n - covered),
        "no_vote_fraction": frac(n - covered),
        "rows_conflicted": n_conflicted,
        "votes": int(n_votes.sum()),
        "mean_votes_per_row": float(n_votes.mean()) if n else 0.0,
        "lfs_never_voting": int((votes.sum(axis=0) == 0).sum()) if m else 0,
    }
