"""The human-in-the-loop assets: what to label next, sending it to Label Studio, and labels back.

    page_features + lf_votes + champion ──▶ annotation_queue ──▶ label_studio_export (file + server)
    Label Studio annotations ──▶ label_studio_gold (gold_labels rows) ──▶ stateful_lfs ──▶ lf_votes

Thin: the ranking is ``feedback/annotation_queue.py``, the Label Studio formats are
``feedback/label_studio.py``, the idempotent sync is ``feedback/gold_sync.py``.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from beambell_assets.defs.assets.metadata import counts_table, md_table, rollup
from beambell_assets.defs.assets.partitions import batch_backfill_policy, landing_partitions
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.defs.resources import (
    LabelStudioResource,
    StreamResource,
    TaskResource,
    WarehouseResource,
)
from beambell_assets.feedback.annotation_queue import QUEUE_COLUMNS, QueueWeights, build_queue
from beambell_assets.feedback.gold import gold_for_task, record_audit_picks
from beambell_assets.feedback.gold_sync import project_source, sync_gold
from beambell_assets.feedback.label_studio import (
    build_tasks,
    export_to_label_studio,
    fetch_annotations,
    write_tasks_json,
)
from beambell_assets.feedback.publish import publish_feedback
from beambell_assets.labeling.task import Task
from beambell_assets.labeling.votes import aligned_label_matrix
from beambell_assets.serving.model_store import load_registered_model
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.training.splits import stable_unit_interval
from beambell_assets.training.weak_labels import partition_probs


class AnnotationQueueConfig(Config):
    """How many pages per partition a human is asked to label, and how diverse they must be."""

    budget: int = 20
    max_similarity: float = 0.9  # TF-IDF cosine above which two pages are near-duplicates
    max_per_class: float = 0.5  # share of the budget one predicted class may take
    # the queue's defaults (``QueueWeights``); diversity: penalty per unit of cosine to a page already
    # picked or labelled; audit_share: share of the budget picked uniformly at random (an unbiased sample)
    weight_classifier_margin: float = QueueWeights.classifier_margin
    weight_classifier_entropy: float = QueueWeights.classifier_entropy
    weight_lm_entropy: float = QueueWeights.lm_entropy
    weight_lf_conflict: float = QueueWeights.lf_conflict
    weight_uncovered: float = QueueWeights.uncovered
    weight_model_disagreement: float = QueueWeights.model_disagreement
    diversity: float = QueueWeights.diversity
    audit_share: float = QueueWeights.audit_share


def _queue_weights(config: AnnotationQueueConfig) -> QueueWeights:
    return QueueWeights(
        classifier_margin=config.weight_classifier_margin,
        classifier_entropy=config.weight_classifier_entropy,
        lm_entropy=config.weight_lm_entropy,
        lf_conflict=config.weight_lf_conflict,
        uncovered=config.weight_uncovered,
        model_disagreement=config.weight_model_disagreement,
        diversity=config.diversity,
        audit_share=config.audit_share,
    )


def _queue_metadata(picks: pd.DataFrame, n_pages: int, version: str | None, skipped: dict) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": len(picks),
        "pages_in_batch": n_pages,
        "model_version": version or "none (no champion: LF signals only)",
        **{f"skipped_{k}": v for k, v in skipped.items()},
    }
    if len(picks):
        metadata["mean_score"] = float(picks["score"].mean())
        metadata["predicted_class_mix"] = counts_table(
            picks["predicted_label"].fillna("(uncovered)"), "class"
        )
        shown = picks[["queue_rank", "score", "predicted_label", "reason", "url"]]
        metadata["queue"] = md_table(shown, max_rows=50)
    return metadata


def _queue_partition(
    spec: WeakSupervisionSpec,
    task: Task,
    wh: Warehouse,
    store: ArtifactStore,
    key: str,
    config: AnnotationQueueConfig,
    champion: tuple[Any, str | None],
) -> dict[str, Any]:
    """Rank one partition's pages for labelling; store the picks (artifact and warehouse rows)."""
    model, version = champion
    features = store.read_frame(spec.features_asset, key)
    L = aligned_label_matrix(store.read_frame(spec.name("lf_votes"), key), features, key)
    texts = features[task.text_field].fillna("").astype(str).tolist()
    lm_probs = _read_optional(store, spec.name("label_model"), "probs")
    gold_ids = frozenset(gold_for_task(wh, task)["page_id"].astype(str))
    picks, skipped = build_queue(
        features,
        L,
        task.label_names,
        text_field=task.text_field,
        budget=config.budget,
        classifier_proba=np.asarray(model.predict_proba(texts)) if model is not None and len(texts) else None,
        model_version=version,
        lm_proba=partition_probs(lm_probs, key, features["page_id"], task.cardinality),
        gold_page_ids=gold_ids,
        weights=_queue_weights(config),
        max_similarity=config.max_similarity,
        max_per_class=config.max_per_class,
        # a rerun of the same partition with the same gold draws the same audit pages
        seed=int(stable_unit_interval(f"{task.name}|{key}|{len(gold_ids)}") * 2**32),
    )
    # before the queue: a recorded audit pick that never reached the queue only loses its sample
    record_audit_picks(wh, task, key, picks)
    store.write_frame(spec.name("annotation_queue"), key, picks.assign(partition_key=key))
    rows = picks[QUEUE_COLUMNS].assign(queued_at=utcnow())
    wh.replace_partition("annotation_queue", key, rows, where={"task": task.name})
    return _queue_metadata(picks, len(features), version, skipped)


