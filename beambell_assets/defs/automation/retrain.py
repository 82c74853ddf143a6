"""Retraining without a human: three triggers, one run over the training window each time.

* ``retrain_sensor`` — drift (``retrain_requests`` rows written by ``drift_report``), enough new
  gold labels, or no champion yet while batches are already ingested (the bootstrap). It never
  queues a retrain behind one that is already queued or running, and its run keys make a trigger
  fire once.
* ``retrain_schedule`` — the periodic retrain (cron from ``BEAMBELL_RETRAIN_CRON``, UTC).
* ``rescore_on_promotion`` — when ``deployed_model`` names a new champion, the newest partitions
  are re-scored with it in one run, so the warehouse never mixes a retired model's predictions in.

Whether a retrained model is *promoted* is not decided here: the promotion gates are.
"""

import hashlib
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    sensor,
)

from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.automation.dagster_names import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    AssetJob,
)
from beambell_assets.defs.resources import (
    ArtifactStoreResource,
    GoldFilesResource,
    TaskResource,
    WarehouseResource,
)
from beambell_assets.feedback.gold import new_gold_count
from beambell_assets.monitoring.retrain_requests import (
    mark_retrain_requests_consumed,
    pending_retrain_requests,
)
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.settings import AutomationSettings

_ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def build_retrain_sensor(
    automation: AutomationSettings,
    train_job: AssetJob,
    lf_votes_asset: str = "lf_votes",
    name: str = "retrain_sensor",
) -> SensorDefinition:
    @sensor(
        name=name,
        job=train_job,
        minimum_interval_seconds=automation.retrain_interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Retrain on drift, on enough new gold labels, or when there is no champion yet.",
    )
    def retrain_sensor(
        context: SensorEvaluationContext,
        task: TaskResource,
        warehouse: WarehouseResource,
        gold_files: GoldFilesResource,
    ) -> RunRequest | SkipReason:
        if context.instance.get_run_records(RunsFilter(job_name=train_job.name, statuses=_ACTIVE), limit=1):
            return SkipReason("a retrain is already queued or running")
        current, wh = task.get(), warehouse.get()
        champion = ModelRegistry(wh, current.name).champion()

        triggers: list[str] = []
        keys: list[str] = []
        details: list[str] = []
        drift = pending_retrain_requests(wh, current.name)
        if len(drift):
            triggers.append("drift")
            keys.append("drift:" + ",".join(sorted(drift["request_id"]))[:200])
            details.append(f"drift in {', '.join(drift['partition_key'].astype(str).head(5))}")
        n_new_gold = new_gold_count(
            wh, Path(gold_files.gold_dir), current, champion.created_at if champion else None
        )
        if champion is not None and n_new_gold >= automation.retrain_min_new_gold:
            triggers.append("gold")
            keys.append(f"gold:{n_new_gold}")
            details.append(f"{n_new_gold} new gold labels (>= {automation.retrain_min_new_gold})")
        if champion is None:
            ingested = context.instance.get_materialized_partitions(AssetKey(lf_votes_asset))
            if ingested:
                triggers.append("bootstrap")
                keys.append(f"bootstrap:{len(ingested)}")
                details.append(f"no champion yet; {len(ingested)} batch(es) labeled")
        if not triggers:
            return SkipReason(f"no trigger: no drift request, {n_new_gold} new gold labels")

        run_key = hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]
        if len(drift):
            mark_retrain_requests_consumed(wh, list(drift["request_id"]), f"run_key:{run_key}")
        return RunRequest(
            run_key=run_key,
            tags={"beambell/trigger": ",".join(triggers), "beambell/reason": "; ".join(details)[:250]},
        )

    return retrain_sensor


def build_retrain_schedule(
    automation: AutomationSettings, train_job: AssetJob, name: str = "retrain_schedule"
) -> ScheduleDefinition:
    return ScheduleDefinition(
        name=name,
        job=train_job,
        cron_schedule=automation.retrain_cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        tags={"beambell/trigger": "cron"},
        description=f"Periodic retrain over the training window ({automation.retrain_cron}, UTC).",
    )


def build_rescore_sensor(
    automation: AutomationSettings,
    predict_job: AssetJob,
    deployed_model_asset: str = "deployed_model",
    features_asset: str = "page_features",
    name: str = "rescore_on_promotion",
) -> SensorDefinition:
    @asset_sensor(
        asset_key=AssetKey(deployed_model_asset),
        job=predict_job,
        name=name,
        default_status=DefaultSensorStatus.RUNNING,
        description="Re-score the newest partitions when a new champion is promoted.",
    )
    def rescore_on_promotion(
        context: SensorEvaluationContext,
        asset_event: EventLogEntry,
        task: TaskResource,
        warehouse: WarehouseResource,
        artifacts: ArtifactStoreResource,
    ) -> RunRequest | SkipReason:
        current, wh = task.get(), warehouse.get()
        champion = ModelRegistry(wh, current.name).champion()
        if champion is None:
            return SkipReason("no champion")
        with_features = set(artifacts.get().frame_keys(features_asset))
        ordered = context.instance.get_dynamic_partitions(landing_partitions.name)
        tail: list[str] = []
        for key in reversed(ordered):  # the contiguous newest run of ingested partitions
            if key not in with_features or len(tail) >= automation.rescore_partitions:
                break
            tail.append(key)
        if not tail:
            return SkipReason("no ingested partitions to re-score")
        scored = wh.read(
            "SELECT DISTINCT partition_key FROM predictions WHERE task = :t AND model_version = :v",
            {"t": current.name, "v": champion.version},
        )
        todo = [k for k in tail if k not in set(scored["partition_key"])]
        if not todo:
            return SkipReason(f"the newest partitions are already scored by {champion.version}")
        first, last = tail[-1], tail[0]
        return RunRequest(
            run_key=f"rescore:{champion.version}:{last}",
            tags={
                ASSET_PARTITION_RANGE_START_TAG: first,
                ASSET_PARTITION_RANGE_END_TAG: last,
                "beambell/trigger": "promotion",
            },
        )

    return rescore_on_promotion
