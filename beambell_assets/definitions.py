"""The one Definitions object: assets, checks, jobs and resources, configured from the environment."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from beambell_assets.assets.gold import gold_labels
from beambell_assets.assets.ingest import page_features, raw_pages
from beambell_assets.assets.partitions import landing_partitions
from beambell_assets.assets.weak_supervision import build_weak_supervision_assets
from beambell_assets.resources import (
    ArtifactStoreResource,
    GoldFilesResource,
    LandingResource,
    TaskResource,
    WarehouseResource,
)
from beambell_assets.settings import Settings, load_settings

INGEST_JOB = "ingest_and_label"
TRAIN_JOB = "train_and_promote"
PREDICT_JOB = "predict"


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(url=settings.warehouse_url),
        "artifacts": ArtifactStoreResource(root=str(settings.artifacts_dir)),
        "landing": LandingResource(
            landing_dir=str(settings.landing_dir), column_mapping=settings.column_mapping
        ),
        "gold_files": GoldFilesResource(gold_dir=str(settings.gold_dir)),
        "task": TaskResource(spec=settings.task_spec),
    }


def build_definitions(settings: Settings) -> Definitions:
    settings.ensure_dirs()
    ws_assets = build_weak_supervision_assets()
    by_name = {a.key.to_user_string(): a for a in ws_assets}

    ingest_job = define_asset_job(
        INGEST_JOB,
        selection=AssetSelection.assets(raw_pages, page_features, by_name["lf_votes"]),
        partitions_def=landing_partitions,
        description="Read a landed batch, quarantine bad rows, build features and apply the LFs.",
    )
    train_job = define_asset_job(
        TRAIN_JOB,
        selection=AssetSelection.assets(
            gold_labels,
            *(by_name[n] for n in ("label_model", "training_set", "classifier", "deployed_model")),
        ),
        description="Fit the label model on the training window, train the classifier, gate promotion.",
    )
    predict_job = define_asset_job(
        PREDICT_JOB,
        selection=AssetSelection.assets(by_name["predictions"]),
        partitions_def=landing_partitions,
        description="Score a batch with the champion model into the predictions table.",
    )
    return Definitions(
        assets=[raw_pages, page_features, gold_labels, *ws_assets],
        jobs=[ingest_job, train_job, predict_job],
        resources=build_resources(settings),
    )


defs = build_definitions(load_settings())
