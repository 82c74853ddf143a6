"""Drift between a candidate model's training pages and the newest partitions (a promotion gate).

Page features only (lengths, counts, language proxy, domain mix): the candidate has no
predictions on its own training data yet, and the LFs are the same on both sides by construction.
"""

from __future__ import annotations

import pandas as pd

from beambell_assets.monitoring.drift import DriftResult, DriftThresholds, compute_drift, prepare_frames


def feature_drift(
    current: pd.DataFrame, reference: pd.DataFrame, thresholds: DriftThresholds | None = None
) -> DriftResult:
    """``current``/``reference``: ``page_features`` frames (any extra columns are ignored)."""
    cur, ref, roles = prepare_frames(current, reference)
    return compute_drift(
        cur,
        ref,
        numeric=roles["numeric"],
        categorical=roles["categorical"],
        thresholds=thresholds or DriftThresholds(),
    )
