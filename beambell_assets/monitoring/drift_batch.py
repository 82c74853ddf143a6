"""One batch's drift against the champion's reference, and its record in the warehouse.

Plain steps of the ``drift_report`` asset (``defs/assets/monitoring.py``): the Evidently report of
one partition (kept as HTML), its ``drift_reports`` row, and the retrain request it raises or
withdraws. Generic over the task: the features and votes asset names come from the caller.
"""

from __future__ import annotations

import json
import math
from typing import Any

from beambell_assets.labeling.task import Task
from beambell_assets.monitoring.drift import DriftResult, DriftThresholds, compute_drift, prepare_frames
from beambell_assets.monitoring.reference import Reference, build_drift_frame
from beambell_assets.monitoring.retrain_requests import (
    drift_request_id,
    request_retrain,
    withdraw_pending_request,
)
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow

#: Where the HTML reports go: ``drift/<task>/<partition>.html``.
REPORTS_ASSET = "drift"
NO_REFERENCE = "no reference yet: no champion model for this task, so there is nothing to drift from"
SEVERITIES = ("none", "moderate", "severe")


class MissingFeaturesError(FileNotFoundError):
    """The partition has no features to compare yet."""


def drift_partition(
    key: str,
    task: Task,
    wh: Warehouse,
    store: ArtifactStore,
    reference: Reference,
    thresholds: DriftThresholds,
    *,
    top_k_domains: int = 20,
    features_asset: str = "page_features",
    votes_asset: str = "lf_votes",
) -> tuple[DriftResult, Any]:
    """Compare one partition with the reference; write its HTML report. (result, report path)."""
    if not store.exists(features_asset, f"{key}.parquet"):
        raise MissingFeaturesError(
            f"{features_asset}/{key} is missing: materialize {features_asset} for {key} first"
        )
    current = build_drift_frame(
        store, wh, task, [key], features_asset=features_asset, votes_asset=votes_asset
    )
    cur, ref, roles = prepare_frames(current, reference.frame, top_k_domains=top_k_domains)
    result = compute_drift(
        cur,
        ref,
        numeric=roles["numeric"],
        categorical=roles["categorical"],
        lf_columns=roles["lf"],
        thresholds=thresholds,
    )
    versions = sorted(set(current["pred_model_version"].dropna().astype(str)))
    if versions and versions != [reference.model_version]:
        result.notes.append(
            f"batch predictions come from {', '.join(versions)}, the reference from {reference.model_version}"
        )
    result.notes.extend(reference.notes)
    path = store.write_bytes(REPORTS_ASSET, f"{task.name}/{key}.html", result.html().encode("utf-8"))
    return result, path


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return str(value)


def record_drift(
    wh: Warehouse,
    task: Task,
    key: str,
    result: DriftResult | None,
    reference: Reference | None,
    path: Any,
) -> bool:
    """Upsert the partition's drift_reports row and raise/withdraw its retrain request; whether a
    retrain was requested. ``result`` None: no reference yet (severity none)."""
    request_id = drift_request_id(task.name, key)
    retrain = bool(result is not None and result.retrain_recommended)
    if retrain and result is not None:
        request_retrain(
            wh,
            task.name,
            "drift",
            request_id=request_id,
            partition_key=key,
            detail=(
                f"{result.severity} drift against {reference.model_version if reference else '?'}: "
                f"{result.n_drifted}/{result.n_columns} columns ({', '.join(result.drifted_columns[:10])})"
            ),
        )
    else:
        withdraw_pending_request(wh, request_id)
    summary = result.summary() if result is not None else {"severity": "none", "notes": [NO_REFERENCE]}
    if result is not None:
        summary["table"] = result.table.astype(object).where(result.table.notna(), None).to_dict("records")
    wh.upsert(
        "drift_reports",
        [
            {
                "partition_key": key,
                "task": task.name,
                "reference_version": reference.model_version if reference else None,
                "n_current": result.n_current if result else 0,
                "n_reference": result.n_reference if result else 0,
                "share_drifted": result.share_drifted if result else 0.0,
                "n_drifted": result.n_drifted if result else 0,
                "severity": result.severity if result else "none",
                "retrain_requested": int(retrain),
                "report_path": str(path) if path is not None else None,
                "summary_json": json.dumps(summary, default=_json_default),
                "computed_at": utcnow(),
            }
        ],
        key=["partition_key", "task"],
    )
    return retrain


def partition_row(key: str, result: DriftResult | None, retrain: bool, path: Any) -> dict[str, Any]:
    """One row of the run's per-partition table."""
    if result is None:
        return {"partition": key, "severity": "none", "note": NO_REFERENCE}
    return {
        "partition": key,
        "severity": result.severity,
        "share_drifted": result.share_drifted,
        "n_drifted": result.n_drifted,
        "n_current": result.n_current,
        "retrain_requested": retrain,
        "report": str(path),
    }


def worst_severity(severities: list[str]) -> str:
    """The most severe of the run's partitions (``none`` < ``moderate`` < ``severe``)."""
    return max(severities, key=SEVERITIES.index)


def headline_numbers(result: DriftResult) -> dict[str, Any]:
    """The last partition's numbers, for the asset's and the check's metadata."""
    return {
        "share_drifted": float(result.share_drifted),
        "n_drifted": result.n_drifted,
        "n_columns": result.n_columns,
        "retrain_recommended": result.retrain_recommended,
        "current_rows": result.n_current,
    }
