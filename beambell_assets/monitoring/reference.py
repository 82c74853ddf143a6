"""Drift frames: one row per page with its features, LF firing and predicted class.

The same builder makes the *current* frame (one landed partition) and the *reference* frame (the
champion's training window), so both sides of a drift comparison are computed by the same code.
The reference is sampled to at most ``max_rows`` pages (seeded) and cached as the artifact frame
``drift_reference/<model_version>``: it is built once per champion, and every later batch is
compared with exactly the same rows.

Predictions in the reference are the champion's own: the training window's partitions were often
scored by an earlier champion, so pages without a prediction by this model version are scored
with it here (only the sampled pages, once per champion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.labeling.task import Task
from beambell_assets.monitoring.drift import (
    LF_PREFIX,
    NUMERIC_FEATURES,
    PREDICTED_CLASS,
    PREDICTED_CONFIDENCE,
)
from beambell_assets.serving.model_store import load_registered_model
from beambell_assets.serving.registry import ModelRecord
from beambell_assets.serving.scoring import score_pages
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse

REFERENCE_ASSET = "drift_reference"
DEFAULT_MAX_ROWS = 5_000
#: Page-feature columns a drift frame keeps (the text itself is not compared).
FEATURE_COLUMNS: tuple[str, ...] = (
    "page_id",
    "registered_domain",
    "has_html",
    *(c for c in NUMERIC_FEATURES if c != "lfs_fired"),
)


def parse_training_window(window: str | None) -> tuple[str, str] | None:
    """``"first..last"`` -> ``(first, last)``; None when the model has no recorded window."""
    if not window or ".." not in window:
        return None
    first, last = window.split("..", 1)
    return first.strip(), last.strip()


def window_partitions(keys: list[str], training_window: str | None) -> list[str]:
    """The partitions of ``keys`` (in their order) that fall inside ``training_window``.

    By position when both ends are known keys; by key comparison otherwise (keys sort by landing
    time, and the window itself was recorded as the min and max key).
    """
    bounds = parse_training_window(training_window)
    if bounds is None:
        return []
    first, last = bounds
    if first in keys and last in keys:
        i, j = keys.index(first), keys.index(last)
        return keys[i : j + 1]
    return [k for k in keys if first <= k <= last]


def _predictions(wh: Warehouse, task: str, partition_key: str) -> pd.DataFrame:
    return wh.read(
        "SELECT page_id, label, probability, model_version FROM predictions "
        "WHERE task = :t AND partition_key = :k",
        {"t": task, "k": partition_key},
    )


def build_drift_frame(
    store: ArtifactStore,
    wh: Warehouse,
    task: Task,
    partition_keys: list[str],
    *,
    features_asset: str = "page_features",
    votes_asset: str = "lf_votes",
) -> pd.DataFrame:
    """Features, ``lf__<name>`` 0/1 firing columns, ``lfs_fired`` and the stored prediction per page.

    A partition without lf_votes or predictions still gives rows (those columns missing/NaN), so
    a caller sees the gap in the drift table instead of an exception. Columns:
    ``partition_key``, :data:`FEATURE_COLUMNS`, ``lf__*``, ``lfs_fired``, ``pred_label``,
    ``pred_probability``, ``pred_model_version``.
    """
    frames = []
    for key in partition_keys:
        features = store.read_frame(features_asset, key)
        frame = features[[c for c in FEATURE_COLUMNS if c in features.columns]].copy()
        frame.insert(0, "partition_key", key)
        if store.exists(votes_asset, f"{key}.parquet"):
            votes = store.read_frame(votes_asset, key)
            names = [n for n in task.lf_names if n in votes.columns]
            fired = pd.DataFrame(
                (votes[names].to_numpy() != -1).astype(np.int8),
                columns=[f"{LF_PREFIX}{n}" for n in names],
            )
            fired["page_id"] = votes["page_id"].to_numpy()
            fired["lfs_fired"] = fired[[f"{LF_PREFIX}{n}" for n in names]].sum(axis=1).astype(np.int64)
            frame = frame.merge(fired, on="page_id", how="left")
        preds = _predictions(wh, task.name, key).rename(
            columns={
                "label": PREDICTED_CLASS,
                "probability": PREDICTED_CONFIDENCE,
                "model_version": "pred_model_version",
            }
        )
        frames.append(frame.merge(preds, on="page_id", how="left"))
    if not frames:
        return pd.DataFrame(columns=["partition_key", *FEATURE_COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    for col in (PREDICTED_CLASS, PREDICTED_CONFIDENCE, "pred_model_version"):
        if col not in out.columns:
            out[col] = np.nan
    return out


@dataclass
class Reference:
    """The champion's reference frame and where it came from."""

    frame: pd.DataFrame
    model_version: str
    partitions: list[str]
    window_rows: int
    built_now: bool
    notes: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "reference_version": self.model_version,
            "reference_rows": len(self.frame),
            "reference_window_rows": self.window_rows,
            "reference_partitions": len(self.partitions),
            "reference_built_now": self.built_now,
        }


