"""The weak-supervision chain for one task, built by a factory so every task gets the same shape.

    <features> -> lf_votes -> label_model -> training_set -> classifier -> deployed_model
                                                                              -> predictions

``build_weak_supervision_assets(prefix="")`` gives the default page-content task's assets;
another task (e.g. organisation type) calls it with its own prefix, task resource and features
asset, so no asset code is copied. The assets are thin: the logic lives in ``labeling/``,
``training/`` and ``serving/``.
"""

from datetime import UTC, datetime
from typing import Any

import numpy as np
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

from beambell_assets.assets.metadata import counts_table, md_table, rollup, scalar
from beambell_assets.assets.partitions import batch_backfill_policy, landing_partitions
from beambell_assets.assets.promotion import build_promotion_gates
from beambell_assets.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.compute import ComputeResource
from beambell_assets.execution import WAREHOUSE_RETRY_POLICY, transient_retries_only
from beambell_assets.feedback.gold import gold_for_task, gold_vector
from beambell_assets.labeling.analysis import label_matrix_stats, lf_summary
from beambell_assets.labeling.stateful import STATEFUL_LF_NAMES, build_stateful_lfs, load_current_state
from beambell_assets.labeling.task import Task
from beambell_assets.monitoring.lf_health import assess_lf_health, lf_health_history
from beambell_assets.serving.model_store import load_model, save_model
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.training.aggregators import choose_aggregator
from beambell_assets.training.class_prior import label_shift_factors
from beambell_assets.training.encoder import configured_encoder, warm_cache
from beambell_assets.training.end_model import fit_task_end_model
from beambell_assets.training.evaluation import evaluate
from beambell_assets.training.label_model import fit_label_model
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier
from beambell_assets.training.splits import gold_roles, split_gold
from beambell_assets.training.training_set import build_training_set, prob_columns


class TrainingWindowConfig(Config):
    """Which partitions the label model and classifier learn from (0 = all landed so far)."""

    window_partitions: int = 0
    n_epochs: int = 500
    seed: int = 0


def _agreement_with_label_model(
    model: SoftLabelTextClassifier, weak: pd.DataFrame, probs: pd.DataFrame, k: int, sample: int = 5_000
) -> float | None:
    """Share of training pages where the model predicts the label model's argmax.

    A gold-free sanity check: a classifier fitted to shuffled or misjoined labels agrees at about
    chance level (1/k), a healthy one far above it.
    """
    lm = probs.set_index("page_id")[prob_columns(k)]
    lm = lm[~lm.index.duplicated(keep="last")]
    rows = weak[weak["page_id"].isin(lm.index)]
    if rows.empty:
        return None
    rows = rows.sample(n=min(sample, len(rows)), random_state=0)
    expected = lm.loc[rows["page_id"]].to_numpy().argmax(axis=1)
    return float((np.asarray(model.predict(rows["text"].tolist())) == expected).mean())


def _warm_embeddings(store: ArtifactStore, keys: list[str]) -> int:
    """Page embeddings stored by ``page_features`` (when an encoder is configured) into this
    process's cache, so the end model's encoder candidate never re-encodes a page."""
    encoder = configured_encoder()
    if not encoder:
        return 0
    n = 0
    for key in keys:
        try:
            n += warm_cache(store.read_frame("page_embeddings", key), encoder)
        except (FileNotFoundError, OSError):
            continue  # a partition featurised before the encoder was configured: encoded on demand
    return n


def _label_shift(store: ArtifactStore, label_model_asset: str, k: int) -> np.ndarray | None:
    """Per-class weights correcting the training rows (covered by some LF) for the class mix of all
    rows, from the label model's gold-free prior estimate; None when there is none."""
    try:
        frame = store.read_frame(label_model_asset, "class_prior")
    except (FileNotFoundError, OSError, KeyError):
        return None
    if len(frame) != k:
        return None
    return label_shift_factors(frame["prior"].to_numpy(float), frame["prior_covered"].to_numpy(float))


