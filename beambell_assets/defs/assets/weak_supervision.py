"""The weak-supervision chain for one task, built by a factory so every task gets the same shape.

    <features> -> lf_votes -> label_model -> training_set -> classifier -> deployed_model
                                                                              -> predictions

``build_weak_supervision_assets()`` gives the default page-content task's assets; another task
(e.g. organisation type) calls it with its own :class:`WeakSupervisionSpec` (prefix, task resource,
features asset), so no asset code is copied. It returns a :class:`WeakSupervisionAssets` bundle:
callers take its fields, never look an asset up by name. Each asset is a short wiring of plain
steps: ``labeling/votes.py``, ``training/weak_labels.py``, ``training/training_set.py``,
``training/candidate.py``, ``serving/candidates.py``.
"""

from dataclasses import dataclass
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from beambell_assets.defs.asset_checks import build_promotion_gates
from beambell_assets.defs.assets.metadata import counts_table, md_table, rollup, scalar
from beambell_assets.defs.assets.partitions import batch_backfill_policy, landing_partitions
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.defs.executors import WAREHOUSE_RETRY_POLICY, transient_retries_only
from beambell_assets.defs.resources import ComputeResource
from beambell_assets.feedback.gold import audit_pages, gold_for_task, gold_vector, sampled_gold_mask
from beambell_assets.labeling.analysis import label_matrix_stats, lf_summary
from beambell_assets.labeling.stateful import (
    OUT_OF_FOLD_KEY,
    STATEFUL_LF_NAMES,
    build_stateful_lfs,
    load_current_state,
    with_out_of_fold_votes,
)
from beambell_assets.labeling.task import Task
from beambell_assets.labeling.votes import StaleVotesError, lf_stats_rows, stack_vote_frames, vote_frame
from beambell_assets.monitoring.lf_health import assess_lf_health, lf_health_history
from beambell_assets.serving.candidates import (
    NoChampionError,
    promote_gated_candidate,
    register_candidate,
    registry_history,
)
from beambell_assets.serving.model_store import load_registered_model
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.training.candidate import (
    agreement_with_label_model,
    fit_candidate,
    gold_report,
    label_shift,
    warm_embeddings,
)
from beambell_assets.training.splits import gold_roles
from beambell_assets.training.training_set import OutOfStepError, window_training_set
from beambell_assets.training.weak_labels import (
    aggregator_record,
    class_balance_table,
    comparison_table,
    fit_window,
    lf_weights_table,
    probs_frame,
)


class TrainingWindowConfig(Config):
    """Which partitions the label model and classifier learn from (0 = all landed so far)."""

    window_partitions: int = 0
    n_epochs: int = 500
    seed: int = 0


#: ``lf_votes``, ``classifier`` and ``predictions`` also need the ``compute`` resource: local or
#: Apache Beam, chosen per run (``defs/resources.py``; the default comes from ``Settings.compute``).
COMPUTE_RESOURCE_KEYS: set[str] = {"compute"}


@dataclass(frozen=True)
class WeakSupervisionAssets:
    """One task's chain, by role (the factory's result: no caller looks an asset up by name)."""

    lf_votes: AssetsDefinition
    label_model: AssetsDefinition
    training_set: AssetsDefinition
    classifier: AssetsDefinition
    promotion_gates: AssetChecksDefinition
    deployed_model: AssetsDefinition
    predictions: AssetsDefinition

    @property
    def train_assets(self) -> list[AssetsDefinition]:
        """What a training job selects: label model to champion (the gates come with the classifier)."""
        return [self.label_model, self.training_set, self.classifier, self.deployed_model]

    @property
    def train_graph(self) -> list[AssetsDefinition | AssetChecksDefinition]:
        """The training assets and the promotion gates, to materialize together."""
        return [
            self.label_model,
            self.training_set,
            self.classifier,
            self.promotion_gates,
            self.deployed_model,
        ]

    @property
    def all(self) -> list[AssetsDefinition | AssetChecksDefinition]:
        return [self.lf_votes, *self.train_graph, self.predictions]