def _read_optional(store: ArtifactStore, asset_name: str, key: str) -> pd.DataFrame | None:
    return store.read_frame(asset_name, key) if store.exists(asset_name, f"{key}.parquet") else None


def _champion_model(wh: Warehouse, task: Task) -> tuple[Any, str | None]:
    """The task's champion model and version; (None, None) before the first promotion."""
    champion = ModelRegistry(wh, task.name).champion()
    if champion is None:
        return None, None
    return load_registered_model(champion.artifact_path, champion.artifact_sha256), champion.version


def _export_partition(
    spec: WeakSupervisionSpec, store: ArtifactStore, key: str, client: Any, project_id: int | None
) -> dict[str, Any]:
    """Write one partition's queue as Label Studio tasks (file) and import them when a server is set."""
    tasks = build_tasks(store.read_frame(spec.name("annotation_queue"), key))
    path = write_tasks_json(tasks, Path(str(store.path(spec.name("label_studio_export"), f"{key}.json"))))
    md: dict[str, Any] = {"dagster/row_count": len(tasks), "file": MetadataValue.path(str(path))}
    if client is not None and project_id is not None:
        result = export_to_label_studio(client, project_id, tasks)
        md.update(project_id=project_id, imported=result.imported, already_in_project=result.skipped_existing)
    else:
        md["server"] = "not configured (BEAMBELL_LABEL_STUDIO_URL/_TOKEN): file only"
    return md


@dataclass(frozen=True)
class AnnotationAssets:
    """One task's annotation queue and its Label Studio export."""

    annotation_queue: AssetsDefinition
    label_studio_export: AssetsDefinition | None  # None: the spec exports no queue to Label Studio

    @property
    def all(self) -> list[AssetsDefinition]:
        return [a for a in (self.annotation_queue, self.label_studio_export) if a is not None]


