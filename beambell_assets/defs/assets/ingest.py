"""Ingest group: landing files -> raw_pages (+ quarantine) -> page_features.

``raw_pages`` applies two gates, both blocking asset checks: the landing contract
(``ingest/readers.py``: every row accepted or quarantined with a reason) and the Great
Expectations suite (``ingest/quality.py``): rows failing an expectation move to quarantine
too, so nothing is dropped; a batch that fails as a whole (schema, too many bad rows) stops the
run before any LF or model sees it.
"""

import time
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from beambell_assets.defs.assets.metadata import counts_table, md_table, rollup
from beambell_assets.defs.assets.partitions import batch_backfill_policy, landing_partitions
from beambell_assets.defs.executors import WAREHOUSE_RETRY_POLICY, retry_only_transient
from beambell_assets.defs.resources import (
    ArtifactStoreResource,
    LandingResource,
    TaskResource,
    WarehouseResource,
)
from beambell_assets.ingest.features import build_page_features
from beambell_assets.ingest.landing_files import check_unchanged, fingerprint, record_ingest
from beambell_assets.ingest.quality import QualityOutcome, validate_pages
from beambell_assets.ingest.readers import read_landing_file
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.training.encoder import configured_encoder, embedding_frame

PAGE_COLUMNS = ["page_id", "url", "title", "text", "content_hash", "scraped_at", "source_file", "source_row"]


def _ingest_metadata(
    path: Path,
    version: Any,
    before: Any,
    balance: dict[str, int],
    accepted: pd.DataFrame,
    quarantined: pd.DataFrame,
) -> dict[str, Any]:
    """One batch's metadata: the file and its version, the row balance, quarantine and a preview."""
    metadata: dict[str, Any] = {
        "source_file": MetadataValue.path(str(path)),
        "file_version": version,
        "file_size_bytes": before.size_bytes,
        "file_sha256": before.sha256,
        **balance,
        "dagster/row_count": len(accepted),
    }
    if len(quarantined):
        metadata["quarantine_by_reason"] = counts_table(quarantined["reason"], "reason")
        metadata["quarantine_sample"] = md_table(
            quarantined[["source_row", "reason", "detail", "url"]].head(20)
        )
    if len(accepted):
        metadata["preview"] = md_table(accepted[["url", "title"]].head(10))
    return metadata


def _ingest_partition(
    key: str, landing: LandingResource, wh: Warehouse, store: ArtifactStore
) -> tuple[dict[str, Any], dict[str, Any], QualityOutcome]:
    """Read, gate and store one landed batch; returns (metadata, balance numbers, GX outcome)."""
    path = landing.path_for(key)
    root = Path(landing.landing_dir)
    before = fingerprint(path, root)
    result = read_landing_file(
        path,
        key,
        mapping=landing.mapping(),
        known_content_hashes=wh.content_hashes_before(key),
        root=landing.landing_dir,
    )
    quality = validate_pages(result.accepted)
    accepted = quality.passed
    quarantined = pd.concat(
        [df for df in (result.quarantined, quality.failed) if len(df)] or [result.quarantined],
        ignore_index=True,
    )
    check_unchanged(path, root, before)  # a writer still appending: retried, never half-read
    store.write_frame("raw_pages", key, accepted)

    now = utcnow()
    with wh.engine.begin() as conn:
        pages = accepted[PAGE_COLUMNS].assign(text_len=accepted["text"].str.len(), ingested_at=now)
        wh.replace_partition("pages", key, pages, conn=conn)
        wh.replace_partition("quarantine", key, quarantined.assign(quarantined_at=now), conn=conn)
        version = record_ingest(wh, conn, key, before, result.rows_read)

    balance = {
        "rows_read": result.rows_read,
        "accepted": len(accepted),
        "quarantined": len(quarantined),
        "quarantined_by_quality_suite": len(quality.failed),
    }
    return _ingest_metadata(path, version, before, balance, accepted, quarantined), balance, quality