def _window(keys: list[str], n: int) -> list[str]:
    return keys[-n:] if n > 0 else keys


def _read_optional(store: ArtifactStore, asset_name: str, key: str) -> pd.DataFrame | None:
    try:
        return store.read_frame(asset_name, key)
    except (FileNotFoundError, OSError, KeyError):
        return None


def _task_lfs(task: Task, store: ArtifactStore, stateful_asset: str | None) -> tuple[list[Any], str | None]:
    """The task's LFs plus, when the chain has a stateful-LF asset, its current learned LFs."""
    if not stateful_asset:
        return list(task.lfs), None
    state = load_current_state(store, stateful_asset, task)
    return [*task.lfs, *build_stateful_lfs(state)], state.version


# --------------------------------------------------------------------------- lf_votes


def _vote_partition(
    spec: WeakSupervisionSpec,
    stateful_asset: str | None,
    task: Task,
    wh: Warehouse,
    store: ArtifactStore,
    compute: ComputeResource,
    key: str,
) -> dict[str, Any]:
    """Vote one partition: store its label matrix and ``lf_stats`` rows; its metadata."""
    features = store.read_frame(spec.features_asset, key)
    lfs, state_version = _task_lfs(task, store, stateful_asset)
    names = [lf.name for lf in lfs]
    L, report = compute.apply_lfs(lfs, features, task.cardinality)  # a label it lacks: a fault
    invalid = report.invalid_counts
    store.write_frame(spec.name("lf_votes"), key, vote_frame(L, names, features["page_id"]))
    gold = gold_vector(gold_for_task(wh, task), task, features["page_id"])
    summary = lf_summary(L, lfs, Y=gold, fault_counts=report.fault_counts, label_names=task.label_names)
    stats = lf_stats_rows(L, names, report.fault_counts, utcnow())
    wh.replace_partition("lf_stats", key, stats, where={"task": task.name})
    return {
        "dagster/row_count": len(L),
        "task": task.name,
        "lfs": len(lfs),
        "lf_fingerprint": task.fingerprint(),
        **({"stateful_lf_version": state_version} if state_version else {}),
        **{k: scalar(v) for k, v in label_matrix_stats(L).items()},
        "lf_errors": int(sum(report.fault_counts.values())),
        # votes for a label the task does not have, per LF (counted in lf_errors, stored as abstains)
        **({"lf_invalid_votes": MetadataValue.json(invalid)} if invalid else {}),
        "gold_rows_in_batch": int((gold != -1).sum()),
        "rows_per_second": round(float(report.rows_per_second), 1),
        "lf_engine": report.mode,
        "lf_summary": md_table(summary.reset_index(names="lf"), max_rows=200),
    }


def _lf_votes(spec: WeakSupervisionSpec, stateful_asset: str | None, context: AssetExecutionContext) -> Any:
    task, wh, store = spec.parts(context)
    keys = context.partition_keys
    compute = context.resources.compute
    per_partition = {
        key: _vote_partition(spec, stateful_asset, task, wh, store, compute, key) for key in keys
    }
    history, order = lf_health_history(wh, task.name), store.frame_keys(spec.features_asset)
    reports = {key: assess_lf_health(history, order, key) for key in keys}
    worst_key, worst = max(reports.items(), key=lambda kv: len(kv[1].alarms))
    return MaterializeResult(
        metadata=rollup(per_partition, totals=("dagster/row_count", "lf_errors", "gold_rows_in_batch")),
        check_results=[
            AssetCheckResult(
                check_name="lf_health",
                passed=all(r.passed for r in reports.values()),
                severity=AssetCheckSeverity.WARN,
                metadata={"partition": worst_key, **worst.metadata()},
            )
        ],
    )


# --------------------------------------------------------------------------- label_model


