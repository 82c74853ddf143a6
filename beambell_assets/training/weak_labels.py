"""The label model over a training window: fit, choose the aggregator, and the tables it reports.

Plain steps of the ``label_model`` asset (``defs/assets/weak_supervision.py``). Only training-side
gold (the humans' *train* role) anchors and chooses the aggregator: evaluation gold stays unseen by
everything the classifier learns from, and scores the chosen aggregator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.training.aggregators import AggregatorChoice, choose_aggregator
from beambell_assets.training.evaluation import evaluate
from beambell_assets.training.label_model import LabelModelFit, fit_label_model
from beambell_assets.training.splits import split_gold
from beambell_assets.training.training_set import prob_columns


@dataclass(frozen=True)
class WindowFit:
    """The label model, the chosen aggregator and which gold rows anchored it."""

    fit: LabelModelFit
    choice: AggregatorChoice
    gold: np.ndarray  # (n,) gold class per row, -1 unknown
    train_gold: np.ndarray  # (n,) bool: gold rows with the train role (anchors, never scored on)

    @property
    def eval_gold(self) -> np.ndarray:
        """Gold with the anchoring rows hidden: what the chosen aggregator is scored on."""
        return np.where(self.train_gold, -1, self.gold)


def fit_window(
    L: np.ndarray,
    k: int,
    gold: np.ndarray,
    page_ids: Sequence[str],
    roles: pd.Series,
    *,
    sampled: np.ndarray | None = None,
    seed: int = 0,
    n_epochs: int = 500,
) -> WindowFit:
    """Fit the label model on ``L`` and choose the aggregator, anchored on training-side gold.

    ``sampled`` (per row; ``feedback/gold.py::sampled_gold_mask``): gold that is a random sample of
    the pages. When given, only that gold sets the class prior and anchors and chooses the
    aggregator (and scores the label model against majority vote in ``fit.metrics``): gold the
    annotation queue asked for sits where the LFs fail, and weights or a prior fitted there are
    wrong for the other pages (measured: ``benchmarks/active_learning.py``).
    """
    unbiased = gold if sampled is None else np.where(np.asarray(sampled, dtype=bool), gold, -1)
    fit = fit_label_model(L, k, gold=unbiased, seed=seed, n_epochs=n_epochs)
    _, train_gold = split_gold([str(p) for p in page_ids], gold != -1, roles)
    anchors = np.where(train_gold, unbiased, -1)
    choice = choose_aggregator(L, k, gold=anchors, prior=fit.class_balance, seed=seed)
    return WindowFit(fit=fit, choice=choice, gold=gold, train_gold=train_gold)


def probs_frame(votes: pd.DataFrame, L: np.ndarray, result: WindowFit, k: int) -> pd.DataFrame:
    """The chosen aggregator's probabilities per row, with page, partition, vote count and gold."""
    probs = pd.DataFrame(result.choice.fit.probs, columns=prob_columns(k))
    probs.insert(0, "page_id", votes["page_id"].to_numpy())
    probs.insert(1, "partition_key", votes["partition_key"].to_numpy())
    probs["n_votes"] = (L != -1).sum(axis=1)
    probs["gold"] = result.gold
    return probs


def lf_weights_table(lf_columns: Sequence[str], fit: LabelModelFit) -> pd.DataFrame:
    """Learned accuracy, accuracy on gold and coverage per LF, most trusted first."""
    weights = pd.DataFrame(
        {
            "lf": list(lf_columns),
            "learned_accuracy": fit.lf_weights,
            "accuracy_on_gold": fit.lf_empirical_accuracy,
            "coverage": fit.lf_coverage,
        }
    )
    return weights.sort_values("learned_accuracy", ascending=False)


def comparison_table(
    result: WindowFit, label_names: Sequence[str], cell: Callable[[Any], Any] = lambda v: v
) -> pd.DataFrame:
    """The label model against majority vote on gold, and the chosen aggregator on the gold it did
    not anchor on; a one-row note when there is no gold. ``cell`` formats each metric value."""
    chosen = evaluate(result.eval_gold, result.choice.fit.preds, label_names, proba=result.choice.fit.probs)
    rows = [
        {"model": name, **{k: cell(m.get(k)) for k in ("n_gold", "accuracy", "macro_f1", "coverage")}}
        for name, m in {**(result.fit.metrics or {}), f"chosen: {result.choice.chosen}": chosen}.items()
    ]
    return pd.DataFrame(
        rows
        or [{"model": "label_model / majority_vote", "n_gold": 0, "note": "no gold labels to evaluate on"}]
    )


def class_balance_table(fit: LabelModelFit, label_names: Sequence[str]) -> pd.DataFrame:
    """The prior the label model used; with a gold-free estimate, that estimate on all, covered and
    uncovered rows, plus the prior used."""
    if fit.class_prior is not None:
        return pd.DataFrame(fit.class_prior.as_rows(label_names)).assign(used=fit.class_balance)
    return pd.DataFrame({"class": list(label_names), "prior": fit.class_balance})


def aggregator_record(scores: pd.DataFrame | None) -> dict[str, Any]:
    """The aggregator choice and its scores (the ``label_model``'s ``aggregator`` frame), for the
    classifier's registry record; empty for a label model fitted before aggregators were chosen."""
    if scores is None:
        return {}
    chosen = scores.loc[scores["chosen"], "aggregator"]
    return {
        "label_model_aggregator": str(chosen.iloc[0]) if len(chosen) else None,
        "label_model_aggregator_scores": {
            str(a): None if pd.isna(v) else float(v)
            for a, v in zip(scores["aggregator"], scores["score"], strict=True)
        },
    }


def partition_probs(probs: pd.DataFrame | None, key: str, page_ids: pd.Series, k: int) -> np.ndarray | None:
    """The label model's posterior for one partition's pages, in ``page_ids`` order (NaN rows for
    pages outside its window); None when the label model has no rows of the partition."""
    if probs is None:
        return None
    probs = probs[probs["partition_key"] == key]
    if probs.empty or any(c not in probs.columns for c in prob_columns(k)):
        return None
    by_page = probs.drop_duplicates("page_id", keep="last").set_index("page_id")[prob_columns(k)]
    return by_page.reindex(page_ids.astype(str)).to_numpy(dtype=float)
