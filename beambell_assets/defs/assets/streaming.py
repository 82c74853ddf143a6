"""The real-time path in the asset graph: what the stream predicted, what it learned, its roll-up.

The stream itself runs outside Dagster (``beambell stream``: a long-running Beam pipeline); these
assets make it visible and part of the lineage. ``stream_predictions`` and ``stream_learned_state``
are refreshed by ``stream_health_sensor`` (and on demand); ``stream_rollup`` turns the stream's pages
into ordinary landing batches on a schedule, so drift reports, retrains and backfills cover them.
One factory builds them for a task's :class:`~beambell_assets.defs.assets.ws_spec.WeakSupervisionSpec`
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from beambell_assets.defs.assets.metadata import md_table, scalar
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.streaming.messages import StreamNames


@dataclass(frozen=True)
class StreamAssets:
    predictions: AssetsDefinition
    learned_state: AssetsDefinition
    rollup: AssetsDefinition

    @property
    def all(self) -> list[AssetsDefinition]:
        return [self.predictions, self.learned_state, self.rollup]

    @property
    def monitored(self) -> list[AssetsDefinition]:
        return [self.predictions, self.learned_state]


def _table(df: pd.DataFrame) -> Any:
    return md_table(df) if len(df) else MetadataValue.md("_none_")


def _activity_metadata(activity: dict[str, Any], status: Any, problems: list[str]) -> dict[str, Any]:
    """What the stream did: throughput, latency, lag, health, predictors and quarantine."""
    return {
        "messages_committed": activity["messages"],
        "messages_last_hour": activity["messages_in_window"],
        "throughput_pages_per_s": scalar(activity.get("throughput_pages_per_s")),
        "latency_p50_s": scalar(activity.get("latency_p50_s")),
        "latency_p95_s": scalar(activity.get("latency_p95_s")),
        "latency_p99_s": scalar(activity.get("latency_p99_s")),
        "lag": scalar(status.pages_lag.get("lag")),
        "pending": scalar(status.pages_lag.get("pending")),
        "heartbeat_age_s": scalar(status.heartbeat_age_s),
        "healthy": not problems,
        "problems": "; ".join(problems) or "none",
        "by_predictor_and_version": _table(activity["predictors"]),
        "outcomes": _table(activity["outcomes"]),
        "quarantine_by_reason": _table(activity["quarantine_reasons"]),
    }


def _learned_metadata(report: dict[str, Any]) -> dict[str, Any]:
    """What the stream learned, from its newest durable checkpoint's report."""
    s = report["summary"]
    return {
        "checkpoint": report["checkpoint"],
        "pages_learned": s["pages_applied"],
        "label_model": f"{s['label_model']['method']} {s['label_model']['version']}",
        "refits_triplet": s["triplet_fits"],
        "refits_snorkel": s["snorkel_fits"],
        "last_refit": str(s.get("last_refit")),
        "last_snorkel_fit": str(s.get("last_snorkel")),
        "class_prior_estimate": str(s.get("class_prior")),
        "online_model_version": s["online_model"]["version"],
        "online_pages_learned": s["online_model"]["pages_learned"],
        "online_gold_learned": s["online_model"]["gold_learned"],
        "stateful_lf_version": s["lf_state_version"],
        "gold_train_eval": f"{s['gold_train']} / {s['gold_eval']}",
        "predictors": str(s.get("predictors")),
        "online_vs_champion_on_eval_gold": _table(report["comparison"]),
        "prequential_on_eval_gold": MetadataValue.json(s.get("prequential", {})),
        "lf_weights": _table(report["lf_weights"]),
    }


def build_stream_assets(spec: WeakSupervisionSpec | None = None) -> StreamAssets:
    spec = spec or WeakSupervisionSpec()
    group = spec.group("streaming")

    @asset(
        name=spec.name("stream_predictions"),
        group_name=group,
        kinds={"beam", "redis"},
        deps=[AssetKey(spec.name("deployed_model")), AssetKey(spec.features_asset)],
        required_resource_keys={spec.task_resource, "warehouse", "stream"},
        description="The stream's predictions in the warehouse (partition 'stream'): pages, throughput, "
        "latency, lag, which predictor and model version scored them, quarantine by reason.",
    )
    def stream_predictions(context: AssetExecutionContext) -> MaterializeResult:
        from beambell_assets.streaming.report import stream_activity
        from beambell_assets.streaming.status import stream_status

        task = spec.task(context)
        stream = context.resources.stream
        names = StreamNames(stream.prefix, task.name)
        activity = stream_activity(context.resources.warehouse.get(), names.pages, task.name)
        status = stream_status(stream.settings(), task.name)
        problems = status.problems(stream.down_after_s, stream.max_lag)
        return MaterializeResult(metadata=_activity_metadata(activity, status, problems))

    @asset(
        name=spec.name("stream_learned_state"),
        group_name=group,
        kinds={"beam", "json"},
        deps=[stream_predictions],
        required_resource_keys={spec.task_resource, "warehouse", "artifacts"},
        description="What the stream learned (its newest durable checkpoint): label-model statistics and "
        "refits, LF weights, stateful-LF version, the online model and its quality against the champion.",
    )
    def stream_learned_state(context: AssetExecutionContext) -> MaterializeResult:
        from beambell_assets.streaming.report import learned_state

        task = spec.task(context)
        report = learned_state(context.resources.warehouse.get(), context.resources.artifacts.get(), task)
        if report["checkpoint"] is None:
            return MaterializeResult(metadata={"checkpoint": "none yet: run `beambell stream`"})
        return MaterializeResult(metadata=_learned_metadata(report))

    @asset(
        name=spec.name("stream_rollup"),
        group_name=group,
        kinds={"jsonl"},
        deps=[stream_predictions],
        required_resource_keys={spec.task_resource, "warehouse", "landing", "stream"},
        description="The stream's accepted pages, not yet in a batch, written as one landing file: the "
        "landing sensor makes it an ordinary partition (drift, retrains, backfills). Each page once.",
    )
    def stream_rollup(context: AssetExecutionContext) -> MaterializeResult:
        from beambell_assets.streaming.rollup import roll_up

        task = spec.task(context)
        names = StreamNames(context.resources.stream.prefix, task.name)
        result = roll_up(
            context.resources.warehouse.get(),
            Path(context.resources.landing.landing_dir),
            names.pages,
            task.name,
        )
        return MaterializeResult(
            metadata={
                "files_written": ", ".join(p.name for p in result.written) or "none",
                "pages_rolled_up": result.pages,
                "pages_waiting_before": result.pending_before,
            }
        )

    return StreamAssets(stream_predictions, stream_learned_state, stream_rollup)
