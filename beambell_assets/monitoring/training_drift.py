"""Drift between a candidate model's training pages and the newest partitions (a promotion gate).

Page features only (lengths, counts, language proxy, domain mix): the candidate has no
predictions on its own training data yet, and the LFs are the same on both sides by construction.
"""

from __future__ import annotations

import pandas as pd

from beambell_assets.monitoring.drift import DriftResult, DriftThresholds, compute_drift, prepare_frames
from beambell_assets.monitoring.reference import parse_training_window, window_partitions
from beambell_assets.storage.artifacts import ArtifactStore


def feature_drift(
    current: pd.DataFrame, reference: pd.DataFrame, thresholds: DriftThresholds | None = None
) -> DriftResult:
    """``current``/``reference``: ``page_features`` frames (any extra columns are ignored).

    The gate reads the verdict and the drifted columns, never an HTML report, so Evidently's tests
    run without its ``Report`` (``compute_drift(report=False)``: the same table, ~10x less CPU).
    """
    cur, ref, roles = prepare_frames(current, reference)
    return compute_drift(
        cur,
        ref,
        numeric=roles["numeric"],
        categorical=roles["categorical"],
        thresholds=thresholds or DriftThresholds(),
        report=False,
    )


#: Pages sampled from each side of a candidate's drift comparison.
DRIFT_SAMPLE = 5_000


def sample_features(store: ArtifactStore, asset: str, keys: list[str], seed: int = 0) -> pd.DataFrame:
    """Up to :data:`DRIFT_SAMPLE` feature rows of ``keys`` (all of them when fewer)."""
    frames = [store.read_frame(asset, k) for k in keys]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame.sample(n=DRIFT_SAMPLE, random_state=seed) if len(frame) > DRIFT_SAMPLE else frame


def candidate_feature_drift(
    store: ArtifactStore, features_asset: str, training_window: str | None, recent_partitions: int
) -> tuple[DriftResult, list[str]]:
    """Drift of the newest ``recent_partitions`` from a candidate's training pages (all partitions
    when it recorded no window); (result, the recent partition keys)."""
    keys = store.frame_keys(features_asset)
    trained_on = window_partitions(keys, training_window) if parse_training_window(training_window) else keys
    recent = keys[-recent_partitions:]
    current = sample_features(store, features_asset, recent)
    return feature_drift(current, sample_features(store, features_asset, trained_on)), recent