def _aggregator_record(store: ArtifactStore, asset_name: str) -> dict[str, Any]:
    """The label model's aggregator choice and scores, for the registry record of the classifier."""
    try:
        scores = store.read_frame(asset_name, "aggregator")
    except (FileNotFoundError, OSError):
        return {}  # a label model materialized before aggregators were chosen
    chosen = scores.loc[scores["chosen"], "aggregator"]
    return {
        "label_model_aggregator": str(chosen.iloc[0]) if len(chosen) else None,
        "label_model_aggregator_scores": {
            str(a): None if pd.isna(v) else float(v)
            for a, v in zip(scores["aggregator"], scores["score"], strict=True)
        },
    }


#: ``lf_votes`` and ``predictions`` also need the ``compute`` resource: local or Apache Beam, chosen
#: per run (``compute.py``; the default comes from ``BEAMBELL_COMPUTE_ENGINE``).
COMPUTE_RESOURCE_KEYS: set[str] = {"compute"}


def _compute(context: AssetExecutionContext) -> ComputeResource:
    return context.resources.compute


def _window(keys: list[str], n: int) -> list[str]:
    return keys[-n:] if n > 0 else keys


def build_weak_supervision_assets(
    spec: WeakSupervisionSpec | None = None,
    stateful_lfs_asset: str | None = None,
) -> list[AssetsDefinition | AssetChecksDefinition]:
    """The chain for one task. ``stateful_lfs_asset`` names an asset whose LFs (learned from gold,
    ``labeling/stateful.py``) ``lf_votes`` appends to the task's LFs, as extra, stable columns."""
    spec = spec or WeakSupervisionSpec()
    n = spec.name
    resources = spec.resource_keys
    features_key = AssetKey(spec.features_asset)
    extra_deps = [AssetKey(stateful_lfs_asset)] if stateful_lfs_asset else []

    def _all_lfs(task: Task, store: ArtifactStore) -> tuple[list[Any], str | None]:
        if not stateful_lfs_asset:
            return list(task.lfs), None
        state = load_current_state(store, stateful_lfs_asset, task)
        return [*task.lfs, *build_stateful_lfs(state)], state.version

    def _lf_columns(task: Task) -> list[str]:
        return [*task.lf_names, *(STATEFUL_LF_NAMES if stateful_lfs_asset else ())]

    def _vote_partition(
        task: Task, wh: Warehouse, store: ArtifactStore, compute: ComputeResource, key: str
    ) -> dict[str, Any]:
        features = store.read_frame(spec.features_asset, key)
        lfs, state_version = _all_lfs(task, store)
        L, report = compute.apply_lfs(lfs, features)
        votes = pd.DataFrame(L, columns=[lf.name for lf in lfs])
        votes.insert(0, "page_id", features["page_id"].to_numpy())
        store.write_frame(n("lf_votes"), key, votes)

        gold = gold_vector(gold_for_task(wh, task), task, features["page_id"])
        summary = lf_summary(L, lfs, Y=gold, fault_counts=report.fault_counts, label_names=task.label_names)
        coverage = (L != -1).mean(axis=0) if len(L) else np.zeros(len(lfs))
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
            for j, lf in enumerate(lfs)
        ]
        wh.replace_partition("lf_stats", key, stats_rows, where={"task": task.name})
        return {
            "dagster/row_count": len(L),
            "task": task.name,
            "lfs": len(lfs),
            "lf_fingerprint": task.fingerprint(),
            **({"stateful_lf_version": state_version} if state_version else {}),
            **{k: scalar(v) for k, v in label_matrix_stats(L).items()},
            "lf_errors": int(sum(report.fault_counts.values())),
            "gold_rows_in_batch": int((gold != -1).sum()),
            "rows_per_second": round(float(report.rows_per_second), 1),
            "lf_engine": report.mode,
            "lf_summary": md_table(summary.reset_index(names="lf"), max_rows=200),
        }

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
        task, wh, store = spec.parts(context)
        keys = context.partition_keys
        compute = _compute(context)
        per_partition = {key: _vote_partition(task, wh, store, compute, key) for key in keys}
        order = store.frame_keys(spec.features_asset)
        history = lf_health_history(wh, task.name)
        reports = {key: assess_lf_health(history, order, key) for key in keys}
        worst = max(reports.items(), key=lambda kv: len(kv[1].alarms))
        return MaterializeResult(
            metadata=rollup(per_partition, totals=("dagster/row_count", "lf_errors", "gold_rows_in_batch")),
            check_results=[
                AssetCheckResult(
                    check_name="lf_health",
                    passed=all(r.passed for r in reports.values()),
                    severity=AssetCheckSeverity.WARN,
                    metadata={"partition": worst[0], **worst[1].metadata()},
                )
            ],
        )

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
        task, wh, store = spec.parts(context)
        keys = _window(store.frame_keys(n("lf_votes")), config.window_partitions)
        if not keys:
            raise Failure(f"no {n('lf_votes')} partitions materialized yet: nothing to learn from")
        frames = []
        lf_columns = _lf_columns(task)
        for k in keys:
            frame = store.read_frame(n("lf_votes"), k)
            for name in set(lf_columns) - set(frame.columns) - set(task.lf_names):
                frame[name] = -1  # a partition voted before the stateful LFs existed: they abstain
            missing = set(task.lf_names) - set(frame.columns)
            if missing:
                raise Failure(
                    f"{n('lf_votes')} partition {k} predates the current LF set (missing "
                    f"{sorted(missing)[:5]}): re-materialize it (backfill) before retraining"
                )
            frames.append(frame.assign(partition_key=k))
        votes = pd.concat(frames, ignore_index=True)
        L = votes[lf_columns].to_numpy(dtype=np.int64)
        gold_rows = gold_for_task(wh, task)
        gold = gold_vector(gold_rows, task, votes["page_id"])
        fit = fit_label_model(L, task.cardinality, gold=gold, seed=config.seed, n_epochs=config.n_epochs)
        # Only training-side gold (the humans' "train" role) anchors and chooses the aggregator:
        # evaluation gold must stay unseen by everything the classifier learns from.
        _, train_gold = split_gold(votes["page_id"].astype(str).tolist(), gold != -1, gold_roles(gold_rows))
        choice = choose_aggregator(
            L,
            task.cardinality,
            gold=np.where(train_gold, gold, -1),
            prior=fit.class_balance,
            seed=config.seed,
        )
        store.write_frame(n("label_model"), "aggregator", choice.scores)

        probs = pd.DataFrame(choice.fit.probs, columns=prob_columns(task.cardinality))
        probs.insert(0, "page_id", votes["page_id"].to_numpy())
        probs.insert(1, "partition_key", votes["partition_key"].to_numpy())
        probs["n_votes"] = (L != -1).sum(axis=1)
        probs["gold"] = gold
        store.write_frame(n("label_model"), "probs", probs)
        if fit.class_prior is not None:
            store.write_frame(
                n("label_model"), "class_prior", pd.DataFrame(fit.class_prior.as_rows(task.label_names))
            )

        weights = pd.DataFrame(
            {
                "lf": lf_columns,
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
                for name, m in {
                    **(fit.metrics or {}),
                    # scored on the gold that did not anchor it
                    f"chosen: {choice.chosen}": evaluate(
                        np.where(train_gold, -1, gold),
                        choice.fit.preds,
                        task.label_names,
                        proba=choice.fit.probs,
                    ),
                }.items()
            ]
            or [
                {"model": "label_model / majority_vote", "n_gold": 0, "note": "no gold labels to evaluate on"}
            ]
        )
        balance = pd.DataFrame({"class": task.label_names, "prior": fit.class_balance})
        if fit.class_prior is not None:  # the gold-free estimate, also on all rows and uncovered rows
            balance = pd.DataFrame(fit.class_prior.as_rows(task.label_names)).assign(used=fit.class_balance)
        return MaterializeResult(
            metadata={
                "window_partitions": len(keys),
                "window": ", ".join(keys[:3]) + (" …" if len(keys) > 3 else ""),
                "dagster/row_count": len(L),
                "coverage": float(fit.coverage),
                "gold_rows": int((gold != -1).sum()),
                "class_balance_source": fit.class_balance_source,
                "fit_method": fit.method,
                "aggregator": choice.chosen,
                "aggregator_criterion": choice.criterion,
                "aggregator_gold_anchors": choice.n_gold,
                "aggregator_scores": md_table(choice.scores),
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

        Gold pages are either evaluation rows (kept out of training) or, for human gold past the
        policy's threshold, overrides: training rows whose target is the gold label (one-hot). The
        two never overlap (``training/splits.py::GoldPolicy``).
        """
        task, wh, store = spec.parts(context)
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
        gold_all = probs["gold"].to_numpy()
        roles = gold_roles(gold_for_task(wh, task))
        is_gold, override = split_gold(probs["page_id"].astype(str).tolist(), gold_all != -1, roles)
        weak = build_training_set(
            features[~is_gold].reset_index(drop=True),
            probs["n_votes"].to_numpy()[~is_gold],
            prob_matrix[~is_gold],
            task.text_field,
            gold=np.where(override, gold_all, -1)[~is_gold],
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
                "gold_override_rows": int(weak.n_gold_overrides),
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
        required_resource_keys=resources | COMPUTE_RESOURCE_KEYS,
    )
    def classifier(context: AssetExecutionContext) -> MaterializeResult:
        """A scikit-learn text classifier trained on the probabilistic labels, evaluated on gold.

        Its kind is the ``compute`` resource's ``classifier`` (``BEAMBELL_CLASSIFIER``). Saved with
        skops and recorded in the model registry as a candidate.
        """
        task, wh, store = spec.parts(context)
        weak = store.read_frame(n("training_set"), "weak")
        gold_eval = store.read_frame(n("training_set"), "gold_eval")
        if weak.empty:
            raise Failure("the training set is empty: no page got a vote from any LF")
        y = weak[prob_columns(task.cardinality)].to_numpy()
        compute = _compute(context)
        shift = _label_shift(store, n("label_model"), task.cardinality)
        if compute.classifier == "hashed-sgd":  # the fast online model: no search
            model = compute.make_classifier(task.cardinality)
            model.fit(weak["text"].tolist(), y)
            end_model: dict[str, Any] = {"spec": "hashed-sgd", "chosen": "hashed-sgd", "features": "hashed"}
        else:
            _warm_embeddings(store, weak["partition_key"].dropna().unique().tolist())
            fitted = fit_task_end_model(
                weak["text"].tolist(), y, task.cardinality, task.end_model, class_weight=shift
            )
            model, end_model = fitted.model, fitted.metrics()
        preds = model.predict(gold_eval["text"].tolist()) if len(gold_eval) else np.array([], dtype=int)
        report = evaluate(gold_eval["gold"].to_numpy(), preds, task.label_names)
        metrics = {k: report[k] for k in ("accuracy", "macro_f1", "n_gold") if k in report}
        metrics["majority_class_accuracy"] = (
            float(gold_eval["gold"].value_counts(normalize=True).iloc[0]) if len(gold_eval) else None
        )
        metrics.update(_aggregator_record(store, n("label_model")))
        metrics["agreement_with_label_model"] = _agreement_with_label_model(
            model, weak, store.read_frame(n("label_model"), "probs"), task.cardinality
        )
        metrics["end_model"] = end_model
        if shift is not None:
            metrics["label_shift_factors"] = [round(float(f), 4) for f in shift]

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
            "model_kind": type(model).__name__,
            "n_train": len(weak),
            "n_gold_eval": int(metrics.get("n_gold") or 0),
            "accuracy_on_gold": scalar(metrics.get("accuracy")),
            "macro_f1_on_gold": scalar(metrics.get("macro_f1")),
            "majority_class_accuracy_on_gold": scalar(metrics.get("majority_class_accuracy")),
            "agreement_with_label_model": scalar(metrics.get("agreement_with_label_model")),
            "artifact": MetadataValue.path(str(path)),
            "end_model": str(end_model.get("chosen")),
            "end_model_spec": str(end_model.get("spec")),
        }
        if end_model.get("candidates"):
            metadata["end_model_candidates"] = md_table(pd.DataFrame(end_model["candidates"]), max_rows=100)
            metadata["end_model_search_seconds"] = float(end_model.get("seconds", 0.0))
        if report.get("per_class") is not None:
            metadata["per_class_on_gold"] = md_table(report["per_class"].reset_index(names="class"))
        return MaterializeResult(metadata=metadata)

    promotion_gates = build_promotion_gates(spec, classifier.key)

    @asset(
        name=n("deployed_model"),
        group_name=spec.group("serving"),
        kinds={"python"},
        deps=[classifier],
        required_resource_keys=resources,
    )
    def deployed_model(context: AssetExecutionContext) -> MaterializeResult:
        """The registry's champion: the newest candidate replaces it once it has passed the gates.

        The gates are blocking checks on the classifier (``assets/promotion.py``); this asset only
        acts on their recorded verdict, so materializing it alone can never skip them.
        """
        task, wh, _store = spec.parts(context)
        registry = ModelRegistry(wh, task.name)
        if not registry.versions():
            raise Failure(f"no {task.name} model in the registry yet")
        candidate = registry.latest_candidate()
        decision_text = "no new candidate"
        if candidate is not None:
            if registry.passed_gates(candidate.version):
                registry.promote(
                    candidate.version,
                    actor=f"dagster run {context.run_id}",
                    reason="passed the promotion gates",
                )
                decision_text = f"promoted {candidate.version}"
            else:
                decision_text = f"{candidate.version} has not passed the promotion gates: champion kept"
        champion = registry.champion()
        if champion is None:
            raise Failure(f"no champion for {task.name}: {decision_text}")
        history = pd.DataFrame(registry.events())[["at", "action", "version", "previous", "actor", "reason"]]
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
        task, wh, store = spec.parts(context)
        champion = ModelRegistry(wh, task.name).champion()
        if champion is None:
            raise Failure(f"no champion model for {task.name}: materialize {n('deployed_model')} first")
        model = load_model(champion.artifact_path, expected_sha256=champion.artifact_sha256)
        compute = _compute(context)
        per_partition: dict[str, dict[str, Any]] = {}
        for key in context.partition_keys:
            features = store.read_frame(spec.features_asset, key)
            scored = compute.score(model, features, task, champion.version)
            written = wh.replace_partition(
                "predictions", key, scored.assign(predicted_at=utcnow()), where={"task": task.name}
            )
            metadata: dict[str, Any] = {
                "dagster/row_count": written,
                "model_version": champion.version,
                "scoring_engine": compute.engine,
            }
            if written:
                metadata["predicted_class_mix"] = counts_table(scored["label"], "label")
                metadata["mean_probability"] = float(scored["probability"].mean())
            per_partition[key] = metadata
        return MaterializeResult(metadata=rollup(per_partition, totals=("dagster/row_count",)))

    return [lf_votes, label_model, training_set, classifier, promotion_gates, deployed_model, predictions]


def by_name(defs: list[AssetsDefinition | AssetChecksDefinition]) -> dict[str, AssetsDefinition]:
    """The factory's output keyed by asset name (checks by their node name, e.g. ``promotion_gates``)."""
    return {(d.key.to_user_string() if len(d.keys) == 1 else d.node_def.name): d for d in defs}
