"""Active learning evidence: does beambell's annotation queue need fewer hand labels than random?

    python benchmarks/active_learning.py [--seeds 5] [--budgets 0 25 50 100 150 200 300]

A simulated annotator answers with the dev CSV's true categories
(``../shared/data/website_classification_dev.csv``, 591 sites with a category). Per seed:

1. a stratified split: 30 % held-out test pages (never labelled, never selected), 70 % the pool;
2. the default task's 85 LFs vote on every page; the Snorkel label model is fitted on the pool's
   votes (no gold, uniform class balance) — the weak labels;
3. for each strategy, labels are bought in steps up to each budget; after every step the
   classifier is retrained the way beambell trains it (``build_training_set`` with the gold labels
   so far as **overrides** of the weak labels — labelled pages no LF covered are added — then
   ``SoftLabelTextClassifier``) and scored on the test pages:

   * **ours** — beambell's annotation queue (``feedback/annotation_queue.py``): the pool pages
     scored by classifier margin and entropy (the current model), label-model entropy, LF conflict
     and LF coverage, then picked greedily with its near-duplicate and per-class limits, a fifth
     of each batch drawn uniformly at random (audit picks);
   * **random** — uniformly random pool pages.

   The label model's aggregator is chosen and anchored only on gold that is a random sample (all
   of random's, the queue's audit picks), as in the product: queue picks sit where the LFs fail.

The claim tested: ours reaches random's accuracy at 200 labels with at most 100 labels (means
over seeds; the spread is printed with them). Results: ``benchmarks/results/active_learning.md``
and ``active_learning.png``. The script skips with a message when the dev CSV is absent.

Ablation knobs (environment, echoed in the result file's command line): ``BENCH_QUEUE_WEIGHTS``,
``BENCH_MIN_GOLD``, ``BENCH_IN_SAMPLE_STATEFUL``, ``BENCH_CALIBRATE``, ``BENCH_STRATEGIES``,
``BENCH_GOLD_WEIGHT`` (gold rows' weight in the classifier) and ``BENCH_ORACLE=wrong|uncovered``
(what the pages the labels did not reach cost: the scored classifier also gets their true labels).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from beambell_assets.feedback.annotation_queue import (  # noqa: E402
    AUDIT_REASON,
    QueueWeights,
    build_queue,
    cold_start_labels,
    score_pages,
)
from beambell_assets.labeling.applier import FastLFApplier  # noqa: E402
from beambell_assets.labeling.stateful import build_stateful_lfs, fit_state_with_out_of_fold_votes  # noqa: E402
from beambell_assets.labeling.task import Task, load_task  # noqa: E402
from beambell_assets.settings import DEFAULT_TASK  # noqa: E402
from beambell_assets.training.aggregators import MIN_GOLD_FOR_SELECTION, choose_aggregator  # noqa: E402
from beambell_assets.training.calibration import fit_calibration  # noqa: E402
from beambell_assets.training.end_model import cv_splits  # noqa: E402
from beambell_assets.training.evaluation import evaluate  # noqa: E402
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier, soft_targets  # noqa: E402
from beambell_assets.training.training_set import build_training_set, prob_columns  # noqa: E402
from benchmarks.quality_report import apply_lfs, load_dev_frame  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "website_classification_dev.csv"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "active_learning.md"
DEFAULT_BUDGETS = (0, 25, 50, 100, 150, 200)
STRATEGIES = ("ours", "random")


#: The queue's weights (``BENCH_QUEUE_WEIGHTS="density=0,diversity=0"`` overrides some, for ablations).
WEIGHTS = QueueWeights(
    **{
        k: float(v)
        for k, v in (kv.split("=") for kv in os.environ.get("BENCH_QUEUE_WEIGHTS", "").split(",") if kv)
    }
)

#: Gold labels before the aggregator is chosen on gold (``BENCH_MIN_GOLD`` overrides, for ablations).
MIN_GOLD = int(os.environ.get("BENCH_MIN_GOLD", MIN_GOLD_FOR_SELECTION))

#: ``BENCH_IN_SAMPLE_STATEFUL=1``: the stateful LFs' in-sample votes on their own gold (the ablation).
IN_SAMPLE_STATEFUL = os.environ.get("BENCH_IN_SAMPLE_STATEFUL", "") == "1"
_IN_SAMPLE_NOTE = (
    " (**off in this run**: `BENCH_IN_SAMPLE_STATEFUL=1`, in-sample votes)" if IN_SAMPLE_STATEFUL else ""
)

#: Aggregators the loop chooses among after every step (Snorkel's LabelModel is left out only for
#: the benchmark's run time: it is refitted ~20 times per step by the choice).
LOOP_AGGREGATORS = ("majority_vote", "weighted_vote", "triplet", "dawid_skene")


@dataclass
class WeakLabels:
    """The label matrix after gold taught the stateful LFs, and the chosen, gold-anchored label model."""

    L: np.ndarray
    probs: np.ndarray
    aggregator: str


def weak_labels(
    task: Task,
    pool: pd.DataFrame,
    L_pool: np.ndarray,
    gold: np.ndarray,
    seed: int,
    sampled: np.ndarray | None = None,
) -> WeakLabels:
    """beambell's use of gold before training: it refits the stateful LFs (``labeling/stateful.py``),
    whose votes join the matrix, and it anchors and chooses the aggregator (``training/aggregators``)
    on the gold that is a random sample (``sampled``; default: all of it), as the product does."""
    known = gold != -1
    L = L_pool
    if known.any():
        state, out_of_fold = fit_state_with_out_of_fold_votes(
            pool.loc[known, task.text_field].tolist(),
            gold[known].tolist(),
            task=task.name,
            label_names=task.label_names,
            text_fields=(task.text_field,),
        )
        if state.fitted:
            L_state, _ = FastLFApplier(build_stateful_lfs(state), n_jobs=1).apply(pool)
            if not IN_SAMPLE_STATEFUL:  # as the product: cross-fitted votes on the gold they learned from
                L_state[known] = out_of_fold
            L = np.hstack([L_pool, L_state])
    agg_gold = gold if sampled is None else np.where(sampled, gold, -1)
    choice = choose_aggregator(
        L, task.cardinality, gold=agg_gold, seed=seed, candidates=LOOP_AGGREGATORS, min_gold=MIN_GOLD
    )
    return WeakLabels(L=L, probs=choice.fit.probs, aggregator=choice.chosen)


#: ``BENCH_CALIBRATE=1``: every classifier (the ceiling's too) gets the end model's gold-free
#: calibration (``training/calibration.py``), fitted on its own 3-fold held-out predictions.
CALIBRATE = os.environ.get("BENCH_CALIBRATE", "") == "1"


#: ``BENCH_GOLD_WEIGHT=w``: gold rows weigh ``w`` in the classifier's fit (weak rows 1).
GOLD_WEIGHT = float(os.environ.get("BENCH_GOLD_WEIGHT", "1"))

#: ``BENCH_ORACLE=wrong|uncovered``: what limits a budget. Picks follow the real loop, but the
#: classifier that is scored also gets the true label of every unlabelled pool page whose weak label
#: is wrong (``wrong``) or that no LF covers (``uncovered``), as if those were fixed for free.
ORACLE = os.environ.get("BENCH_ORACLE", "")
if ORACLE not in ("", "wrong", "uncovered"):
    raise SystemExit(f"BENCH_ORACLE must be 'wrong' or 'uncovered', not {ORACLE!r}")
_ORACLE_NOTE = (
    f"\n- **An oracle run** (`BENCH_ORACLE={ORACLE}`): the picks are the real loop's, but every scored "
    "classifier also had the true label of each unlabelled pool page "
    + ("whose weak label was wrong" if ORACLE == "wrong" else "that no LF covered")
    + ": the accuracies are what fixing those pages for free would buy, not the queue's."
    if ORACLE
    else ""
)


def fit_classifier(
    texts: list[str], targets: np.ndarray, k: int, sample_weight: np.ndarray | None = None
) -> SoftLabelTextClassifier:
    """The benchmark's classifier (``SoftLabelTextClassifier`` defaults), calibrated if asked."""
    clf = SoftLabelTextClassifier(n_classes=k).fit(texts, targets, sample_weight=sample_weight)
    if CALIBRATE:
        probs = soft_targets(targets, len(texts), k)
        held_out = np.zeros_like(probs)
        arr = np.asarray(texts, dtype=object)
        for tr, te in cv_splits(probs.argmax(axis=1), 3, 1, 0):
            fold = SoftLabelTextClassifier(n_classes=k).fit(arr[tr].tolist(), probs[tr])
            held_out[te] = fold.predict_proba(arr[te].tolist())
        clf.set_calibration(fit_calibration(held_out, probs))
    return clf