def _label_model(
    spec: WeakSupervisionSpec,
    stateful_asset: str | None,
    context: AssetExecutionContext,
    config: TrainingWindowConfig,
) -> MaterializeResult:
    n = spec.name
    task, wh, store = spec.parts(context)
    keys = _window(store.frame_keys(n("lf_votes")), config.window_partitions)
    if not keys:
        raise Failure(f"no {n('lf_votes')} partitions materialized yet: nothing to learn from")
    lf_columns = [*task.lf_names, *(STATEFUL_LF_NAMES if stateful_asset else ())]
    frames = ((k, store.read_frame(n("lf_votes"), k)) for k in keys)
    try:
        votes = stack_vote_frames(frames, lf_columns, task.lf_names, source=n("lf_votes"))
    except StaleVotesError as e:
        raise Failure(str(e)) from e
    if votes.empty:  # fitting on no rows would only fail later, in pandas, far from the cause
        raise Failure(
            f"the training window's {len(keys)} {n('lf_votes')} partition(s) ({', '.join(keys[:3])}"
            f"{' …' if len(keys) > 3 else ''}) hold no pages: nothing to learn from (empty batches, "
            "or every row quarantined: see the quarantine table)"
        )
    n_out_of_fold = 0
    if stateful_asset:  # the stateful LFs' votes on their own gold are in-sample: use cross-fitted ones
        out_of_fold = _read_optional(store, stateful_asset, OUT_OF_FOLD_KEY)
        votes, n_out_of_fold = with_out_of_fold_votes(votes, out_of_fold)
    L = votes[lf_columns].to_numpy(dtype="int64")
    gold_rows = gold_for_task(wh, task)
    gold = gold_vector(gold_rows, task, votes["page_id"])
    sampled = sampled_gold_mask(gold_rows, audit_pages(wh, task), votes["page_id"])
    result = fit_window(
        L,
        task.cardinality,
        gold,
        votes["page_id"],
        gold_roles(gold_rows),
        sampled=sampled,
        seed=config.seed,
        n_epochs=config.n_epochs,
    )
    store.write_frame(n("label_model"), "aggregator", result.choice.scores)
    store.write_frame(n("label_model"), "probs", probs_frame(votes, L, result, task.cardinality))
    if result.fit.class_prior is not None:
        store.write_frame(
            n("label_model"), "class_prior", pd.DataFrame(result.fit.class_prior.as_rows(task.label_names))
        )
    metadata = _label_model_metadata(result, task, keys, lf_columns, len(L))
    # gold that is a random sample (audit picks, CSV gold): the only gold the prior and choice use
    metadata["gold_rows_random_sample"] = int(((gold != -1) & sampled).sum())
    if stateful_asset:
        metadata["gold_rows_voted_out_of_fold"] = n_out_of_fold
    return MaterializeResult(metadata=metadata)


def _label_model_metadata(
    result: Any, task: Task, keys: list[str], lf_columns: list[str], n_rows: int
) -> dict[str, Any]:
    fit, choice = result.fit, result.choice
    return {
        "window_partitions": len(keys),
        "window": ", ".join(keys[:3]) + (" …" if len(keys) > 3 else ""),
        "dagster/row_count": n_rows,
        "coverage": float(fit.coverage),
        "gold_rows": int((result.gold != -1).sum()),
        "class_balance_source": fit.class_balance_source,
        "fit_method": fit.method,
        "aggregator": choice.chosen,
        "aggregator_criterion": choice.criterion,
        "aggregator_gold_anchors": choice.n_gold,
        "aggregator_scores": md_table(choice.scores),
        "notes": "; ".join(fit.notes) or "none",
        "label_model_vs_majority_vote": md_table(comparison_table(result, task.label_names, cell=scalar)),
        "learned_lf_accuracies": md_table(lf_weights_table(lf_columns, fit), max_rows=200),
        "class_balance": md_table(class_balance_table(fit, task.label_names)),
    }


# --------------------------------------------------------------------------- training_set


