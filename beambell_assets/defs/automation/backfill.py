"""Backfills of landed history: through the daemon (as the UI does) or in this process.

Both honour the assets' ``BackfillPolicy``: partitions go in contiguous chunks of up to
``BACKFILL_PARTITIONS_PER_RUN`` per run. Re-running a partition replaces its rows in the
warehouse and its artifact frames, so a backfill never duplicates anything.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from dagster import AssetKey, DagsterInstance, Definitions

# Dagster has no public Python API to queue an asset backfill (the UI uses GraphQL, whose Python
# client has no backfill call): this is the one private import left, pinned by the backfill tests.
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

from beambell_assets.defs.assets.partitions import BACKFILL_PARTITIONS_PER_RUN, landing_partitions
from beambell_assets.defs.automation.dagster_names import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)


def contiguous_chunks(ordered: Sequence[str], wanted: Sequence[str], size: int) -> list[list[str]]:
    """Split ``wanted`` into runs of neighbours in partition order, at most ``size`` long."""
    want = set(wanted)
    chunks: list[list[str]] = []
    current: list[str] = []
    for key in ordered:
        if key in want and len(current) < size:
            current.append(key)
            continue
        if current:
            chunks.append(current)
        current = [key] if key in want else []
    if current:
        chunks.append(current)
    return chunks


def check_partitions(instance: DagsterInstance, partitions: Sequence[str] | None) -> list[str]:
    """The landed partitions a backfill of ``partitions`` (``None``: all) covers, in order.

    Raises ``ValueError`` when nothing has landed or a key is not a landed partition: a backfill
    of those would be queued and then fail (or do nothing) in the daemon, far from the typo.
    """
    ordered = instance.get_dynamic_partitions(landing_partitions.name)
    if not ordered:
        raise ValueError("no partition has landed yet: land files (or run `beambell demo`) first")
    wanted = list(partitions) if partitions is not None else list(ordered)
    unknown = sorted(set(wanted) - set(ordered))
    if unknown:
        raise ValueError(
            f"unknown partition(s): {', '.join(unknown[:5])}; landed: {len(ordered)}, "
            f"from {ordered[0]} to {ordered[-1]}"
        )
    if not wanted:
        raise ValueError("no partition given")
    return [k for k in ordered if k in set(wanted)]


def submit_backfill(
    defs: Definitions,
    instance: DagsterInstance,
    assets: Sequence[str],
    partitions: Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """Queue an asset backfill for the daemon, exactly as the UI's "Materialize selected" does."""
    backfill_id = uuid.uuid4().hex[:8]
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=defs.resolve_asset_graph(),
        partition_names=list(partitions) if partitions is not None else None,
        asset_selection=[AssetKey(a) for a in assets],
        backfill_timestamp=time.time(),
        tags={"beambell/trigger": "backfill"},
        dynamic_partitions_store=instance,
        all_partitions=partitions is None,
        title=title or f"beambell backfill of {len(partitions) if partitions else 'all'} partition(s)",
        description="submitted by `beambell backfill`",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill_id


def wait_for_backfill(instance: DagsterInstance, backfill_id: str, timeout_s: float) -> PartitionBackfill:
    deadline = time.monotonic() + timeout_s
    while True:
        backfill = instance.get_backfill(backfill_id)
        if backfill is None:
            raise KeyError(f"no backfill {backfill_id}")
        if backfill.status not in (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING):
            return backfill
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"backfill {backfill_id} still {backfill.status.value} after {timeout_s:.0f}s "
                "(is the daemon running? `./dev.sh ui` starts it)"
            )
        time.sleep(1.0)


def run_backfill_in_process(
    defs: Definitions,
    instance: DagsterInstance,
    job_name: str,
    partitions: Sequence[str] | None = None,
    chunk_size: int = BACKFILL_PARTITIONS_PER_RUN,
    run_config: dict[str, Any] | None = None,
) -> list[Any]:
    """Run ``job_name`` over the partitions here, one run per chunk; returns the run results."""
    ordered = instance.get_dynamic_partitions(landing_partitions.name)
    wanted = check_partitions(instance, partitions)
    job = defs.resolve_job_def(job_name)
    results = []
    for chunk in contiguous_chunks(ordered, wanted, chunk_size):
        results.append(
            job.execute_in_process(
                instance=instance,
                run_config=run_config,
                tags={
                    ASSET_PARTITION_RANGE_START_TAG: chunk[0],
                    ASSET_PARTITION_RANGE_END_TAG: chunk[-1],
                    "beambell/trigger": "backfill",
                },
                raise_on_error=False,
            )
        )
    return results