def _command() -> str:
    """This run's command line, with the ``BENCH_*`` knobs it ran under."""
    knobs = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")]
    return " ".join([*knobs, "python benchmarks/active_learning.py", *sys.argv[1:]])


def train_and_score(
    task: Task,
    pool: pd.DataFrame,
    weak: WeakLabels,
    gold: np.ndarray,
    test_texts: list[str],
    y_test: np.ndarray,
) -> tuple[dict[str, Any], SoftLabelTextClassifier]:
    """beambell's training step (weak labels, gold overrides) and its scores on the test pages."""
    ts = build_training_set(pool, weak.L, weak.probs, task.text_field, gold=gold)
    probs = ts.frame[prob_columns(task.cardinality)].to_numpy()
    weight = np.where(ts.frame["label_source"] == "gold", GOLD_WEIGHT, 1.0)
    clf = fit_classifier(ts.frame["text"].tolist(), probs, task.cardinality, weight)
    ev = evaluate(y_test, clf.predict(test_texts), task.label_names)
    return {
        "accuracy": ev["accuracy"],
        "macro_f1": ev["macro_f1"],
        "n_train": ts.n_kept,
        "aggregator": weak.aggregator,
    }, clf


def queue_picks(
    task: Task,
    pool: pd.DataFrame,
    weak: WeakLabels,
    proba: np.ndarray,
    labeled: set[str],
    n: int,
    seed: int = 0,
) -> tuple[list[str], list[str]]:
    """The next ``n`` pages beambell's annotation queue would send to Label Studio: the product's
    ``build_queue`` (the ``annotation_queue`` asset's call, ``proba`` the current classifier's on
    the pool), cold start included."""
    picks, _ = build_queue(
        pool,
        weak.L,
        task.label_names,
        text_field=task.text_field,
        budget=n,
        classifier_proba=proba,
        lm_proba=weak.probs,
        gold_page_ids=frozenset(labeled),
        weights=WEIGHTS,
        seed=seed,
    )
    audit = picks.loc[picks["reason"] == AUDIT_REASON, "page_id"].tolist()
    return picks["page_id"].tolist(), audit