def _training_set(spec: WeakSupervisionSpec, context: AssetExecutionContext) -> MaterializeResult:
    n = spec.name
    task, wh, store = spec.parts(context)
    probs = store.read_frame(n("label_model"), "probs")
    features = pd.concat(
        [
            store.read_frame(spec.features_asset, k).assign(partition_key=k)
            for k in sorted(probs["partition_key"].unique())
        ],
        ignore_index=True,
    )
    roles = gold_roles(gold_for_task(wh, task))
    try:
        weak, gold_eval = window_training_set(features, probs, roles, task.cardinality, task.text_field)
    except OutOfStepError as e:
        raise Failure(str(e)) from e
    store.write_frame(n("training_set"), "weak", weak.frame)
    store.write_frame(n("training_set"), "gold_eval", gold_eval)
    weak_labels = pd.Series([task.label_names[i] for i in weak.frame["weak_label"]], dtype=object)
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(weak.frame),
            "weak_rows": len(weak.frame),
            "filtered_abstain_only": int(weak.n_filtered),
            "gold_eval_rows": len(gold_eval),
            "gold_override_rows": int(weak.n_gold_overrides),
            "weak_label_balance": counts_table(weak_labels, "weak label"),
            "mean_weak_confidence": float(weak.frame["weak_confidence"].mean()) if len(weak.frame) else 0.0,
        }
    )


# --------------------------------------------------------------------------- classifier


def _classifier(spec: WeakSupervisionSpec, context: AssetExecutionContext) -> MaterializeResult:
    n = spec.name
    task, wh, store = spec.parts(context)
    weak = store.read_frame(n("training_set"), "weak")
    gold_eval = store.read_frame(n("training_set"), "gold_eval")
    if weak.empty:
        raise Failure("the training set is empty: no page got a vote from any LF")
    compute: ComputeResource = context.resources.compute
    shift = label_shift(_read_optional(store, n("label_model"), "class_prior"), task.cardinality)
    if compute.classifier != "hashed-sgd":
        warm_embeddings(store, weak["partition_key"].dropna().unique().tolist())
    model, end_model = fit_candidate(
        weak, task, compute.classifier, compute.make_classifier, shift, compute.end_model_settings()
    )
    sampled = sampled_gold_mask(gold_for_task(wh, task), audit_pages(wh, task), gold_eval["page_id"])
    metrics, report = gold_report(model, gold_eval, task.label_names, sampled)
    metrics.update(aggregator_record(_read_optional(store, n("label_model"), "aggregator")))
    probs = store.read_frame(n("label_model"), "probs")
    metrics["agreement_with_label_model"] = agreement_with_label_model(model, weak, probs, task.cardinality)
    metrics["end_model"] = end_model
    if shift is not None:
        metrics["label_shift_factors"] = [round(float(f), 4) for f in shift]
    record, path = register_candidate(wh, store, task, model, metrics, weak, run_id=context.run_id)
    return MaterializeResult(metadata=_classifier_metadata(record, model, metrics, report, path))


def _classifier_metadata(record: Any, model: Any, metrics: dict, report: dict, path: Any) -> dict[str, Any]:
    end_model = metrics["end_model"]
    metadata: dict[str, Any] = {
        "model_version": record.version,
        "model_kind": type(model).__name__,
        "n_train": record.n_train,
        "n_gold_eval": int(metrics.get("n_gold") or 0),
        "accuracy_on_gold": scalar(metrics.get("accuracy")),
        "macro_f1_on_gold": scalar(metrics.get("macro_f1")),
        "majority_class_accuracy_on_gold": scalar(metrics.get("majority_class_accuracy")),
        # the same on the eval gold that is a random sample (audit picks, CSV gold): unbiased
        "n_gold_eval_random_sample": int(metrics.get("n_gold_random_sample") or 0),
        "accuracy_on_random_sample_gold": scalar(metrics.get("accuracy_random_sample")),
        "macro_f1_on_random_sample_gold": scalar(metrics.get("macro_f1_random_sample")),
        "agreement_with_label_model": scalar(metrics.get("agreement_with_label_model")),
        "artifact": MetadataValue.path(str(path)),
        "end_model": str(end_model.get("chosen")),
        "end_model_spec": str(end_model.get("spec")),
    }
    if end_model.get("candidates"):
        metadata["end_model_candidates"] = md_table(pd.DataFrame(end_model["candidates"]), max_rows=100)
        metadata["end_model_search_seconds"] = float(end_model.get("seconds", 0.0))
        metadata["end_model_criterion"] = str(end_model.get("criterion"))
        # an ensemble's best member: the one model the stream's online model follows
        metadata["end_model_best_single"] = str(end_model.get("best_single", end_model.get("chosen")))
        calibration = end_model.get("calibration")
        # the gold-free calibration of the best single candidate's probabilities (scale > 1 sharpens)
        metadata["end_model_calibration_scale"] = scalar(calibration["scale"] if calibration else None)
    if report.get("per_class") is not None:
        metadata["per_class_on_gold"] = md_table(report["per_class"].reset_index(names="class"))
    return metadata