def _rescore_with_champion(
    frame: pd.DataFrame,
    store: ArtifactStore,
    task: Task,
    champion: ModelRecord,
    features_asset: str,
) -> tuple[pd.DataFrame, int]:
    """Fill predictions not made by ``champion`` by scoring those (sampled) pages with it."""
    stale = frame["pred_model_version"].astype(object).where(frame["pred_model_version"].notna(), None)
    need = (stale != champion.version).to_numpy()
    if not need.any():
        return frame, 0
    model = load_registered_model(champion.artifact_path, champion.artifact_sha256)
    frame = frame.copy()
    frame[PREDICTED_CLASS] = frame[PREDICTED_CLASS].astype(object)
    for key, idx in frame.index[need].groupby(frame.loc[need, "partition_key"]).items():
        features = store.read_frame(features_asset, key, columns=["page_id", "url", task.text_field])
        pages = features.set_index("page_id").loc[frame.loc[idx, "page_id"]].reset_index()
        scored = score_pages(model, pages, task, champion.version)
        frame.loc[idx, PREDICTED_CLASS] = scored["label"].to_numpy()
        frame.loc[idx, PREDICTED_CONFIDENCE] = scored["probability"].to_numpy()
        frame.loc[idx, "pred_model_version"] = champion.version
    return frame, int(need.sum())


def load_or_build_reference(
    store: ArtifactStore,
    wh: Warehouse,
    task: Task,
    champion: ModelRecord,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
    features_asset: str = "page_features",
    votes_asset: str = "lf_votes",
) -> Reference:
    """The cached reference of ``champion``, building (and caching) it on first use."""
    version = champion.version
    if store.exists(REFERENCE_ASSET, f"{version}.parquet"):
        info = (
            store.read_json(REFERENCE_ASSET, version)
            if store.exists(REFERENCE_ASSET, f"{version}.json")
            else {}
        )
        return Reference(
            frame=store.read_frame(REFERENCE_ASSET, version),
            model_version=version,
            partitions=list(info.get("partitions", [])),
            window_rows=int(info.get("window_rows", 0)),
            built_now=False,
            notes=list(info.get("notes", [])),
        )

    notes: list[str] = []
    keys = window_partitions(store.frame_keys(features_asset), champion.training_window)
    if not keys:
        notes.append(
            f"training window {champion.training_window!r} of {version} matches no {features_asset} "
            "partition: the reference is empty"
        )
    frame = build_drift_frame(store, wh, task, keys, features_asset=features_asset, votes_asset=votes_asset)
    window_rows = len(frame)
    if len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed).sort_index().reset_index(drop=True)
        notes.append(f"sampled {max_rows} of {window_rows} training-window pages (seed {seed})")
    if len(frame):
        frame, rescored = _rescore_with_champion(frame, store, task, champion, features_asset)
        if rescored:
            notes.append(f"{rescored} reference pages had no prediction by {version}: scored with it")
    store.write_frame(REFERENCE_ASSET, version, frame)
    store.write_json(
        REFERENCE_ASSET,
        version,
        {"partitions": keys, "window_rows": window_rows, "max_rows": max_rows, "seed": seed, "notes": notes},
    )
    return Reference(frame, version, keys, window_rows, built_now=True, notes=notes)
