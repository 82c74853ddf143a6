"""The landing sensor: every new complete file in the landing folder becomes a partition and a run.

Convention for writers (see ``ingest/contract.py``): write to a name the contract ignores
(``.name``, ``_name``, ``*.tmp``, ``*.part``) and rename into place when complete — a rename is
atomic, so a half-written file is never seen. Writers that cannot rename are covered by the settle
rule: a file is only picked up once its mtime is ``landing_min_age_s`` old *and* its size and mtime
were the same on ``landing_settle_ticks`` consecutive ticks (default 2: a writer pausing for less
than a tick interval is not read half-way). Should a file change after it was ingested anyway, the
sensor sees it against the fingerprint ingest recorded (``ingest/landing_files.py``), waits for it
to settle again and requests a re-ingest of its partition (a new version of the batch, run key
``<key>@<sha256>``), with a warning in the log.

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

from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.automation.dagster_names import RUN_KEY_TAG, SENSOR_NAME_TAG, AssetJob
from beambell_assets.defs.resources import LandingResource, TaskResource, WarehouseResource
from beambell_assets.ingest.landing_files import file_stat, fingerprint, last_ingests
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.settings import AutomationSettings

LANDING_SENSOR = "landing_sensor"


def _cursor(raw: str | None) -> dict[str, Any]:
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}


def _signature(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of the entry itself, or None when it vanished since the listing."""
    try:
        return file_stat(path)
    except FileNotFoundError:
        return None


class _Settler:
    """The settle rule over ticks: a signature must repeat ``ticks`` times in a row (kept in the cursor)."""

    def __init__(self, previous: dict[str, Any], ticks: int, min_age_s: float, now: float) -> None:
        self.previous, self.ticks, self.min_age_s, self.now = previous, ticks, min_age_s, now
        self.seen: dict[str, list[int]] = {}

    def settled(self, key: str, path: Path) -> bool:
        sig = _signature(path)
        if sig is None or self.now - sig[1] / 1e9 < self.min_age_s:
            return False
        prev = self.previous.get(key)
        repeated = isinstance(prev, list) and len(prev) == 3 and tuple(prev[:2]) == sig
        count = int(prev[2]) + 1 if repeated else 1  # type: ignore[index]
        self.seen[key] = [sig[0], sig[1], count]
        return count >= self.ticks


def _runs_with_keys(context: SensorEvaluationContext, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    records = context.instance.get_run_records(
        RunsFilter(tags={SENSOR_NAME_TAG: LANDING_SENSOR, RUN_KEY_TAG: keys})
    )
    return {r.dagster_run.tags.get(RUN_KEY_TAG, "") for r in records}


def build_landing_sensor(
    automation: AutomationSettings,
    process_job: AssetJob,
    ingest_job: AssetJob,
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
        settler = _Settler(
            state.get("settling") or {}, automation.landing_settle_ticks, automation.landing_min_age_s, now
        )
        fresh = sorted(k for k, p in files.items() if k not in known and settler.settled(k, p))
        waiting = sum(1 for k in files if k not in known) - len(fresh)
        new = fresh[: automation.landing_max_per_tick]
        changed, unchanged = _changed_since_ingest(
            context, warehouse, landing, files, known, settler, state.get("unchanged") or {}
        )

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
        ] + [
            RunRequest(
                run_key=f"{k}@{sha}",
                partition_key=k,
                job_name=job,
                tags={"beambell/trigger": "landing_changed", "beambell/file_sha256": sha},
            )
            for k, sha in changed.items()
        ]
        requested = set(new)
        cursor = {
            "requested": int(state.get("requested", 0)) + len(new),
            "last_key": new[-1] if new else state.get("last_key"),
            "backlog": len(fresh) - len(new),
            "at": now,
            # signatures still settling (new files, and ingested files that changed); dropped once used
            "settling": {k: v for k, v in settler.seen.items() if k not in requested and k not in changed},
            "unchanged": unchanged,
        }
        if not requests:
            detail = f"; {waiting} file(s) still settling" if waiting else ""
            return SensorResult(
                skip_reason=SkipReason(f"no new landing files ({len(files)} known){detail}"),
                cursor=json.dumps(cursor),
            )
        context.log.info(
            f"{len(new)} new file(s), {len(orphans)} re-requested, {len(changed)} changed, "
            f"{cursor['backlog']} left for the next tick; job {job}"
        )
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[landing_partitions.build_add_request(new)] if new else [],
            cursor=json.dumps(cursor),
        )

    return landing_sensor


def _changed_since_ingest(
    context: SensorEvaluationContext,
    warehouse: WarehouseResource,
    landing: LandingResource,
    files: dict[str, Path],
    known: set[str],
    settler: _Settler,
    unchanged: dict[str, list[int]],
) -> tuple[dict[str, str], dict[str, list[int]]]:
    """Ingested files whose content changed since: key -> new SHA-256 (settled ones only).

    Only files whose size or mtime differ from the recorded ingest are hashed; one whose content
    turns out the same (touched) is remembered in ``unchanged`` so it is not hashed every tick.
    """
    try:
        ingested = last_ingests(warehouse.get())
    except Exception as exc:  # a warehouse not migrated yet: nothing was ingested through it
        context.log.debug(f"landing_files not readable: {exc}")
        return {}, {}
    root = Path(landing.landing_dir)
    changed: dict[str, str] = {}
    still_same: dict[str, list[int]] = {}
    for key, (fp, version) in ingested.items():
        path = files.get(key)
        sig = _signature(path) if path is not None and key in known else None
        if sig is None or fp.same_stat(sig):
            continue
        if unchanged.get(key) == list(sig):
            still_same[key] = list(sig)
            continue
        if not settler.settled(key, path):  # type: ignore[arg-type]
            continue
        now = fingerprint(path, root)  # type: ignore[arg-type]
        if now.sha256 == fp.sha256:
            still_same[key] = list(sig)
            continue
        context.log.warning(
            f"landing file {key} CHANGED after it was ingested (version {version}: {fp.size_bytes} bytes, "
            f"now {now.size_bytes}); re-ingesting it as version {version + 1}. Writers should write "
            "then rename, and never rewrite a landed file."
        )
        changed[key] = now.sha256
    return changed, still_same