# --------------------------------------------------------------------------- deployed_model, predictions


def _deployed_model(spec: WeakSupervisionSpec, context: AssetExecutionContext) -> MaterializeResult:
    task, wh, _store = spec.parts(context)
    registry = ModelRegistry(wh, task.name)
    try:
        champion, decision = promote_gated_candidate(registry, actor=f"dagster run {context.run_id}")
    except NoChampionError as e:
        raise Failure(str(e)) from e
    return MaterializeResult(
        metadata={
            "champion": champion.version,
            "decision": decision,
            "champion_macro_f1_on_gold": scalar(champion.metrics.get("macro_f1")),
            "champion_n_train": champion.n_train,
            "history": md_table(registry_history(registry)),
        }
    )


def _predictions(spec: WeakSupervisionSpec, context: AssetExecutionContext) -> MaterializeResult:
    task, wh, store = spec.parts(context)
    champion = ModelRegistry(wh, task.name).champion()
    if champion is None:
        raise Failure(f"no champion model for {task.name}: materialize {spec.name('deployed_model')} first")
    model = load_registered_model(champion.artifact_path, champion.artifact_sha256)
    compute: ComputeResource = context.resources.compute
    per_partition: dict[str, dict[str, Any]] = {}
    for key in context.partition_keys:
        scored = compute.score(model, store.read_frame(spec.features_asset, key), task, champion.version)
        written = wh.replace_partition(
            "predictions", key, scored.assign(predicted_at=utcnow()), where={"task": task.name}
        )
        md: dict[str, Any] = {
            "dagster/row_count": written,
            "model_version": champion.version,
            "scoring_engine": compute.engine,
        }
        if written:
            md["predicted_class_mix"] = counts_table(scored["label"], "label")
            md["mean_probability"] = float(scored["probability"].mean())
        per_partition[key] = md
    return MaterializeResult(metadata=rollup(per_partition, totals=("dagster/row_count",)))


# --------------------------------------------------------------------------- the factory