def how_hidden(
    task: Task,
    pool: pd.DataFrame,
    weak: WeakLabels,
    proba: np.ndarray,
    unlabelled: np.ndarray,
    wrong: np.ndarray,
    step: int,
) -> dict[str, float]:
    """How the unlabelled pages with a wrong weak label look to the queue's signals: the share the
    current classifier agrees with, the label model's confidence in them (and in the right ones),
    and how many of them the queue's score puts among the next ``step`` pages (before diversity);
    ``proba``: the current classifier's on the pool."""
    page_ids = pool["page_id"].tolist()
    k = task.cardinality
    score = score_pages(page_ids, weak.L, k, classifier_proba=proba, lm_proba=weak.probs, weights=WEIGHTS)
    candidates = np.flatnonzero(unlabelled)
    top = candidates[np.argsort(-score["score"].to_numpy()[candidates], kind="stable")[:step]]
    right = unlabelled & (weak.L != -1).any(axis=1) & ~wrong
    confidence, label = weak.probs.max(axis=1), weak.probs.argmax(axis=1)

    def mean(values: np.ndarray) -> float:
        return float(values.mean()) if len(values) else float("nan")

    return {
        "clf_agrees_on_wrong": mean(proba.argmax(axis=1)[wrong] == label[wrong]),
        "lm_confidence_wrong": mean(confidence[wrong]),
        "lm_confidence_right": mean(confidence[right]),
        "wrong_in_next_step": int(wrong[top].sum()),
    }


