"""Labeling-function health: alarm when an LF goes silent, fires on everything, or raises errors.

LFs are code written against pages as they looked when it was written; a site redesign or a new
scraper quietly turns a keyword LF off (or a URL LF on for every page). The label model then
learns from a different vote matrix without anyone noticing, so each batch's ``lf_stats`` row is
compared with the LF's own recent history.

Rules (see :class:`LFHealthPolicy`):

* baseline = median coverage over the last ``baseline_partitions`` *healthy* partitions before
  the one judged (partitions with fewer than ``min_rows`` rows are ignored; at least
  ``min_baseline_partitions`` are needed). Partitions in which the LF was alarmed are left out of
  its baseline, so a silent LF stays alarmed (with the same ``since_partition``) until it
  recovers instead of becoming the new normal after a few batches;
* ``silent``: baseline >= ``min_baseline_coverage`` and current < ``silent_ratio`` x baseline;
* ``fires_on_everything``: (current >= ``everything_coverage`` and baseline <
  ``everything_baseline_below``) or current >= baseline x ``surge_ratio`` + ``surge_margin``
  (the second catches a 5 % LF jumping to 60 %, which is not "everything" yet but is broken);
* ``erroring``: ``n_errors`` > 0 in the partition (needs no baseline, so it alarms from the
  very first batch).

A partition is judged by walking the partition order from the start of the kept history, so
``since_partition`` is the first partition of the current unbroken run of that state.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.storage.warehouse import Warehouse

STATES = ("silent", "fires_on_everything", "erroring")
ALARM_COLUMNS = [
    "lf",
    "state",
    "baseline_coverage",
    "current_coverage",
    "change",
    "since_partition",
    "partitions_alarmed",
    "n_errors",
]


@dataclass(frozen=True)
class LFHealthPolicy:
    baseline_partitions: int = 10
    min_baseline_partitions: int = 3
    min_rows: int = 30
    min_baseline_coverage: float = 0.02
    silent_ratio: float = 0.25
    everything_coverage: float = 0.9
    everything_baseline_below: float = 0.5
    surge_ratio: float = 3.0
    surge_margin: float = 0.2
    max_history: int = 500
    """Only the last ``max_history`` partitions before the current one are replayed."""


@dataclass
class LFHealthReport:
    partition_key: str
    alarms: pd.DataFrame
    n_lfs: int
    n_rows: int
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.alarms.empty

    def metadata(self) -> dict[str, Any]:
        """Dagster-ready metadata: counts per state, the alarm table and the notes."""
        from dagster import MetadataValue

        counts = self.alarms["state"].value_counts() if len(self.alarms) else pd.Series(dtype=int)
        meta: dict[str, Any] = {
            "lfs_checked": self.n_lfs,
            "rows": self.n_rows,
            "lf_alarms": len(self.alarms),
            **{f"lfs_{s}": int(counts.get(s, 0)) for s in STATES},
            "notes": "; ".join(self.notes) or "none",
        }
        if len(self.alarms):
            shown = self.alarms.astype(object).where(self.alarms.notna(), "n/a")
            meta["alarms"] = MetadataValue.md(shown.to_markdown(index=False, floatfmt=".3f"))
        return meta


def _states(
    cov: np.ndarray, n_rows: np.ndarray, n_errors: np.ndarray, baseline: np.ndarray, p: LFHealthPolicy
) -> dict[str, np.ndarray]:
    """Per-LF alarm masks for one partition (``baseline`` is NaN where there is none yet)."""
    present = ~np.isnan(cov)
    judged = present & (n_rows >= p.min_rows) & ~np.isnan(baseline)
    with np.errstate(invalid="ignore"):
        silent = judged & (baseline >= p.min_baseline_coverage) & (cov < p.silent_ratio * baseline)
        everything = judged & (
            ((cov >= p.everything_coverage) & (baseline < p.everything_baseline_below))
            | (cov >= baseline * p.surge_ratio + p.surge_margin)
        )
    return {"silent": silent, "fires_on_everything": everything, "erroring": present & (n_errors > 0)}


def assess_lf_health(
    history: pd.DataFrame,
    partition_order: list[str],
    current: str,
    policy: LFHealthPolicy = LFHealthPolicy(),
) -> LFHealthReport:
    """Judge every LF's stats in ``current`` against its history (``lf_stats`` rows).

    ``history`` needs ``partition_key, lf_name, n_rows, coverage, n_errors``; partitions not in
    ``partition_order`` are ignored (``current`` is appended if missing from it). The replay is
    vectorised over LFs: ~85 LFs x 500 partitions take milliseconds.
    """
    p = policy
    order = list(partition_order) if current in partition_order else [*partition_order, current]
    stop = order.index(current)
    order = order[max(0, stop - p.max_history) : stop + 1]
    hist = history[history["partition_key"].isin(set(order))]
    cur_rows = hist[hist["partition_key"] == current]
    if cur_rows.empty:
        return LFHealthReport(
            current, pd.DataFrame(columns=ALARM_COLUMNS), 0, 0, [f"no lf_stats rows for partition {current}"]
        )
    n_rows_now = int(cur_rows["n_rows"].max())
    notes: list[str] = []
    if n_rows_now < p.min_rows:
        notes.append(f"only {n_rows_now} rows (< {p.min_rows}): coverage not judged, errors still are")

    lfs = sorted(cur_rows["lf_name"].unique())
    seen = set(hist["partition_key"])
    keys = [k for k in order if k in seen]

    def grid(col: str) -> np.ndarray:
        table = hist.pivot_table(index="partition_key", columns="lf_name", values=col, aggfunc="last")
        return table.reindex(index=keys, columns=lfs).to_numpy(dtype=float)

    cov, rows, errs = grid("coverage"), grid("n_rows"), grid("n_errors")
    n_lfs, size = len(lfs), p.baseline_partitions
    ring = np.full((n_lfs, size), np.nan)  # the last `size` healthy coverages per LF
    filled, slot = np.zeros(n_lfs, dtype=int), np.zeros(n_lfs, dtype=int)
    run_start = {s: np.full(n_lfs, -1) for s in STATES}
    run_len = {s: np.zeros(n_lfs, dtype=int) for s in STATES}
    baseline = np.full(n_lfs, np.nan)
    states: dict[str, np.ndarray] = {}
    for i in range(len(keys)):
        c, n, e = cov[i], np.nan_to_num(rows[i]), np.nan_to_num(errs[i])
        present, tiny = ~np.isnan(c), np.nan_to_num(rows[i]) < p.min_rows
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: LFs without a baseline
            medians = np.nanmedian(ring, axis=1)
        baseline = np.where(np.minimum(filled, size) >= p.min_baseline_partitions, medians, np.nan)
        states = _states(c, n, e, baseline, p)
        for s, mask in states.items():
            start, length = run_start[s], run_len[s]
            start[mask & (length == 0)] = i
            length[mask] += 1
            # A tiny partition neither breaks nor extends a coverage run (errors are always judged).
            broken = present & ~mask & (np.ones(n_lfs, bool) if s == "erroring" else ~tiny)
            start[broken], length[broken] = -1, 0
        healthy = present & ~tiny & ~states["silent"] & ~states["fires_on_everything"]
        idx = np.flatnonzero(healthy)
        ring[idx, slot[idx]] = c[idx]
        slot[idx] = (slot[idx] + 1) % size
        filled[idx] += 1

    current_cov = cov[-1]
    alarms: list[dict[str, Any]] = []
    for j, lf in enumerate(lfs):
        base = None if np.isnan(baseline[j]) else float(baseline[j])
        for s in STATES:
            if not states[s][j]:
                continue
            alarms.append(
                {
                    "lf": lf,
                    "state": s,
                    "baseline_coverage": base,
                    "current_coverage": float(current_cov[j]),
                    "change": (float(current_cov[j]) - base) / base if base else None,
                    "since_partition": keys[run_start[s][j]],
                    "partitions_alarmed": int(run_len[s][j]),
                    "n_errors": int(np.nan_to_num(errs[-1][j])),
                }
            )
    no_baseline = int(np.isnan(baseline).sum())
    if no_baseline:
        notes.append(
            f"no baseline yet for {no_baseline} of {n_lfs} LFs (need {p.min_baseline_partitions} "
            f"earlier partitions with >= {p.min_rows} rows): only errors are alarmed for them"
        )
    return LFHealthReport(current, pd.DataFrame(alarms, columns=ALARM_COLUMNS), n_lfs, n_rows_now, notes)


def lf_health_history(wh: Warehouse, task_name: str) -> pd.DataFrame:
    """Every ``lf_stats`` row of ``task_name`` (the input of :func:`assess_lf_health`)."""
    return wh.read(
        "SELECT partition_key, lf_name, n_rows, n_votes, coverage, n_errors FROM lf_stats "
        "WHERE task = :t ORDER BY partition_key, lf_name",
        {"t": task_name},
    )