def build_weak_supervision_assets(
    spec: WeakSupervisionSpec | None = None,
    stateful_lfs_asset: str | None = None,
) -> WeakSupervisionAssets:
    """The chain for one task. ``stateful_lfs_asset`` names an asset whose LFs (learned from gold,
    ``labeling/stateful.py``) ``lf_votes`` appends to the task's LFs, as extra, stable columns."""
    spec = spec or WeakSupervisionSpec()
    n, resources = spec.name, spec.resource_keys
    features_key = AssetKey(spec.features_asset)
    extra_deps = [AssetKey(stateful_lfs_asset)] if stateful_lfs_asset else []

    @asset(
        name=n("lf_votes"),
        partitions_def=landing_partitions,
        backfill_policy=batch_backfill_policy,
        group_name=spec.group("labeling"),
        kinds={"snorkel", "parquet"},
        retry_policy=WAREHOUSE_RETRY_POLICY,
        deps=[features_key, *extra_deps],
        required_resource_keys=resources | COMPUTE_RESOURCE_KEYS,
        check_specs=[
            AssetCheckSpec(
                "lf_health",
                asset=n("lf_votes"),
                description=(
                    "Per-LF coverage against its recent baseline: an LF that falls silent or fires on "
                    "everything (a site redesign) is named, with since which partition and by how much."
                ),
            )
        ],
    )
    @transient_retries_only
    def lf_votes(context: AssetExecutionContext) -> MaterializeResult:
        """The label matrix L of each batch: one column per LF (-1 = abstain), plus the LF summary."""
        return _lf_votes(spec, stateful_lfs_asset, context)

    @asset(
        name=n("label_model"),
        group_name=spec.group("training"),
        kinds={"snorkel", "pytorch"},
        deps=[lf_votes, AssetKey("gold_labels")],
        required_resource_keys=resources,
    )
    def label_model(context: AssetExecutionContext, config: TrainingWindowConfig) -> MaterializeResult:
        """The chosen aggregator over the training window's votes -> probabilistic labels.

        Snorkel's LabelModel, majority vote, a gold-weighted vote, the triplet fit and Dawid-Skene
        are candidates (``training/aggregators.py``): training-side gold anchors them and picks one
        by cross-fitted accuracy, otherwise a gold-free criterion does (held-out LF agreement). Gold
        labels (where present) give the class balance and the evaluation.
        """
        return _label_model(spec, stateful_lfs_asset, context, config)

    @asset(
        name=n("training_set"),
        group_name=spec.group("training"),
        kinds={"pandas", "parquet"},
        deps=[label_model, features_key],
        required_resource_keys=resources,
    )
    def training_set(context: AssetExecutionContext) -> MaterializeResult:
        """Texts with probabilistic labels (abstain-only rows filtered), and the gold evaluation split.

        Gold pages are either evaluation rows (kept out of training) or, for human gold past the
        policy's threshold, overrides: training rows whose target is the gold label (one-hot). The
        two never overlap (``training/splits.py::GoldPolicy``).
        """
        return _training_set(spec, context)

    @asset(
        name=n("classifier"),
        group_name=spec.group("training"),
        kinds={"scikitlearn"},
        deps=[training_set],
        required_resource_keys=resources | COMPUTE_RESOURCE_KEYS,
    )
    def classifier(context: AssetExecutionContext) -> MaterializeResult:
        """A scikit-learn text classifier trained on the probabilistic labels, evaluated on gold.

        Its kind is the ``compute`` resource's ``classifier`` (``BEAMBELL_CLASSIFIER``). Saved with
        skops and recorded in the model registry as a candidate.
        """
        return _classifier(spec, context)

    @asset(
        name=n("deployed_model"),
        group_name=spec.group("serving"),
        kinds={"python"},
        deps=[classifier],
        required_resource_keys=resources,
    )
    def deployed_model(context: AssetExecutionContext) -> MaterializeResult:
        """The registry's champion: the newest candidate replaces it once it has passed the gates.

        The gates are blocking checks on the classifier (``defs/asset_checks.py``); this asset only
        acts on their recorded verdict, so materializing it alone can never skip them.
        """
        return _deployed_model(spec, context)

    @asset(
        name=n("predictions"),
        partitions_def=landing_partitions,
        backfill_policy=batch_backfill_policy,
        group_name=spec.group("serving"),
        kinds={"scikitlearn", "sql"},
        retry_policy=WAREHOUSE_RETRY_POLICY,
        deps=[features_key, deployed_model],
        required_resource_keys=resources | COMPUTE_RESOURCE_KEYS,
    )
    @transient_retries_only
    def predictions(context: AssetExecutionContext) -> MaterializeResult:
        """The champion's label and probability for every page of the batch, in the warehouse."""
        return _predictions(spec, context)

    return WeakSupervisionAssets(
        lf_votes=lf_votes,
        label_model=label_model,
        training_set=training_set,
        classifier=classifier,
        promotion_gates=build_promotion_gates(spec, classifier.key),
        deployed_model=deployed_model,
        predictions=predictions,
    )
