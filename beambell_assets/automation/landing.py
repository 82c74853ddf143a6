"""The landing sensor: every new complete file in the landing folder becomes a partition and a run.

Convention for writers (see ``ingest/contract.py``): write to a name the contract ignores
(``.name``, ``_name``, ``*.tmp``, ``*.part``) and rename into place when complete — a rename is
atomic, so a half-written file is never seen. Writers that cannot rename are covered by
``landing_min_age_s``: a file is only picked up once its mtime is that old.

Exactly-once: the durable record of "seen" is the set of dynamic partitions. A tick adds the new
keys and requests their runs in one ``SensorResult``; each run key is the partition key, so even
a tick replayed after a daemon restart cannot start a second run for a file. Files whose partition
exists but that were never ingested and never got a run (a crash between the two) are found by
their missing run key and requested again. A burst is worked off ``landing_max_per_tick`` files
per tick, oldest name first; the cursor records progress for the UI.
"""

import json
import time
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

from beambell_assets.assets.partitions import landing_partitions
from beambell_assets.resources import LandingResource, TaskResource, WarehouseResource
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.settings import AutomationSettings

LANDING_SENSOR = "landing_sensor"


def _cursor(raw: str | None) -> dict[str, Any]:
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:  # renamed away between listing and now
        return -1.0


def _runs_with_keys(context: SensorEvaluationContext, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    records = context.instance.get_run_records(
        RunsFilter(tags={SENSOR_NAME_TAG: LANDING_SENSOR, RUN_KEY_TAG: keys})
    )
    return {r.dagster_run.tags.get(RUN_KEY_TAG, "") for r in records}


def build_landing_sensor(
    automation: AutomationSettings,
    process_job: UnresolvedAssetJobDefinition,
    ingest_job: UnresolvedAssetJobDefinition,
) -> SensorDefinition:
    """``process_job`` (ingest → predictions → drift) once a champion exists, ``ingest_job`` before."""

    @sensor(
        name=LANDING_SENSOR,
        jobs=[process_job, ingest_job],
        minimum_interval_seconds=automation.landing_interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="New landing files -> dynamic partitions -> one run each (exactly once).",
    )
    def landing_sensor(
        context: SensorEvaluationContext,
        landing: LandingResource,
        warehouse: WarehouseResource,
        task: TaskResource,
    ) -> SensorResult | SkipReason:
        state = _cursor(context.cursor)
        files = landing.files()
        known = set(context.instance.get_dynamic_partitions(landing_partitions.name))
        now = time.time()
        fresh = sorted(
            k
            for k, p in files.items()
            if k not in known and now - p.stat().st_mtime >= automation.landing_min_age_s
        )
        waiting = sum(1 for k in files if k not in known) - len(fresh)
        new = fresh[: automation.landing_max_per_tick]

        # Partitions added by an earlier tick whose run never got submitted (crash mid-tick).
        # Only partitions never ingested are candidates (the demo/CLI ingests without the sensor).
        ingested = context.instance.get_materialized_partitions(AssetKey("raw_pages"))
        unprocessed = [k for k in sorted(known) if k in files and k not in ingested]
        unprocessed = unprocessed[-automation.landing_max_per_tick :]
        started = _runs_with_keys(context, unprocessed)
        orphans = [k for k in unprocessed if k not in started]

        has_champion = ModelRegistry(warehouse.get(), task.get().name).champion() is not None
        job = (process_job if has_champion else ingest_job).name
        requests = [
            RunRequest(run_key=k, partition_key=k, job_name=job, tags={"beambell/trigger": "landing"})
            for k in [*orphans, *new]
        ]
        if not requests:
            detail = f"; {waiting} file(s) still settling" if waiting else ""
            return SkipReason(f"no new landing files ({len(files)} known){detail}")
        cursor = {
            "requested": int(state.get("requested", 0)) + len(new),
            "last_key": new[-1] if new else state.get("last_key"),
            "backlog": len(fresh) - len(new),
            "at": now,
        }
        context.log.info(
            f"{len(new)} new file(s), {len(orphans)} re-requested, "
            f"{cursor['backlog']} left for the next tick; job {job}"
        )
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[landing_partitions.build_add_request(new)] if new else [],
            cursor=json.dumps(cursor),
        )

    return landing_sensor
