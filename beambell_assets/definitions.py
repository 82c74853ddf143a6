"""The one Definitions object (built lazily, see ``defs``): the code location's entry point.

The Dagster layer lives in ``defs/``: assets (``defs/assets/``), asset checks
(``defs/asset_checks.py``), sensors, schedules and backfills (``defs/automation/``), executors
(``defs/executors/``) and resources (``defs/resources.py``). This module wires them into jobs and
one ``Definitions``. Everything is configured from ``Settings`` (``settings.py``), so the embedded
default needs no configuration and a deployment changes URLs, not code.
"""

from dagster import AssetSelection, Definitions, define_asset_job, definitions

from beambell_assets.defs.assets.annotation import label_studio_gold
from beambell_assets.defs.assets.domains import build_domain_and_org_definitions
from beambell_assets.defs.assets.gold import gold_labels
from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.assets.task_family import build_task_assets
from beambell_assets.defs.automation.gold_sync import GOLD_SYNC_JOB, build_label_studio_gold_sensor
from beambell_assets.defs.automation.landing import build_landing_sensor
from beambell_assets.defs.automation.retrain import (
    build_rescore_sensor,
    build_retrain_schedule,
    build_retrain_sensor,
)
from beambell_assets.defs.automation.streaming import build_stream_health_sensor, build_stream_rollup_schedule
from beambell_assets.defs.executors import executor_for
from beambell_assets.defs.resources import build_resources
from beambell_assets.settings import Settings, load_settings

INGEST_JOB = "ingest_and_label"
PROCESS_JOB = "process_batch"
TRAIN_JOB = "train_and_promote"
PREDICT_JOB = "predict"
STREAM_MONITOR_JOB = "stream_monitor"
STREAM_ROLLUP_JOB = "stream_rollup_job"

#: Per-batch domain and organisation assets (``defs/assets/domains.py``), run with every new batch.
DOMAIN_ASSETS = ["domain_profiles", "organisations", "org_features", "org_lf_votes"]

#: What `beambell backfill --job X` re-materializes (asset names), for the daemon's asset backfill.
BACKFILL_SELECTIONS = {
    INGEST_JOB: ["raw_pages", "page_features", "lf_votes"],
    PROCESS_JOB: [
        "raw_pages",
        "page_features",
        "lf_votes",
        "predictions",
        "drift_report",
        *DOMAIN_ASSETS,
        "annotation_queue",
        "label_studio_export",
    ],
    PREDICT_JOB: ["predictions", "drift_report", "annotation_queue", "label_studio_export"],
}

# Steps run in the run's own process by default: on two cores a process per step only adds
# start-up time (each imports pandas, torch and the LF models), and every job here is a short
# chain. BEAMBELL_EXECUTOR=celery sends steps to celery workers (docs/production.md).

# Run-level retries are for crashes (a killed worker, a lost connection); a refused model or a
# blocked batch fails the same way every time, so `dagster.yaml` does not retry asset failures.
_TRAIN_TAGS = {"dagster/max_retries": "0"}


def build_definitions(settings: Settings) -> Definitions:
    settings.ensure_dirs()
    page = build_task_assets()
    ws, stream = page.chain, page.stream

    dom = build_domain_and_org_definitions()
    ingest = AssetSelection.assets(raw_pages, page_features, ws.lf_votes)
    ingest_job = define_asset_job(
        INGEST_JOB,
        selection=ingest,
        partitions_def=landing_partitions,
        description="Read a landed batch, gate it (contract + GX suite), build features, apply the LFs.",
    )
    process_job = define_asset_job(
        PROCESS_JOB,
        selection=ingest | AssetSelection.assets(*page.scoring) | AssetSelection.assets(*dom.per_batch),
        partitions_def=landing_partitions,
        description=(
            "What the landing sensor runs per new file: ingest, label, predict, check drift, update the "
            "domains and organisations it touches, queue pages for annotation."
        ),
    )
    train_job = define_asset_job(
        TRAIN_JOB,
        selection=AssetSelection.assets(gold_labels, page.stateful_lfs, *ws.train_assets),
        tags=_TRAIN_TAGS,
        description="Fit the label model on the training window, train the classifier, gate promotion.",
    )
    predict_job = define_asset_job(
        PREDICT_JOB,
        selection=AssetSelection.assets(*page.scoring),
        partitions_def=landing_partitions,
        description=(
            "Score batches with the champion into the predictions table; check drift; queue pages "
            "for annotation."
        ),
    )
    gold_sync_job = define_asset_job(
        GOLD_SYNC_JOB,
        selection=AssetSelection.assets(label_studio_gold, page.stateful_lfs),
        tags=_TRAIN_TAGS,
        description="Sync Label Studio annotations into gold_labels and refit the stateful LFs.",
    )
    stream_monitor_job = define_asset_job(
        STREAM_MONITOR_JOB,
        selection=AssetSelection.assets(*stream.monitored),
        description="Refresh what the stream predicted and learned (requested by stream_health_sensor).",
    )
    stream_rollup_job = define_asset_job(
        STREAM_ROLLUP_JOB,
        selection=AssetSelection.assets(stream.rollup),
        description="Write the stream's new pages as a landing batch (the landing sensor ingests it).",
    )
    automation = settings.automation
    return Definitions(
        executor=executor_for(settings.executor),
        assets=[
            raw_pages,
            page_features,
            gold_labels,
            label_studio_gold,
            *page.all,
            *dom.assets,
        ],
        jobs=[
            ingest_job,
            process_job,
            train_job,
            predict_job,
            gold_sync_job,
            stream_monitor_job,
            stream_rollup_job,
            *dom.jobs,
        ],
        sensors=[
            build_landing_sensor(automation, process_job, ingest_job),
            build_retrain_sensor(automation, train_job),
            build_rescore_sensor(automation, predict_job),
            build_label_studio_gold_sensor(gold_sync_job, interval_s=settings.label_studio.interval_s),
            build_stream_health_sensor(stream_monitor_job),
        ],
        schedules=[
            build_retrain_schedule(automation, train_job),
            build_stream_rollup_schedule(settings.stream, stream_rollup_job),
        ],
        resources=build_resources(settings),
    )


@definitions
def defs() -> Definitions:
    """The code location (``workspace.yaml``, ``[tool.dagster]``): built when Dagster loads it, so
    importing this module reads no settings, builds nothing and creates no folder."""
    return build_definitions(load_settings())
