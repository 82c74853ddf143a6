"""Ingest group: landing files -> raw_pages (+ quarantine) -> page_features."""

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

from beambell_assets.assets.metadata import counts_table, md_table
from beambell_assets.assets.partitions import landing_partitions
from beambell_assets.ingest.features import build_page_features
from beambell_assets.ingest.readers import read_landing_file
from beambell_assets.resources import ArtifactStoreResource, LandingResource, TaskResource, WarehouseResource
from beambell_assets.storage.warehouse import utcnow

PAGE_COLUMNS = ["page_id", "url", "title", "text", "content_hash", "scraped_at", "source_file", "source_row"]


@asset(
    partitions_def=landing_partitions,
    group_name="ingest",
    kinds={"python", "parquet", "sql"},
    check_specs=[
        AssetCheckSpec(
            "rows_accounted_for",
            asset="raw_pages",
            blocking=True,
            description="Every row read is either accepted or quarantined with a reason.",
        )
    ],
)
def raw_pages(
    context: AssetExecutionContext,
    landing: LandingResource,
    warehouse: WarehouseResource,
    artifacts: ArtifactStoreResource,
) -> MaterializeResult:
    """The landed batch, validated against the landing contract; failures go to quarantine.

    Re-running a partition replaces its pages and quarantine rows in one transaction.
    """
    key = context.partition_key
    path = landing.path_for(key)
    wh = warehouse.get()
    result = read_landing_file(
        path, key, mapping=landing.mapping(), known_content_hashes=wh.content_hashes_before(key)
    )
    accepted, quarantined = result.accepted, result.quarantined
    artifacts.get().write_frame("raw_pages", key, accepted)

    now = utcnow()
    with wh.engine.begin() as conn:
        pages = accepted[PAGE_COLUMNS].assign(text_len=accepted["text"].str.len(), ingested_at=now)
        wh.replace_partition("pages", key, pages, conn=conn)
        wh.replace_partition("quarantine", key, quarantined.assign(quarantined_at=now), conn=conn)

    balanced = len(accepted) + len(quarantined) == result.rows_read
    metadata = {
        "source_file": MetadataValue.path(str(path)),
        "rows_read": result.rows_read,
        "accepted": len(accepted),
        "quarantined": len(quarantined),
        "dagster/row_count": len(accepted),
    }
    if len(quarantined):
        metadata["quarantine_by_reason"] = counts_table(quarantined["reason"], "reason")
        metadata["quarantine_sample"] = md_table(
            quarantined[["source_row", "reason", "detail", "url"]].head(20)
        )
    if len(accepted):
        metadata["preview"] = md_table(accepted[["url", "title"]].head(10))
    return MaterializeResult(
        metadata=metadata,
        check_results=[
            AssetCheckResult(
                check_name="rows_accounted_for",
                passed=balanced,
                severity=AssetCheckSeverity.ERROR,
                metadata={
                    "rows_read": result.rows_read,
                    "accepted": len(accepted),
                    "quarantined": len(quarantined),
                },
            )
        ],
    )


@asset(partitions_def=landing_partitions, group_name="ingest", kinds={"python", "parquet"}, deps=[raw_pages])
def page_features(
    context: AssetExecutionContext, artifacts: ArtifactStoreResource, task: TaskResource
) -> MaterializeResult:
    """Main text, domain (public-suffix aware), URL path and page-structure counts per page.

    These columns are what labeling functions and the classifier read.
    """
    key = context.partition_key
    store = artifacts.get()
    features = build_page_features(store.read_frame("raw_pages", key))
    current_task = task.get()
    if current_task.prepare is not None:
        features = current_task.prepare(features)
    store.write_frame("page_features", key, features)
    metadata: dict[str, object] = {"dagster/row_count": len(features), "pages": len(features)}
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
    return MaterializeResult(metadata=metadata)
