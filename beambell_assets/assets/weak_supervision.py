"""The weak-supervision chain for one task, built by a factory so every task gets the same shape.

    <features> -> lf_votes -> label_model -> training_set -> classifier -> deployed_model
                                                                              -> predictions

``build_weak_supervision_assets(prefix="")`` gives the default page-content task's assets;
another task (e.g. organisation type) calls it with its own prefix, task resource and features
asset, so no asset code is copied. The assets are thin: the logic lives in ``labeling/``,
``training/`` and ``serving/``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from beambell_assets.assets.metadata import counts_table, md_table, scalar
from beambell_assets.assets.partitions import landing_partitions
from beambell_assets.feedback.gold import gold_for_task, gold_vector
from beambell_assets.labeling.analysis import label_matrix_stats, lf_summary
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.task import Task
from beambell_assets.serving.model_store import load_model, save_model
from beambell_assets.serving.promotion import PromotionPolicy, decide
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.serving.scoring import score_pages
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.training.evaluation import evaluate
from beambell_assets.training.label_model import fit_label_model
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier
from beambell_assets.training.splits import evaluation_mask
from beambell_assets.training.training_set import build_training_set, prob_columns


class TrainingWindowConfig(Config):
    """Which partitions the label model and classifier learn from (0 = all landed so far)."""

    window_partitions: int = 0
    n_epochs: int = 500
    seed: int = 0


class PromotionConfig(Config):
    """Gate for replacing the champion (see ``serving/promotion.py``)."""

    metric: str = "macro_f1"
    floor: float = 0.0
    tolerance: float = 0.02
    min_gold: int = 10


@dataclass(frozen=True)
class WeakSupervisionSpec:
    prefix: str = ""
    task_resource: str = "task"
    features_asset: str = "page_features"
    group_suffix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def group(self, base: str) -> str:
        return f"{base}{self.group_suffix}"


def _ctx(context: AssetExecutionContext, spec: WeakSupervisionSpec) -> tuple[Task, Warehouse, ArtifactStore]:
    res = context.resources
    return getattr(res, spec.task_resource).get(), res.warehouse.get(), res.artifacts.get()


def _window(keys: list[str], n: int) -> list[str]:
    return keys[-n:] if n > 0 else keys


def build_weak_supervision_assets(spec: WeakSupervisionSpec | None = None) -> list[AssetsDefinition]:
    spec = spec or WeakSupervisionSpec()
    n = spec.name
    resources = {spec.task_resource, "warehouse", "artifacts"}
    features_key = AssetKey(spec.features_asset)

    @asset(
        name=n("lf_votes"),
        partitions_def=landing_partitions,
        group_name=spec.group("labeling"),
        kinds={"snorkel", "parquet"},
        deps=[features_key],
        required_resource_keys=resources,
    )
    def lf_votes(context: AssetExecutionContext) -> MaterializeResult:
        """The label matrix L of this batch: one column per LF (-1 = abstain), plus the LF summary."""
        task, wh, store = _ctx(context, spec)
        key = context.partition_key
        features = store.read_frame(spec.features_asset, key)
        L, report = FastLFApplier(list(task.lfs)).apply(features)
        votes = pd.DataFrame(L, columns=task.lf_names)
        votes.insert(0, "page_id", features["page_id"].to_numpy())
        store.write_frame(n("lf_votes"), key, votes)

        gold = gold_vector(gold_for_task(wh, task), task, features["page_id"])
        summary = lf_summary(
            L, list(task.lfs), Y=gold, fault_counts=report.fault_counts, label_names=task.label_names
        )
        coverage = (L != -1).mean(axis=0) if len(L) else np.zeros(len(task.lfs))
        now = utcnow()
        stats_rows = [
            {
                "lf_name": lf.name,
                "n_rows": len(L),
                "n_votes": int((L[:, j] != -1).sum()) if len(L) else 0,
                "coverage": float(coverage[j]),
                "n_errors": int(report.fault_counts.get(lf.name, 0)),
                "computed_at": now,
            }
            for j, lf in enumerate(task.lfs)
        ]
        wh.replace_partition("lf_stats", key, stats_rows, where={"task": task.name})
        stats = label_matrix_stats(L)
        return MaterializeResult(
            metadata={
                "dagster/row_count": len(L),
                "task": task.name,
                "lfs": len(task.lfs),
                "lf_fingerprint": task.fingerprint(),
                **{k: scalar(v) for k, v in stats.items()},
                "lf_errors": int(sum(report.fault_counts.values())),
                "gold_rows_in_batch": int((gold != -1).sum()),
                "rows_per_second": round(float(report.rows_per_second), 1),
                "lf_summary": md_table(summary.reset_index(names="lf"), max_rows=200),
            }
        )

    @asset(
        name=n("label_model"),
        group_name=spec.group("training"),
        kinds={"snorkel", "pytorch"},
        deps=[lf_votes, AssetKey("gold_labels")],
        required_resource_keys=resources,
    )
    def label_model(context: AssetExecutionContext, config: TrainingWindowConfig) -> MaterializeResult:
        """Snorkel LabelModel over the training window's votes -> probabilistic labels.

        Majority vote is fitted alongside as the baseline; gold labels (where present) give the
        class balance and the evaluation of both.
        """
        task, wh, store = _ctx(context, spec)
        keys = _window(store.frame_keys(n("lf_votes")), config.window_partitions)
        if not keys:
            raise Failure(f"no {n('lf_votes')} partitions materialized yet: nothing to learn from")
        frames = []
        for k in keys:
            frame = store.read_frame(n("lf_votes"), k)
            missing = set(task.lf_names) - set(frame.columns)
            if missing:
                raise Failure(
                    f"{n('lf_votes')} partition {k} predates the current LF set (missing "
                    f"{sorted(missing)[:5]}): re-materialize it (backfill) before retraining"
                )
            frames.append(frame.assign(partition_key=k))
        votes = pd.concat(frames, ignore_index=True)
        L = votes[task.lf_names].to_numpy(dtype=np.int64)
        gold = gold_vector(gold_for_task(wh, task), task, votes["page_id"])
        fit = fit_label_model(L, task.cardinality, gold=gold, seed=config.seed, n_epochs=config.n_epochs)

        probs = pd.DataFrame(fit.probs, columns=prob_columns(task.cardinality))
        probs.insert(0, "page_id", votes["page_id"].to_numpy())
        probs.insert(1, "partition_key", votes["partition_key"].to_numpy())
        probs["n_votes"] = (L != -1).sum(axis=1)
        probs["gold"] = gold
        store.write_frame(n("label_model"), "probs", probs)

        weights = pd.DataFrame(
            {
                "lf": task.lf_names,
                "learned_accuracy": fit.lf_weights,
                "accuracy_on_gold": fit.lf_empirical_accuracy,
                "coverage": fit.lf_coverage,
            }
        )
        comparison = pd.DataFrame(
            [
                {
                    "model": name,
                    **{k: scalar(m.get(k)) for k in ("n_gold", "accuracy", "macro_f1", "coverage")},
                }
                for name, m in (fit.metrics or {}).items()
            ]
            or [
                {"model": "label_model / majority_vote", "n_gold": 0, "note": "no gold labels to evaluate on"}
            ]
        )
        balance = pd.DataFrame({"class": task.label_names, "prior": fit.class_balance})
        return MaterializeResult(
            metadata={
                "window_partitions": len(keys),
                "window": ", ".join(keys[:3]) + (" …" if len(keys) > 3 else ""),
                "dagster/row_count": len(L),
                "coverage": float(fit.coverage),
                "gold_rows": int((gold != -1).sum()),
                "class_balance_source": fit.class_balance_source,
                "fit_method": fit.method,
                "notes": "; ".join(fit.notes) or "none",
                "label_model_vs_majority_vote": md_table(comparison),
                "learned_lf_accuracies": md_table(
                    weights.sort_values("learned_accuracy", ascending=False), max_rows=200
                ),
                "class_balance": md_table(balance),
            }
        )

    @asset(
        name=n("training_set"),
        group_name=spec.group("training"),
        kinds={"pandas", "parquet"},
        deps=[label_model, features_key],
        required_resource_keys=resources,
    )
    def training_set(context: AssetExecutionContext) -> MaterializeResult:
        """Texts with probabilistic labels (abstain-only rows filtered), and the gold evaluation split.

        Pages with a gold label are kept out of the weak training rows: they are the evaluation set
        (see ``training/splits.py`` for a window that is mostly gold).
        """
        task, _wh, store = _ctx(context, spec)
        probs = store.read_frame(n("label_model"), "probs")
        features = pd.concat(
            [
                store.read_frame(spec.features_asset, k).assign(partition_key=k)
                for k in sorted(probs["partition_key"].unique())
            ],
            ignore_index=True,
        )
        if (
            len(features) != len(probs)
            or not (features["page_id"].to_numpy() == probs["page_id"].to_numpy()).all()
        ):
            raise Failure("page_features and label_model rows are out of step: re-materialize the window")
        prob_matrix = probs[prob_columns(task.cardinality)].to_numpy()
        is_gold = evaluation_mask(probs["page_id"].tolist(), probs["gold"].to_numpy() != -1)
        weak = build_training_set(
            features[~is_gold].reset_index(drop=True),
            probs["n_votes"].to_numpy()[~is_gold],
            prob_matrix[~is_gold],
            task.text_field,
        )
        gold_eval = pd.DataFrame(
            {
                "page_id": features.loc[is_gold, "page_id"].to_numpy(),
                "text": features.loc[is_gold, task.text_field].fillna("").astype(str).to_numpy(),
                "gold": probs.loc[is_gold, "gold"].to_numpy(),
            }
        )
        store.write_frame(n("training_set"), "weak", weak.frame)
        store.write_frame(n("training_set"), "gold_eval", gold_eval)
        weak_labels = pd.Series([task.label_names[i] for i in weak.frame["weak_label"]], dtype=object)
        return MaterializeResult(
            metadata={
                "dagster/row_count": len(weak.frame),
                "weak_rows": len(weak.frame),
                "filtered_abstain_only": int(weak.n_filtered),
                "gold_eval_rows": len(gold_eval),
                "weak_label_balance": counts_table(weak_labels, "weak label"),
                "mean_weak_confidence": float(weak.frame["weak_confidence"].mean())
                if len(weak.frame)
                else 0.0,
            }
        )

    @asset(
        name=n("classifier"),
        group_name=spec.group("training"),
        kinds={"scikitlearn"},
        deps=[training_set],
        required_resource_keys=resources,
    )
    def classifier(context: AssetExecutionContext) -> MaterializeResult:
        """A scikit-learn text classifier trained on the probabilistic labels, evaluated on gold.

        Saved with skops and recorded in the model registry as a candidate.
        """
        task, wh, store = _ctx(context, spec)
        weak = store.read_frame(n("training_set"), "weak")
        gold_eval = store.read_frame(n("training_set"), "gold_eval")
        if weak.empty:
            raise Failure("the training set is empty: no page got a vote from any LF")
        y = weak[prob_columns(task.cardinality)].to_numpy()
        model = SoftLabelTextClassifier(n_classes=task.cardinality, random_state=0)
        model.fit(weak["text"].tolist(), y)
        preds = model.predict(gold_eval["text"].tolist()) if len(gold_eval) else np.array([], dtype=int)
        report = evaluate(gold_eval["gold"].to_numpy(), preds, task.label_names)
        metrics = {k: report[k] for k in ("accuracy", "macro_f1", "n_gold") if k in report}

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        version = f"{task.name}-{stamp}"
        path = store.path("models", f"{version}.skops")
        sha = save_model(model, path)
        ModelRegistry(wh, task.name).register(
            version=version,
            artifact_path=str(path),
            artifact_sha256=sha,
            n_train=len(weak),
            metrics=metrics,
            training_window=f"{weak['partition_key'].min()}..{weak['partition_key'].max()}",
            lf_fingerprint=task.fingerprint(),
            run_id=context.run_id,
        )
        metadata: dict[str, Any] = {
            "model_version": version,
            "n_train": len(weak),
            "n_gold_eval": int(metrics.get("n_gold") or 0),
            "accuracy_on_gold": scalar(metrics.get("accuracy")),
            "macro_f1_on_gold": scalar(metrics.get("macro_f1")),
            "artifact": MetadataValue.path(str(path)),
        }
        if report.get("per_class") is not None:
            metadata["per_class_on_gold"] = md_table(report["per_class"].reset_index(names="class"))
        return MaterializeResult(metadata=metadata)

    @asset(
        name=n("deployed_model"),
        group_name=spec.group("serving"),
        kinds={"python"},
        deps=[classifier],
        required_resource_keys=resources,
    )
    def deployed_model(context: AssetExecutionContext, config: PromotionConfig) -> MaterializeResult:
        """The registry's champion: the newest candidate replaces it only if it passes the gate."""
        task, wh, _store = _ctx(context, spec)
        registry = ModelRegistry(wh, task.name)
        versions = registry.versions()
        if not versions:
            raise Failure(f"no {task.name} model in the registry yet")
        latest, champion = versions[-1], registry.champion()
        decision_text = "no new candidate"
        if latest.status == "candidate":
            policy = PromotionPolicy(config.metric, config.floor, config.tolerance, config.min_gold)
            decision = decide(latest.metrics, champion.metrics if champion else None, policy)
            actor = f"dagster run {context.run_id}"
            if decision.promote:
                registry.promote(latest.version, actor=actor, reason=decision.reason)
            else:
                registry.reject(latest.version, actor=actor, reason=decision.reason)
            decision_text = (
                f"{'promoted' if decision.promote else 'rejected'} {latest.version}: {decision.reason}"
            )
        champion = registry.champion()
        if champion is None:
            raise Failure(f"no champion for {task.name}: {decision_text}")
        history = pd.DataFrame(registry.events())[["at", "action", "version", "previous", "reason"]]
        return MaterializeResult(
            metadata={
                "champion": champion.version,
                "decision": decision_text,
                "champion_macro_f1_on_gold": scalar(champion.metrics.get("macro_f1")),
                "champion_n_train": champion.n_train,
                "history": md_table(history.tail(20)),
            }
        )

    @asset(
        name=n("predictions"),
        partitions_def=landing_partitions,
        group_name=spec.group("serving"),
        kinds={"scikitlearn", "sql"},
        deps=[features_key, deployed_model],
        required_resource_keys=resources,
    )
    def predictions(context: AssetExecutionContext) -> MaterializeResult:
        """The champion's label and probability for every page of the batch, in the warehouse."""
        task, wh, store = _ctx(context, spec)
        key = context.partition_key
        champion = ModelRegistry(wh, task.name).champion()
        if champion is None:
            raise Failure(f"no champion model for {task.name}: materialize {n('deployed_model')} first")
        model = load_model(champion.artifact_path, expected_sha256=champion.artifact_sha256)
        features = store.read_frame(spec.features_asset, key)
        scored = score_pages(model, features, task, champion.version)
        written = wh.replace_partition(
            "predictions", key, scored.assign(predicted_at=utcnow()), where={"task": task.name}
        )
        metadata: dict[str, Any] = {"dagster/row_count": written, "model_version": champion.version}
        if written:
            metadata["predicted_class_mix"] = counts_table(scored["label"], "label")
            metadata["mean_probability"] = float(scored["probability"].mean())
        return MaterializeResult(metadata=metadata)

    return [lf_votes, label_model, training_set, classifier, deployed_model, predictions]
