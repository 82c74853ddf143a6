"""Monitoring group: per-batch drift of pages, LF firing and predictions against the champion's data.

``drift_report`` compares each landed partition with a sample of the current champion's training
window (``monitoring/reference.py``, cached per champion) using Evidently (``monitoring/drift.py``),
keeps Evidently's HTML report as an artifact, one ``drift_reports`` row per partition, and, when
the drift is severe, a ``retrain_requests`` row that the training side consumes.
"""

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from beambell_assets.assets.metadata import md_table
from beambell_assets.assets.partitions import batch_backfill_policy, landing_partitions
from beambell_assets.labeling.task import Task
from beambell_assets.monitoring.drift import DriftResult, DriftThresholds, compute_drift, prepare_frames
from beambell_assets.monitoring.reference import Reference, build_drift_frame, load_or_build_reference
from beambell_assets.monitoring.retrain_requests import (
    drift_request_id,
    request_retrain,
    withdraw_pending_request,
)
from beambell_assets.resources import ArtifactStoreResource, TaskResource, WarehouseResource
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow

REPORTS_ASSET = "drift"
NO_REFERENCE = "no reference yet: no champion model for this task, so there is nothing to drift from"


class DriftConfig(Config):
    """Reference size and the severity thresholds (see ``monitoring/drift.py``)."""

    max_reference_rows: int = 5_000
    seed: int = 0
    top_k_domains: int = 20
    moderate_share: float = 0.25
    severe_share: float = 0.5
    lf_moderate_share: float = 0.2
    lf_severe_share: float = 0.5
    min_rows: int = 30

    def thresholds(self) -> DriftThresholds:
        return DriftThresholds(
            moderate_share=self.moderate_share,
            severe_share=self.severe_share,
            lf_moderate_share=self.lf_moderate_share,
            lf_severe_share=self.lf_severe_share,
            min_rows=self.min_rows,
        )


def _report_link(path: Any) -> dict[str, Any]:
    """Path metadata, plus a file:// URL the UI makes clickable when the store is local."""
    meta: dict[str, Any] = {"report": MetadataValue.path(str(path))}
    if getattr(path, "protocol", "") in ("", "file", "local"):
        meta["report_url"] = MetadataValue.url(Path(str(path.path)).resolve().as_uri())
    return meta


def _drift_one(
    key: str,
    task: Task,
    wh: Warehouse,
    store: ArtifactStore,
    reference: Reference,
    config: DriftConfig,
) -> tuple[DriftResult, Any]:
    if not store.exists("page_features", f"{key}.parquet"):
        raise Failure(f"page_features/{key} is missing: materialize page_features for {key} first")
    current = build_drift_frame(store, wh, task, [key])
    cur, ref, roles = prepare_frames(current, reference.frame, top_k_domains=config.top_k_domains)
    result = compute_drift(
        cur,
        ref,
        numeric=roles["numeric"],
        categorical=roles["categorical"],
        lf_columns=roles["lf"],
        thresholds=config.thresholds(),
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


def _record(
    wh: Warehouse,
    task: Task,
    key: str,
    result: DriftResult | None,
    reference: Reference | None,
    path: Any,
) -> bool:
    """Upsert the partition's drift_reports row and raise/withdraw its retrain request."""
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


@asset(
    partitions_def=landing_partitions,
    group_name="monitoring",
    kinds={"evidently", "sql"},
    deps=[AssetKey("page_features"), AssetKey("lf_votes"), AssetKey("predictions")],
    backfill_policy=batch_backfill_policy,
    check_specs=[
        AssetCheckSpec(
            "drift_verdict",
            asset="drift_report",
            description="Fails (ERROR) when a batch drifted severely from the champion's training data.",
        )
    ],
)
def drift_report(
    context: AssetExecutionContext,
    config: DriftConfig,
    task: TaskResource,
    warehouse: WarehouseResource,
    artifacts: ArtifactStoreResource,
) -> MaterializeResult:
    """Drift of each batch from the champion's training window: features, domains, LF firing, predictions.

    One run may cover several partitions (backfills); each gets its own report, warehouse row and,
    if severe, retrain request. Re-running a partition replaces its row and never duplicates the
    request.
    """
    current_task, wh, store = task.get(), warehouse.get(), artifacts.get()
    champion = ModelRegistry(wh, current_task.name).champion()
    reference = (
        load_or_build_reference(
            store, wh, current_task, champion, max_rows=config.max_reference_rows, seed=config.seed
        )
        if champion is not None
        else None
    )
    keys = list(context.partition_keys)
    per_partition: list[dict[str, Any]] = []
    last: tuple[DriftResult, Any] | None = None
    for key in keys:
        if reference is None:
            _record(wh, current_task, key, None, None, None)
            per_partition.append({"partition": key, "severity": "none", "note": NO_REFERENCE})
            continue
        result, path = _drift_one(key, current_task, wh, store, reference, config)
        retrain = _record(wh, current_task, key, result, reference, path)
        context.log.info(f"{key}: {result.severity} drift ({result.n_drifted}/{result.n_columns} columns)")
        per_partition.append(
            {
                "partition": key,
                "severity": result.severity,
                "share_drifted": result.share_drifted,
                "n_drifted": result.n_drifted,
                "n_current": result.n_current,
                "retrain_requested": retrain,
                "report": str(path),
            }
        )
        last = (result, path)

    table = pd.DataFrame(per_partition)
    worst = max(table["severity"], key=("none", "moderate", "severe").index)
    severe = table.loc[table["severity"] == "severe", "partition"].tolist()
    metadata: dict[str, Any] = {"task": current_task.name, "partitions": len(keys), "severity": worst}
    check_meta: dict[str, Any] = {"severity": worst, "severe_partitions": ", ".join(severe) or "none"}
    if reference is None:
        metadata["reference"] = NO_REFERENCE
        check_meta["note"] = NO_REFERENCE
    else:
        metadata.update(reference.metadata())
        check_meta["reference_version"] = reference.model_version
    if last is not None:
        result, path = last
        numbers = {
            "share_drifted": float(result.share_drifted),
            "n_drifted": result.n_drifted,
            "n_columns": result.n_columns,
            "retrain_recommended": result.retrain_recommended,
            "current_rows": result.n_current,
        }
        metadata.update(numbers)
        check_meta.update(numbers)
        metadata.update(_report_link(path))
        metadata["group_shares"] = MetadataValue.json(
            {k: round(v, 4) for k, v in result.group_shares.items()}
        )
        metadata["drifted_columns"] = md_table(
            result.table[result.table["drifted"]][
                ["column", "kind", "stattest", "score", "current", "reference"]
            ],
            floatfmt=".4g",
        )
        metadata["all_columns"] = md_table(result.table, max_rows=120, floatfmt=".4g")
        metadata["notes"] = "; ".join(result.notes) or "none"
        metadata["seconds"] = MetadataValue.json(result.seconds)
    if len(keys) > 1:
        metadata["by_partition"] = md_table(table)
        check_meta["by_partition"] = md_table(table)
    return MaterializeResult(
        metadata=metadata,
        check_results=[
            AssetCheckResult(
                check_name="drift_verdict",
                passed=not severe,
                severity=AssetCheckSeverity.ERROR if severe else AssetCheckSeverity.WARN,
                metadata=check_meta,
                description=(
                    f"severe drift in {', '.join(severe)}"
                    if severe
                    else f"worst severity in this run: {worst}"
                ),
            )
        ],
    )


monitoring_assets = [drift_report]