def lf_precision(L: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> float:
    """Share of the LFs' votes on ``rows`` that name the row's label (all LFs pooled, vote-weighted).

    On a strategy's gold pages against the gold, and on the pages nobody labelled against the
    truth: the two agree when the gold is a random sample; where they part, gold picked for being
    hard makes the LFs look worse than they are, which is why only the queue's audit picks may fit
    the label model (``feedback/gold.py::sampled_gold_mask``)."""
    votes = L[rows]
    fired = votes != -1
    return float((votes == labels[rows, None])[fired].mean()) if fired.any() else float("nan")


def run_seed(
    task: Task,
    features: pd.DataFrame,
    y: np.ndarray,
    L: np.ndarray,
    seed: int,
    budgets: list[int],
    step: int = 25,
) -> list[dict[str, Any]]:
    idx = np.arange(len(y))
    pool_idx, test_idx = train_test_split(idx, test_size=0.3, stratify=y, random_state=seed)
    pool = features.iloc[pool_idx].reset_index(drop=True)
    L_pool, y_pool = L[pool_idx], y[pool_idx]
    test_texts = features[task.text_field].iloc[test_idx].tolist()
    y_test = y[test_idx]
    no_gold = np.full(len(pool), -1, dtype=np.int64)
    lf_only = weak_labels(task, pool, L_pool, no_gold, seed)
    lf_only_preds = lf_only.probs.argmax(axis=1)
    lf_only_preds[~(L_pool != -1).any(axis=1)] = -1
    truth = dict(zip(pool["page_id"], y_pool, strict=True))
    # The ceiling: the same classifier trained on every pool page's true label (the most labels can buy).
    full = fit_classifier(pool[task.text_field].tolist(), y_pool, task.cardinality)
    ceiling = evaluate(y_test, full.predict(test_texts), task.label_names)["accuracy"]
    order = np.random.default_rng(seed).permutation(pool["page_id"].to_numpy()).tolist()
    pool_texts = pool[task.text_field].fillna("").astype(str).tolist()
    rows: list[dict[str, Any]] = []
    for strategy in [s for s in STRATEGIES if s in os.environ.get("BENCH_STRATEGIES", "ours,random")]:
        labeled: list[str] = []
        audited: set[str] = set()  # queue audit picks: the queue's random sample
        weak, proba = lf_only, None  # proba: the queue's classifier's on the pool
        # The queue is asked in steps of ``step`` labels (a human's batch), scored at each budget.
        stops = sorted({*budgets, *range(0, max(budgets) + 1, step)})
        for budget in stops:
            budget = min(budget, len(pool))
            need = budget - len(labeled)
            if need > 0:
                done = set(labeled)
                if strategy == "random":
                    labeled += [p for p in order if p not in done][:need]
                else:
                    assert proba is not None  # stops start at 0: a model exists before any pick
                    picked, audit = queue_picks(task, pool, weak, proba, done, need, seed + len(labeled))
                    labeled += picked
                    audited |= set(audit)
            done = set(labeled)
            gold = np.array([truth[p] if p in done else -1 for p in pool["page_id"]])
            if strategy == "random" and budget not in budgets:
                continue  # random picks do not depend on the model: train only where scored
            # random picks are a random sample; of the queue's, only its audit picks are
            sampled = None if strategy == "random" else pool["page_id"].isin(audited).to_numpy()
            weak = weak_labels(task, pool, L_pool, gold, seed, sampled) if done else lf_only
            scores, clf = train_and_score(task, pool, weak, gold, test_texts, y_test)
            if strategy == "ours":  # once per model: the next picks and the diagnosis read it
                proba = clf.predict_proba(pool_texts)
            if budget not in budgets:
                continue
            # the unlabelled pool pages the training set has wrong (weak label) or lacks (no LF vote)
            covered, unknown = (weak.L != -1).any(axis=1), gold == -1
            wrong = unknown & covered & (weak.probs.argmax(axis=1) != y_pool)
            scores["lf_precision_gold"] = lf_precision(L_pool, y_pool, ~unknown)
            scores["lf_precision_unlabelled"] = lf_precision(L_pool, y_pool, unknown)
            if strategy == "ours":
                scores |= how_hidden(task, pool, weak, proba, unknown, wrong, step)
            if ORACLE and done:  # score a model with those pages fixed; the loop keeps its own
                fix = wrong if ORACLE == "wrong" else unknown & ~covered
                fixed = np.where(fix, y_pool, gold)
                scores |= train_and_score(task, pool, weak, fixed, test_texts, y_test)[0]
            rows.append(
                {
                    "seed": seed,
                    "strategy": strategy,
                    "labels": len(labeled),
                    **scores,
                    "weak_wrong_fixed": int(((gold != -1) & (lf_only_preds != y_pool)).sum()),
                    "unlabelled_wrong": int(wrong.sum()),
                    "unlabelled_uncovered": int((unknown & ~covered).sum()),
                    "ceiling": ceiling,
                }
            )
    return rows


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["labels", "strategy"])
    out = g[["accuracy", "macro_f1"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["weak_wrong_fixed"] = g["weak_wrong_fixed"].mean()
    for col in ("lf_precision_gold", "lf_precision_unlabelled"):
        out[col] = g[col].mean()
    out["ceiling_mean"] = g["ceiling"].mean()
    out["ceiling_std"] = g["ceiling"].std()
    return out.reset_index()


def verdict(summary: pd.DataFrame) -> dict[str, Any]:
    """Does ours reach random's mean accuracy at 200 labels with at most 100 labels?"""
    pivot = summary.pivot(index="labels", columns="strategy", values="accuracy_mean")
    spread = summary.pivot(index="labels", columns="strategy", values="accuracy_std")
    target_budget = 200 if 200 in pivot.index else int(max(pivot.index))
    random_at_target = float(pivot.loc[target_budget, "random"])
    gain = random_at_target - float(pivot.loc[0, "random"])
    reached = [b for b in pivot.index if pivot.loc[b, "ours"] >= random_at_target]
    first = int(min(reached)) if reached else None
    return {
        "target_budget": target_budget,
        "random_at_target": random_at_target,
        "at_zero": float(pivot.loc[0, "ours"]),
        "ours_first_budget": first,
        "passed": first is not None and first <= 100,
        # random gaining nothing over the weak-only model makes "reaching" it trivially true
        "vacuous": random_at_target <= float(pivot.loc[0, "ours"]),
        # random's own gain from its labels is smaller than the seed-to-seed spread
        "within_noise": bool(gain < float(np.nan_to_num(spread.loc[target_budget, "random"]))),
        "random_gain": gain,
        "ours_at_100": float(pivot.loc[100, "ours"]) if 100 in pivot.index else None,
        # the classifier trained on every pool page's true label: no strategy can beat it
        "ceiling": float(summary["ceiling_mean"].iloc[0]),
        "ceiling_sd": float(np.nan_to_num(summary["ceiling_std"].iloc[0])),
    }


def plot(results: list[dict[str, Any]], path: Path, n_seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.2 * len(results), 4.5), dpi=110, squeeze=False)
    for ax, res in zip(axes[0], results, strict=True):
        summary, v = res["summary"], res["verdict"]
        for strategy, color in (("ours", "tab:blue"), ("random", "tab:orange")):
            s = summary[summary["strategy"] == strategy].sort_values("labels")
            x, m, sd = s["labels"], s["accuracy_mean"], s["accuracy_std"].fillna(0)
            label = "beambell queue (uncertainty + diversity)" if strategy == "ours" else "random"
            ax.plot(x, m, marker="o", color=color, label=label)
            ax.fill_between(x, m - sd, m + sd, color=color, alpha=0.15)
        ax.axhline(v["random_at_target"], color="grey", ls="--", lw=1, label=f"random @ {v['target_budget']}")
        ax.axhline(v["ceiling"], color="black", ls=":", lw=1, label="all pool labels (ceiling)")
        ax.axvline(100, color="grey", ls=":", lw=1)
        ax.set_xlabel("gold labels used (simulated annotator)")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{res['name']} (mean ± sd, {n_seeds} seeds)", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _gap(ceiling: float, value: float) -> str:
    return f"{abs(ceiling - value):.3f} {'below' if value <= ceiling else 'above'} it"


def _section(res: dict[str, Any]) -> str:
    summary, v, per_seed = res["summary"], res["verdict"], res["per_seed"]
    table = summary.copy()
    acc = zip(table["accuracy_mean"], table["accuracy_std"], strict=True)
    f1 = zip(table["macro_f1_mean"], table["macro_f1_std"], strict=True)
    table["accuracy"] = [f"{m:.3f} ± {s:.3f}" for m, s in acc]
    table["macro_f1"] = [f"{m:.3f} ± {s:.3f}" for m, s in f1]
    wide = table.pivot(index="labels", columns="strategy", values="accuracy")
    wide_f1 = table.pivot(index="labels", columns="strategy", values="macro_f1")
    fixed = table.pivot(index="labels", columns="strategy", values="weak_wrong_fixed")
    lines = [
        "| labels | ours accuracy | random accuracy | ours macro-F1 | random macro-F1 "
        "| wrong weak labels fixed (ours / random) | lead (paired, mean ± sd) | lead > spread |",
        "|--:|--:|--:|--:|--:|--:|--:|:--|",
    ]
    paired = per_seed.pivot_table(index=["seed", "labels"], columns="strategy", values="accuracy")
    lead = (paired["ours"] - paired["random"]).groupby(level="labels").agg(["mean", "std"])
    spread = summary.groupby("labels")["accuracy_std"].max()
    for b in wide.index:
        lm, ls = float(lead.loc[b, "mean"]), float(np.nan_to_num(lead.loc[b, "std"]))
        ok = "—" if b == 0 else ("yes" if lm > float(np.nan_to_num(spread.loc[b])) else "no")
        lines.append(
            f"| {b} | {wide.loc[b, 'ours']} | {wide.loc[b, 'random']} | {wide_f1.loc[b, 'ours']} | "
            f"{wide_f1.loc[b, 'random']} | {fixed.loc[b, 'ours']:.1f} / {fixed.loc[b, 'random']:.1f} "
            f"| {lm:+.3f} ± {ls:.3f} | {ok} |"
        )
    prec = table.pivot(
        index="labels", columns="strategy", values=["lf_precision_gold", "lf_precision_unlabelled"]
    )
    prec_lines = [
        "| labels | ours: on its gold | ours: on the unlabelled pages | random: on its gold "
        "| random: on the unlabelled pages |",
        "|--:|--:|--:|--:|--:|",
    ]
    for b in wide.index[1:]:
        cells = [
            prec.loc[b, (c, st)]
            for st in ("ours", "random")
            for c in ("lf_precision_gold", "lf_precision_unlabelled")
        ]
        prec_lines.append(f"| {b} | " + " | ".join(f"{x:.3f}" for x in cells) + " |")
    seeds = per_seed.pivot_table(index="seed", columns=["strategy", "labels"], values="accuracy")
    ob, rb = max(b for b in wide.index if b <= 100), v["target_budget"]
    seed_lines = [f"| seed | ours @{ob} | random @{rb} | ours @{ob} ≥ random @{rb} |", "|--:|--:|--:|:--|"]
    for s in seeds.index:
        o, r = seeds.loc[s, ("ours", ob)], seeds.loc[s, ("random", rb)]
        seed_lines.append(f"| {s} | {o:.3f} | {r:.3f} | {'yes' if o >= r else 'no'} |")
    first = v["ours_first_budget"]
    outcome = ("PASS" if v["passed"] else "FAIL") + (" (an oracle run: not the target)" if ORACLE else "")
    claim = (
        f"**{outcome}**: random reaches {v['random_at_target']:.3f} mean accuracy "
        f"at {v['target_budget']} labels; ours reaches it "
        + (f"at {first} labels" if first is not None else "at no budget tried")
        + (f" (ours at 100 labels: {v['ours_at_100']:.3f})." if v["ours_at_100"] is not None else ".")
    )
    if v["within_noise"] and not v["vacuous"]:
        claim += (
            f" Not a meaningful win: random's {v['target_budget']} labels add only "
            f"{v['random_gain']:+.3f} over the weak-only model, less than the seed-to-seed spread, "
            "so the curves are indistinguishable here."
        )
    claim += (
        f" The ceiling — the same classifier trained on the true labels of the whole pool — is "
        f"{v['ceiling']:.3f} ± {v['ceiling_sd']:.3f}: random's {v['target_budget']} labels are "
        f"{_gap(v['ceiling'], v['random_at_target'])}"
        + (
            f", ours at 100 labels {_gap(v['ceiling'], v['ours_at_100'])}."
            if v["ours_at_100"] is not None
            else "."
        )
    )
    if v["vacuous"]:
        claim += (
            f" Vacuous here: random's {v['target_budget']} labels do not beat the weak-only model "
            f"({v['at_zero']:.3f} at 0 labels), so there was nothing to reach."
        )
    return f"""## {res["name"]}

{res["description"]}

{chr(10).join(lines)}

{claim}

Precision of the task's LFs (their votes that name the page's label, all LFs pooled; mean over
seeds) on each strategy's gold pages and on the pool pages it left unlabelled: a random sample's
gold sees the LFs as they are, the queue's hard picks see them worse (why only its audit picks fit
the label model):

{chr(10).join(prec_lines)}

Per seed:

{chr(10).join(seed_lines)}
"""


def to_markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    sections = "\n".join(_section(r) for r in results)
    return f"""# Active learning: beambell's annotation queue vs random selection

Generated by `{_command()}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC
(Python {platform.python_version()}) in {meta["seconds"]:.0f} s.

- Data: `{Path(meta["data"]).name}`, {meta["n_rows"]} sites with a category; per seed a stratified
  30 % test split ({meta["n_test"]} pages, never selected) and a 70 % pool ({meta["n_pool"]} pages)
  the simulated annotator labels from (with the true category).
- Weak labels: the scenario's LFs; after every step beambell's use of the gold so far: the
  stateful LFs (`labeling/stateful.py`: gold-mined keywords, gold naive Bayes) are refitted on it
  and join the label matrix, and the aggregator is chosen and anchored on the gold that is a
  random sample of the pool, as the product does (`training/weak_labels.py::fit_window`, `sampled`):
  all of random's picks, only the queue's audit picks
  (`training/aggregators.py`: {", ".join(LOOP_AGGREGATORS)}; Snorkel's LabelModel is left out of
  the loop for run time only; gold-free choice below {MIN_GOLD} such labels, uniform class
  prior). Classifier: `SoftLabelTextClassifier` defaults, retrained on the weak labels with all the
  gold so far as overrides. Otherwise the same procedure for both strategies.
- Ours: `feedback/annotation_queue.py::build_queue` (the `annotation_queue` asset's code path): a
  cold start of representative picks (density × coverage on TF-IDF) until the task has
  {cold_start_labels(16, WEIGHTS)} labels (for the 16 classes; 0 = no cold start), a share
  {WEIGHTS.audit_share:g} of every batch as uniformly random audit picks, and `score_pages`
  with the current classifier's probabilities, the chosen label model's posterior and the
  classifier/label-model
  disagreement, and `select_diverse` with information density and diversity against picked and
  labelled pages; weights `{WEIGHTS}`), asked for {meta["step"]} pages at a time; scored at {meta["budgets"]}.
- Stateful LFs vote only once validated: out-of-fold precision on the gold so far (Wilson lower
  bound ≥ 0.5), so a model learned from a few unusual pages cannot outvote the hand-written LFs.
  On the gold pages they learned from, the label model sees their cross-fitted votes
  (`labeling/stateful.py::fit_state_with_out_of_fold_votes`), as in the product{_IN_SAMPLE_NOTE}.
- Seeds: {meta["seeds"]} (the split, the label model, the random order and the LF subset change
  with the seed); mean ± sd over seeds.{_ORACLE_NOTE}

![learning curves]({meta["png"]})

{sections}
## Reading it

- At 0 labels both strategies are the same model (weak labels only).
- The reduced-LF scenario stands in for a young task whose LFs cover less: there gold labels have
  room to matter, and it shows what the queue's choice of pages is worth.
- "lead" is ours − random at the same budget, per seed (paired: same split, LFs and test pages);
  "spread" is the seed-to-seed standard deviation of the accuracies.
- "wrong weak labels fixed" counts labelled pool pages whose LF-only label-model prediction was
  wrong or missing: the queue aims at those, random finds them at their base rate.
"""


SCENARIOS: tuple[tuple[str, float, str], ...] = (
    ("All LFs", 1.0, "The default task's full LF set (what the weak labels look like today)."),
    (
        "A random quarter of the LFs",
        0.25,
        "Per seed, a random 25 % of the LFs (the same subset for both strategies): weaker, sparser "
        "weak labels, as for a task whose LFs are still being written.",
    ),
)


def _lf_subset(m: int, keep: float, seed: int) -> np.ndarray:
    """The LF columns a seed uses: all, or a seeded random ``keep`` share (at least three)."""
    cols = np.arange(m)
    if keep >= 1.0:
        return cols
    return np.sort(np.random.default_rng(1000 + seed).choice(cols, max(3, round(keep * m)), replace=False))


def _seed_job(job: tuple[Any, ...]) -> tuple[list[dict[str, Any]], float]:
    task, features, y, L_all, keep, seed, budgets, step = job
    t0 = time.perf_counter()
    rows = run_seed(task, features, y, L_all[:, _lf_subset(L_all.shape[1], keep, seed)], seed, budgets, step)
    for r in rows:
        acc = f"accuracy {r['accuracy']:.3f} ({r['aggregator']})"
        print(f"  seed {seed} {r['strategy']:6s} {r['labels']:4d} labels: {acc}", flush=True)
    return rows, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> list[dict[str, Any]] | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--task", default=DEFAULT_TASK)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", type=int, nargs="+", default=list(DEFAULT_BUDGETS))
    parser.add_argument("--scenarios", type=int, default=len(SCENARIOS), help="run the first N scenarios")
    parser.add_argument("--step", type=int, default=25, help="labels per annotation batch (queue)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run in parallel processes")
    parser.add_argument("--only", type=int, default=None, help="run only scenario N (0-based)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(
            f"skipped: the dev CSV is not at {args.data} "
            "(it lives in ../shared/data, absent in a user's clone)"
        )
        return None
    budgets = sorted(set(args.budgets) | {0})
    t0 = time.perf_counter()
    task = load_task(args.task)
    features, y = load_dev_frame(args.data, task)
    L_all, _ = apply_lfs(task, features)
    results: list[dict[str, Any]] = []
    chosen = SCENARIOS[: args.scenarios] if args.only is None else SCENARIOS[args.only : args.only + 1]
    for name, keep, description in chosen:
        rows: list[dict[str, Any]] = []
        jobs = [(task, features, y, L_all, keep, seed, budgets, args.step) for seed in range(args.seeds)]
        if args.jobs > 1:  # seeds are independent: one process each
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                outputs = list(pool.map(_seed_job, jobs))
        else:
            outputs = [_seed_job(job) for job in jobs]
        for seed, (seed_rows, seconds) in enumerate(outputs):
            rows += seed_rows
            print(f"{name}, seed {seed}: {seconds:.0f} s", flush=True)
        n_lfs = len(_lf_subset(L_all.shape[1], keep, 0))
        per_seed = pd.DataFrame(rows)
        summary = summarize(per_seed)
        if set(per_seed["strategy"]) != set(STRATEGIES):  # an ablation of one strategy: no verdict
            per_seed.to_csv(args.out.with_suffix(f".{name.split()[0].lower()}.csv"), index=False)
            print(summary.to_string())
            continue
        description = f"{description} LFs used: {n_lfs} of {L_all.shape[1]}."
        results.append(
            {
                "name": name,
                "description": description,
                "summary": summary,
                "verdict": verdict(summary),
                "per_seed": per_seed,
            }
        )
    if not results:
        return None
    n_test = math.ceil(len(y) * 0.3)  # train_test_split rounds the test share up
    meta = {
        "data": str(args.data),
        "n_rows": len(y),
        "n_test": n_test,
        "n_pool": len(y) - n_test,
        "budgets": budgets,
        "step": args.step,
        "seeds": args.seeds,
        "seconds": time.perf_counter() - t0,
        "png": args.out.with_suffix(".png").name,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png = args.out.with_suffix(".png")
    plot(results, png, args.seeds)
    md = to_markdown(results, meta)
    args.out.write_text(md, encoding="utf-8")
    pd.concat([r["per_seed"].assign(scenario=r["name"]) for r in results]).to_csv(
        args.out.with_suffix(".csv"), index=False
    )
    print(md)
    print(f"written to {args.out} and {png}")
    return results


if __name__ == "__main__":
    main()
