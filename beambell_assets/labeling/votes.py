"""Vote frames: a batch's label matrix as a table, its per-LF statistics, and a window of batches.

Plain steps of the ``lf_votes`` and ``label_model`` assets (``defs/assets/weak_supervision.py``):
the asset reads and writes, these shape the data, so they are tested without Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

ABSTAIN = -1


class StaleVotesError(ValueError):
    """A stored vote partition lacks LFs the task has now: it must be re-materialized first."""


def vote_frame(L: np.ndarray, lf_names: Sequence[str], page_ids: Sequence[Any] | np.ndarray) -> pd.DataFrame:
    """The label matrix as stored: ``page_id`` then one int column per LF (-1 = abstain)."""
    votes = pd.DataFrame(L, columns=list(lf_names))
    votes.insert(0, "page_id", np.asarray(page_ids))
    return votes


def drop_invalid_votes(L: np.ndarray, lf_names: Sequence[str], cardinality: int) -> dict[str, int]:
    """Votes outside ``-1 .. cardinality - 1`` (an LF returning a label the task does not have)
    become abstains, counted per LF like an LF that raised on the row; ``L`` is changed in place.
    Left in, one such vote failed the label model far from its cause."""
    bad = (L < ABSTAIN) | (cardinality <= L)
    if not bad.any():
        return {}
    counts = bad.sum(axis=0)
    L[bad] = ABSTAIN
    return {name: int(c) for name, c in zip(lf_names, counts, strict=True) if c}


def lf_stats_rows(
    L: np.ndarray, lf_names: Sequence[str], fault_counts: Mapping[str, int], computed_at: datetime
) -> list[dict[str, Any]]:
    """One ``lf_stats`` row per LF: rows seen, votes cast, coverage and errors in this batch."""
    n = len(L)
    coverage = (L != ABSTAIN).mean(axis=0) if n else np.zeros(len(lf_names))
    return [
        {
            "lf_name": name,
            "n_rows": n,
            "n_votes": int((L[:, j] != ABSTAIN).sum()) if n else 0,
            "coverage": float(coverage[j]),
            "n_errors": int(fault_counts.get(name, 0)),
            "computed_at": computed_at,
        }
        for j, name in enumerate(lf_names)
    ]


def stack_vote_frames(
    frames: Iterable[tuple[str, pd.DataFrame]],
    lf_columns: Sequence[str],
    required: Sequence[str],
    source: str = "lf_votes",
) -> pd.DataFrame:
    """The window's vote partitions as one frame (``page_id``, the LF columns, ``partition_key``).

    A column of ``lf_columns`` outside ``required`` (a stateful LF added after the partition was
    voted) abstains there; a missing ``required`` column raises :class:`StaleVotesError`, since the
    partition predates the task's LF set and must be voted again.
    """
    optional = set(lf_columns) - set(required)
    out = []
    for key, frame in frames:
        for name in optional - set(frame.columns):
            frame[name] = ABSTAIN
        missing = set(required) - set(frame.columns)
        if missing:
            raise StaleVotesError(
                f"{source} partition {key} predates the current LF set (missing "
                f"{sorted(missing)[:5]}): re-materialize it (backfill) before retraining"
            )
        out.append(frame.assign(partition_key=key))
    if not out:
        raise ValueError(f"no {source} partitions to stack")
    return pd.concat(out, ignore_index=True)


def votes_for_pages(
    votes: pd.DataFrame | None, page_ids: pd.Series, lf_names: Sequence[str]
) -> np.ndarray | None:
    """A task's votes aligned with ``page_ids`` (pages missing from ``votes`` abstain); None without votes."""
    if votes is None or votes.empty:
        return None
    cols = [c for c in lf_names if c in votes.columns]
    aligned = votes.drop_duplicates("page_id").set_index("page_id")[cols].reindex(page_ids.to_numpy())
    return aligned.fillna(ABSTAIN).to_numpy(dtype=np.int64)


def aligned_label_matrix(votes: pd.DataFrame, features: pd.DataFrame, key: str) -> np.ndarray:
    """A partition's stored votes as L, refusing votes that are not the features' pages in order."""
    if (
        len(votes) != len(features)
        or not (votes["page_id"].to_numpy() == features["page_id"].to_numpy()).all()
    ):
        raise ValueError(f"lf_votes and page_features of {key} are out of step: re-materialize the partition")
    return votes.drop(columns=["page_id"]).to_numpy(dtype=np.int64)
