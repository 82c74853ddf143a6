"""Monitoring group: per-batch drift of pages, LF firing and predictions against the champion's data.

``drift_report`` compares each landed partition with a sample of the current champion's training
window (``monitoring/reference.py``, cached per champion) using Evidently (``monitoring/drift.py``),
keeps Evidently's HTML report as an artifact, one ``drift_reports`` row per partition, and, when
the drift is severe, a ``retrain_requests`` row that the training side consumes. Built per task by
:func:`build_drift_report`; the steps are ``monitoring/drift_batch.py``.
"""

from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from beambell_assets.defs.assets.metadata import md_table
from beambell_assets.defs.assets.partitions import batch_backfill_policy, landing_partitions
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.labeling.task import Task
from beambell_assets.monitoring.drift import DriftResult, DriftThresholds
from beambell_assets.monitoring.drift_batch import (
    NO_REFERENCE,
    MissingFeaturesError,
    drift_partition,
    headline_numbers,
    partition_row,
    record_drift,
    worst_severity,
)
from beambell_assets.monitoring.reference import Reference, load_or_build_reference
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse


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


def _last_report_metadata(result: DriftResult, path: Any) -> dict[str, Any]:
    """What the asset shows of the run's last partition: numbers, report, columns, notes, timings."""
    return {
        **headline_numbers(result),
        **_report_link(path),
        "group_shares": MetadataValue.json({k: round(v, 4) for k, v in result.group_shares.items()}),
        "drifted_columns": md_table(
            result.table[result.table["drifted"]][
                ["column", "kind", "stattest", "score", "current", "reference"]
            ],
            floatfmt=".4g",
        ),
        "all_columns": md_table(result.table, max_rows=120, floatfmt=".4g"),
        "notes": "; ".join(result.notes) or "none",
        "seconds": MetadataValue.json(result.seconds),
    }


def _drift_result(
    task_name: str, table: pd.DataFrame, reference: Reference | None, last: tuple[DriftResult, Any] | None
) -> MaterializeResult:
    """The run's metadata and its ``drift_verdict`` check (ERROR when any partition drifted severely)."""
    worst = worst_severity(table["severity"].tolist())
    severe = table.loc[table["severity"] == "severe", "partition"].tolist()
    metadata: dict[str, Any] = {"task": task_name, "partitions": len(table), "severity": worst}
    check: dict[str, Any] = {"severity": worst, "severe_partitions": ", ".join(severe) or "none"}
    if reference is None:
        metadata["reference"] = check["note"] = NO_REFERENCE
    else:
        metadata.update(reference.metadata())
        check["reference_version"] = reference.model_version
    if last is not None:
        metadata.update(_last_report_metadata(*last))
        check.update(headline_numbers(last[0]))
    if len(table) > 1:
        metadata["by_partition"] = check["by_partition"] = md_table(table)
    verdict = f"severe drift in {', '.join(severe)}" if severe else f"worst severity in this run: {worst}"
    return MaterializeResult(
        metadata=metadata,
        check_results=[
            AssetCheckResult(
                check_name="drift_verdict",
                passed=not severe,
                severity=AssetCheckSeverity.ERROR if severe else AssetCheckSeverity.WARN,
                metadata=check,
                description=verdict,
            )
        ],
    )


def _reference(
    task: Task, wh: Warehouse, store: ArtifactStore, champion: Any, config: DriftConfig, names: dict[str, str]
) -> Reference:
    """The champion's drift reference (cached per champion), over this task's features and votes."""
    rows, seed = config.max_reference_rows, config.seed
    return load_or_build_reference(store, wh, task, champion, max_rows=rows, seed=seed, **names)


def _drift_report(spec: WeakSupervisionSpec, context: AssetExecutionContext, config: DriftConfig) -> Any:
    task, wh, store = spec.parts(context)
    names = {"features_asset": spec.features_asset, "votes_asset": spec.name("lf_votes")}
    champion = ModelRegistry(wh, task.name).champion()
    reference = _reference(task, wh, store, champion, config, names) if champion is not None else None
    rows: list[dict[str, Any]] = []
    last: tuple[DriftResult, Any] | None = None
    for key in context.partition_keys:
        if reference is None:
            record_drift(wh, task, key, None, None, None)
            rows.append(partition_row(key, None, False, None))
            continue
        try:
            last = drift_partition(
                key,
                task,
                wh,
                store,
                reference,
                config.thresholds(),
                top_k_domains=config.top_k_domains,
                **names,
            )
        except MissingFeaturesError as e:
            raise Failure(str(e)) from e
        retrain = record_drift(wh, task, key, last[0], reference, last[1])
        context.log.info(f"{key}: {last[0].severity} drift ({last[0].n_drifted}/{last[0].n_columns} columns)")
        rows.append(partition_row(key, last[0], retrain, last[1]))
    return _drift_result(task.name, pd.DataFrame(rows), reference, last)


def build_drift_report(spec: WeakSupervisionSpec | None = None) -> AssetsDefinition:
    """``<prefix>drift_report`` for one task, over its features, votes and predictions."""
    spec = spec or WeakSupervisionSpec()
    n = spec.name

    @asset(
        name=n("drift_report"),
        partitions_def=landing_partitions,
        group_name=spec.group("monitoring"),
        kinds={"evidently", "sql"},
        deps=[AssetKey(spec.features_asset), AssetKey(n("lf_votes")), AssetKey(n("predictions"))],
        backfill_policy=batch_backfill_policy,
        required_resource_keys=spec.resource_keys,
        check_specs=[
            AssetCheckSpec(
                "drift_verdict",
                asset=n("drift_report"),
                description="Fails (ERROR) when a batch drifted severely from the champion's training data.",
            )
        ],
    )
    def drift_report(context: AssetExecutionContext, config: DriftConfig) -> MaterializeResult:
        """Drift of each batch from the champion's training window: features, domains, LF firing, predictions.

        One run may cover several partitions (backfills); each gets its own report, warehouse row and,
        if severe, retrain request. Re-running a partition replaces its row and never duplicates the
        request.
        """
        return _drift_report(spec, context, config)

    return drift_report
