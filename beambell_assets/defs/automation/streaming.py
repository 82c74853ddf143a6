"""The stream's automation: a health sensor that fails loudly, and the roll-up into batches.

* ``stream_health_sensor`` (every 30 s) reads the stream's status. When a stream that has run is
  down (no heartbeat for ``down_after_s``) or its backlog exceeds ``max_lag``, the tick **fails**
  with the reason, which the UI shows in red on the sensor and in its tick history. While healthy it
  refreshes ``stream_predictions`` / ``stream_learned_state`` every ``refresh_s`` (run keys per time
  bucket, so a replayed tick requests nothing twice). A stream that never ran is a skip, not an
  alarm (the real-time path is optional).
* ``stream_rollup_schedule`` (cron ``BEAMBELL_STREAM_ROLLUP_CRON``, default every 15 minutes)
  materializes ``stream_rollup``: the stream's new pages become a landing batch, which the landing
  sensor ingests like any other.
"""

from __future__ import annotations

import time
from typing import Any

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from beambell_assets.defs.resources import StreamResource, TaskResource
from beambell_assets.settings import StreamSettings

STREAM_HEALTH_SENSOR = "stream_health_sensor"
# Jobs are typed ``Any``: define_asset_job's return type is not exported by Dagster's public API.


class StreamUnhealthy(RuntimeError):
    """Raised by the health sensor: the tick fails and the UI shows why."""


def build_stream_health_sensor(
    monitor_job: Any,
    *,
    name: str = STREAM_HEALTH_SENSOR,
    interval_s: int = 30,
    refresh_s: int = 300,
) -> SensorDefinition:
    @sensor(
        name=name,
        job=monitor_job,
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Fails when the stream is down or its lag grows; refreshes the stream's assets.",
    )
    def stream_health_sensor(
        context: SensorEvaluationContext, task: TaskResource, stream: StreamResource
    ) -> RunRequest | SkipReason:
        from beambell_assets.streaming.status import stream_status

        status = stream_status(stream.settings(), task.get().name)
        if status.reachable and status.heartbeat_age_s is None:
            return SkipReason(f"no stream has run for {status.names.pages} (start it: `beambell stream`)")
        problems = status.problems(stream.down_after_s, stream.max_lag)
        if problems:
            raise StreamUnhealthy("; ".join(problems))
        bucket = int(time.time() // refresh_s)
        return RunRequest(run_key=f"{name}:{bucket}", tags={"beambell/trigger": "stream_health"})

    return stream_health_sensor


def build_stream_rollup_schedule(
    stream: StreamSettings, rollup_job: Any, name: str = "stream_rollup_schedule"
) -> ScheduleDefinition:
    return ScheduleDefinition(
        name=name,
        job=rollup_job,
        cron_schedule=stream.rollup_cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        tags={"beambell/trigger": "cron"},
        description=f"Roll the stream's new pages into a landing batch ({stream.rollup_cron}, UTC).",
    )