def build_annotation_assets(spec: WeakSupervisionSpec | None = None) -> AnnotationAssets:
    """``<prefix>annotation_queue`` and, when the spec exports to Label Studio, its export."""
    spec = spec or WeakSupervisionSpec()
    n = spec.name

    @asset(
        name=n("annotation_queue"),
        partitions_def=landing_partitions,
        backfill_policy=batch_backfill_policy,
        group_name=spec.group("feedback"),
        kinds={"scikitlearn", "sql"},
        deps=[AssetKey(spec.features_asset), AssetKey(n("lf_votes")), AssetKey(n("deployed_model"))],
        required_resource_keys=spec.resource_keys,
    )
    def annotation_queue(context: AssetExecutionContext, config: AnnotationQueueConfig) -> MaterializeResult:
        """The pages of each batch a human should label next, best first, each with its score and why.

        Ranked by classifier margin/entropy (the champion), label-model entropy, LF conflict and zero LF
        coverage; near-duplicates dropped and each predicted class capped, so the budget is spent on
        varied, informative pages. Replaces the partition's rows of the ``annotation_queue`` table.
        """
        task, wh, store = spec.parts(context)
        champion = _champion_model(wh, task)
        per_partition = {
            key: _queue_partition(spec, task, wh, store, key, config, champion)
            for key in context.partition_keys
        }
        return MaterializeResult(metadata=rollup(per_partition, totals=("dagster/row_count",)))

    @asset(
        name=n("label_studio_export"),
        partitions_def=landing_partitions,
        backfill_policy=batch_backfill_policy,
        group_name=spec.group("feedback"),
        kinds={"json"},
        deps=[annotation_queue],
        required_resource_keys={spec.task_resource, "artifacts", "label_studio"},
    )
    def label_studio_export(context: AssetExecutionContext) -> MaterializeResult:
        """The queue as Label Studio tasks: always a JSON file; imported into the project when configured.

        Each task carries the page text, URL, ``uncertainty`` (sort by it in the data manager) and the
        champion's label as a pre-annotation. Importing is idempotent (pages already there are skipped).
        """
        task, store = spec.task(context), context.resources.artifacts.get()
        label_studio: LabelStudioResource = context.resources.label_studio
        client = label_studio.client() if label_studio.configured else None
        project_id = label_studio.project(client, task) if client is not None else None
        per_partition = {
            key: _export_partition(spec, store, key, client, project_id) for key in context.partition_keys
        }
        return MaterializeResult(metadata=rollup(per_partition, totals=("dagster/row_count",)))

    return AnnotationAssets(annotation_queue, label_studio_export if spec.label_studio_export else None)


@asset(group_name="labeling", kinds={"sql"})
def label_studio_gold(
    context: AssetExecutionContext,
    task: TaskResource,
    warehouse: WarehouseResource,
    label_studio: LabelStudioResource,
    stream: StreamResource,
) -> MaterializeResult:
    """Annotations of the Label Studio project -> gold_labels: new, changed and deleted, idempotently.

    The newest non-cancelled annotation per task is the page's gold label, with who labeled it and
    when. Requested by ``label_studio_gold_sensor`` when the project's annotations change.
    """
    current, wh = task.get(), warehouse.get()
    if not label_studio.configured:
        context.log.info("Label Studio is not configured: nothing to sync")
        return MaterializeResult(metadata={"synced": False, "note": "Label Studio not configured"})
    client = label_studio.client()
    project_id = label_studio.project(client, current)
    batch = fetch_annotations(client, project_id, current)
    result = sync_gold(wh, current, batch.records, project_source(project_id), project_id=project_id)
    published, stream_error = publish_feedback(stream.settings(), current.name, list(result.written))
    if stream_error:
        context.log.warning(f"gold stored; the stream was not told: {stream_error}")
    if len(batch.rejected):
        context.log.warning(f"{len(batch.rejected)} annotations rejected; see the 'rejected' metadata")
    return MaterializeResult(
        metadata={
            **sync_metadata(batch.records, batch.rejected, result.as_dict(), project_id),
            "published_to_stream": published,
        }
    )


def sync_metadata(
    records: pd.DataFrame, rejected: pd.DataFrame, counts: dict[str, int], project_id: int | None
) -> dict[str, Any]:
    md: dict[str, Any] = {
        "dagster/row_count": len(records),
        **counts,
        "rejected": len(rejected),
        "change_set": "none"
        if not (counts["inserted"] + counts["updated"] + counts["deleted"])
        else "applied",
    }
    if project_id is not None:
        md["project_id"] = project_id
    if len(records):
        md["gold_by_class"] = counts_table(records["label"], "label")
        md["labelers"] = counts_table(records["labeler"].fillna("?"), "labeler")
    if len(rejected):
        md["rejected_annotations"] = md_table(rejected.head(50))
    return md
