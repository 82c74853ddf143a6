"""A candidate classifier for a task: fit it on the weak training set, measure it, and what it
records. Plain steps of the ``classifier`` asset (``defs/assets/weak_supervision.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.labeling.task import Task
from beambell_assets.settings import EndModelSettings
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.training.class_prior import label_shift_factors
from beambell_assets.training.encoder import configured_encoder, warm_cache
from beambell_assets.training.end_model import fit_task_end_model
from beambell_assets.training.evaluation import evaluate
from beambell_assets.training.training_set import prob_columns

#: The fast online model (``compute.classifier``): fitted as is, no end-model search.
HASHED_SGD = "hashed-sgd"


def label_shift(prior: pd.DataFrame | None, k: int) -> np.ndarray | None:
    """Per-class weights correcting the training rows (covered by some LF) for the class mix of all
    rows, from the label model's gold-free ``class_prior`` frame; None when there is none."""
    if prior is None or len(prior) != k:
        return None
    return label_shift_factors(prior["prior"].to_numpy(float), prior["prior_covered"].to_numpy(float))


def warm_embeddings(
    store: ArtifactStore, keys: Iterable[str], embeddings_asset: str = "page_embeddings"
) -> int:
    """Page embeddings stored by ``page_features`` (when an encoder is configured) into this
    process's cache, so the end model's encoder candidate never re-encodes a page."""
    encoder = configured_encoder()
    if not encoder:
        return 0
    n = 0
    for key in keys:
        try:
            n += warm_cache(store.read_frame(embeddings_asset, key), encoder)
        except (FileNotFoundError, OSError):
            continue  # a partition featurised before the encoder was configured: encoded on demand
    return n


def fit_candidate(
    weak: pd.DataFrame,
    task: Task,
    kind: str,
    make_classifier: Callable[[int], Any],
    class_weight: np.ndarray | None = None,
    end_model: EndModelSettings | None = None,
) -> tuple[Any, dict[str, Any]]:
    """(model, end-model record): ``hashed-sgd`` as configured, otherwise the task's end-model search
    as ``end_model`` configures it (None: the environment's, ``BEAMBELL_END_MODEL`` …)."""
    y = weak[prob_columns(task.cardinality)].to_numpy()
    texts = weak["text"].tolist()
    if kind == HASHED_SGD:
        model = make_classifier(task.cardinality)
        model.fit(texts, y)
        return model, {"spec": HASHED_SGD, "chosen": HASHED_SGD, "features": "hashed"}
    fitted = fit_task_end_model(
        texts, y, task.cardinality, task.end_model, end_model, class_weight=class_weight
    )
    return fitted.model, fitted.metrics()


def agreement_with_label_model(
    model: Any, weak: pd.DataFrame, probs: pd.DataFrame, k: int, sample: int = 5_000
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


def gold_report(
    model: Any,
    gold_eval: pd.DataFrame,
    label_names: list[str],
    sampled: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict]:
    """(metrics, full report) of ``model`` on the evaluation gold: accuracy, macro F1, gold rows and
    the majority-class accuracy the promotion gate compares against.

    ``sampled`` (per ``gold_eval`` row; ``feedback/gold.py::sampled_gold_mask``) marks the gold that
    is a random sample of the pages. The annotation queue asks for the pages the models are unsure
    of, so accuracy on all of the gold understates accuracy on the pages; the same metrics on the
    random-sample rows alone (``*_random_sample``) are the unbiased estimate, noisier with fewer rows.
    """
    preds = model.predict(gold_eval["text"].tolist()) if len(gold_eval) else np.array([], dtype=int)
    report = evaluate(gold_eval["gold"].to_numpy(), preds, label_names)
    metrics = {k: report[k] for k in ("accuracy", "macro_f1", "n_gold") if k in report}
    metrics["majority_class_accuracy"] = (
        float(gold_eval["gold"].value_counts(normalize=True).iloc[0]) if len(gold_eval) else None
    )
    if sampled is not None:
        sampled = np.asarray(sampled, dtype=bool)
        if sampled.shape != (len(gold_eval),):
            raise ValueError(
                f"sampled must have one entry per gold row ({len(gold_eval)}), got {sampled.shape}"
            )
        metrics["n_gold_random_sample"] = int(sampled.sum())
        sub = (
            evaluate(gold_eval["gold"].to_numpy()[sampled], preds[sampled], label_names)
            if sampled.any()
            else {}
        )
        for k in ("accuracy", "macro_f1"):
            metrics[f"{k}_random_sample"] = sub.get(k)
    return metrics, report