@asset(
    partitions_def=landing_partitions,
    backfill_policy=batch_backfill_policy,
    group_name="ingest",
    kinds={"python", "parquet", "sql"},
    retry_policy=WAREHOUSE_RETRY_POLICY,
    check_specs=[
        AssetCheckSpec(
            "rows_accounted_for",
            asset="raw_pages",
            blocking=True,
            description="Every row read is either accepted or quarantined with a reason.",
        ),
        AssetCheckSpec(
            "page_quality",
            asset="raw_pages",
            blocking=True,
            description=(
                "Great Expectations suite on the accepted pages (schema, nulls, URL format, "
                "uniqueness, length bounds, language/encoding sanity). Failing rows are quarantined; "
                "the check fails when the batch as a whole is bad."
            ),
        ),
    ],
)
def raw_pages(
    context: AssetExecutionContext,
    landing: LandingResource,
    warehouse: WarehouseResource,
    artifacts: ArtifactStoreResource,
) -> MaterializeResult:
    """The landed batch, validated against the landing contract and the GX suite.

    Re-running a partition replaces its pages and quarantine rows in one transaction.
    """
    wh, store = warehouse.get(), artifacts.get()
    per_partition: dict[str, dict[str, Any]] = {}
    balances: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, QualityOutcome] = {}
    with retry_only_transient():
        for key in context.partition_keys:
            per_partition[key], balances[key], outcomes[key] = _ingest_partition(key, landing, wh, store)

    return MaterializeResult(
        metadata=rollup(per_partition, totals=("rows_read", "accepted", "quarantined", "dagster/row_count")),
        check_results=_ingest_checks(balances, outcomes),
    )


def _quality_metadata(outcomes: dict[str, QualityOutcome], bad: dict[str, list[str]]) -> dict[str, Any]:
    """The GX suite's verdict: failing batches, quarantined rows; one batch's expectations in full."""
    md: dict[str, Any] = {
        "batches_failing": len(bad),
        "rows_quarantined_by_suite": sum(len(o.failed) for o in outcomes.values()),
    }
    if len(outcomes) == 1:
        only = next(iter(outcomes.values()))
        md["expectations"] = md_table(only.expectations)
        md.update({k: v for k, v in only.statistics.items() if isinstance(v, int | float)})
    if bad:
        md["problems"] = MetadataValue.md("\n".join(f"- **{k}**: {'; '.join(p)}" for k, p in bad.items()))
    return md


def _ingest_checks(
    balances: dict[str, dict[str, Any]], outcomes: dict[str, QualityOutcome]
) -> list[AssetCheckResult]:
    """``rows_accounted_for`` (every row read is accepted or quarantined) and ``page_quality``."""
    unbalanced = [k for k, b in balances.items() if b["accepted"] + b["quarantined"] != b["rows_read"]]
    bad = {k: o.batch_problems for k, o in outcomes.items() if not o.batch_ok}
    totals = {k: sum(b[k] for b in balances.values()) for k in ("rows_read", "accepted", "quarantined")}
    return [
        AssetCheckResult(
            check_name="rows_accounted_for",
            passed=not unbalanced,
            severity=AssetCheckSeverity.ERROR,
            metadata={**totals, "unbalanced_partitions": ", ".join(unbalanced) or "none"},
        ),
        AssetCheckResult(
            check_name="page_quality",
            passed=not bad,
            severity=AssetCheckSeverity.ERROR,
            metadata=_quality_metadata(outcomes, bad),
        ),
    ]


@asset(
    partitions_def=landing_partitions,
    backfill_policy=batch_backfill_policy,
    group_name="ingest",
    kinds={"python", "parquet"},
    deps=[raw_pages],
)
def page_features(
    context: AssetExecutionContext, artifacts: ArtifactStoreResource, task: TaskResource
) -> MaterializeResult:
    """Main text, domain (public-suffix aware), URL path and page-structure counts per page.

    These columns are what labeling functions and the classifier read.
    """
    store = artifacts.get()
    current_task = task.get()
    encoder = configured_encoder()
    per_partition: dict[str, dict[str, Any]] = {}
    for key in context.partition_keys:
        features = current_task.prepared(build_page_features(store.read_frame("raw_pages", key)))
        store.write_frame("page_features", key, features)
        metadata: dict[str, Any] = {"dagster/row_count": len(features), "pages": len(features)}
        if encoder:  # sentence embeddings, once per page, kept with the features (encoder.py)
            t0 = time.perf_counter()
            texts = features[current_task.text_field].fillna("").astype(str).tolist()
            store.write_frame("page_embeddings", key, embedding_frame(features["page_id"], texts, encoder))
            metadata["embedding_ms_per_page"] = 1000 * (time.perf_counter() - t0) / max(len(features), 1)
        if len(features):
            metadata.update(
                {
                    "domains": int(features["registered_domain"].nunique()),
                    "top_domains": counts_table(features["registered_domain"].head(100_000), "domain"),
                    "text_len_median": float(features["text_len"].median()),
                    "text_len_p95": float(features["text_len"].quantile(0.95)),
                    "share_with_html": float(pd.to_numeric(features["has_html"]).mean()),
                }
            )
        per_partition[key] = metadata
    return MaterializeResult(metadata=rollup(per_partition, totals=("dagster/row_count", "pages")))
