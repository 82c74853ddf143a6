"""Which members should ``auto``'s ensemble average? Rules compared on the same held-out predictions.

    python benchmarks/ensemble_rules.py --encoder bundled [--task T --data FILE --map ...] \\
        [--one-vs-rest LABEL --positive-rate 0.1] [--seeds 0,1,2]

An experiment behind the product's choice (``training/end_model.py::ensemble_members``). Per outer
fold of a stratified k-fold split (as ``quality_report.py``: the label model is fitted on the
training folds' votes, no gold in training), the gold-free search scores every candidate on the
weak labels, every candidate is fitted on the fold's weak labels (calibrated ones with the
search's calibration) and its probabilities on the held-out fold are kept. Each rule then
averages the probabilities of the members it picks *from the gold-free ranking only*; gold scores
the result. Every rule is scored on the same predictions, so their differences are not fit noise.

Rules (``RULES``): the product's rule without an encoder and the one it had with one until
2026-12-07 (best of word, char and both, 1/6 each, plus the best encoder candidate, 1/2); the best
of each family (n-grams, encoder, both+encoder) with equal family weights; the best encoder and best
both+encoder candidate; every calibrated encoder and both+encoder candidate (the product's rule at
``2f3a2dd``); every encoder and both+encoder candidate; every calibrated encoder-only candidate;
every calibrated encoder and both+encoder candidate at the grid's smallest C (the product's rule
since) or at each (featurisation, targets) pair's best C by the ranking; the single best by the
gold-free ranking; and, for comparison, the best single candidate *chosen with gold* (an
optimistic bar: the maximum of 40 noisy means). The same question for the default path (no
encoder: the candidates' scores do not depend on which others are searched): the best of word,
char and both (the product) against every calibrated word, char and both candidate (at every C,
at each pair's best C) and the best of each at the smallest C, measured against the best n-gram
candidate chosen with gold. Beside that optimistic bar, the bar without its optimism: on each outer
fold the candidate that is best against gold on the *other* outer folds (``nested_gold_choice``:
what choosing with this much gold would give). ``--cache DIR`` keeps each seed's held-out
predictions, so a new rule is scored in seconds. Markdown: ``benchmarks/results/ensemble_rules*.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import pickle
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from beambell_assets.labeling.task import load_task  # noqa: E402
from beambell_assets.training.encoder import encoder_available, resolve_encoder_path  # noqa: E402
from beambell_assets.training.end_model import (  # noqa: E402
    ENCODER_FEATURES,
    FEATURISATIONS,
    NGRAM_FEATURES,
    candidates,
    ensemble_featurisations,
    ensemble_members,
    ensemble_weights,
    select_end_model,
)
from benchmarks.quality_report import (  # noqa: E402
    data_arguments,
    held_out_probs,
    labelled_votes,
    one_vs_rest,
    weak_fold,
    write_markdown,
)

#: One outer fold: the gold-free ranking (the search's table), each candidate's held-out
#: probabilities and the held-out truth.
Fold = dict


def _ranked(fold: Fold) -> pd.DataFrame:
    t = fold["table"]
    return t[t["features"] != "ensemble"].sort_values(
        ["cross_entropy", "expected_accuracy"], ascending=[True, False], kind="stable"
    )


def _best_of(fold: Fold, feats: tuple[str, ...]) -> list[str]:
    r = _ranked(fold)
    return list(r[r["features"].isin(feats)].drop_duplicates("features")["candidate"])


def _best_of_strongest(fold: Fold, feats: tuple[str, ...]) -> list[str]:
    r = _ranked(fold)
    r = r[r["features"].isin(feats) & (r["C"] == r["C"].min())]
    return list(r.drop_duplicates("features")["candidate"])


def _best_c(fold: Fold, feats: tuple[str, ...]) -> list[str]:
    """Every calibrated (featurisation, targets) pair of ``feats`` at the C the gold-free ranking
    puts first for that pair."""
    r = _ranked(fold)
    r = r[r["features"].isin(feats) & r["candidate"].str.endswith("/calibrated")]
    return list(r.drop_duplicates(["features", "targets"])["candidate"])


def _every(fold: Fold, feats: tuple[str, ...], calibrated_only: bool) -> list[str]:
    r = _ranked(fold)
    names = r[r["features"].isin(feats)]["candidate"]
    return [n for n in names if n.endswith("/calibrated") or not calibrated_only]


def _product(fold: Fold) -> list[str]:
    by_name = {c.name: c for c in fold["cands"]}
    pooled = ensemble_featurisations(FEATURISATIONS)
    return [c.name for c in ensemble_members(_ranked(fold), pooled, by_name)]


#: The rules with an encoder (every featurisation searched), then the same question for the
#: default path (no encoder: only word, char and both candidates may be members).
RULES: dict[str, Callable[[Fold], list[str]]] = {
    "best of word, char, both (1/6 each) + best encoder (1/2): until 2026-12-07": lambda f: _best_of(
        f, (*NGRAM_FEATURES, "encoder")
    ),
    "best of each featurisation, families n-gram / encoder / both+encoder (1/3 each)": lambda f: _best_of(
        f, FEATURISATIONS
    ),
    "best encoder + best both+encoder (1/2 each)": lambda f: _best_of(f, ENCODER_FEATURES),
    "every calibrated encoder and both+encoder candidate (8): the product at 2f3a2dd": lambda f: _every(
        f, ENCODER_FEATURES, True
    ),
    "every encoder and both+encoder candidate (16)": lambda f: _every(f, ENCODER_FEATURES, False),
    "every calibrated encoder candidate (4)": lambda f: _every(f, ("encoder",), True),
    "every calibrated encoder and both+encoder candidate at the smallest C (4): the product": _product,
    "every calibrated encoder and both+encoder candidate at its best C (4)": lambda f: _best_c(
        f, ENCODER_FEATURES
    ),
    "single best by the gold-free ranking": lambda f: list(_ranked(f)["candidate"][:1]),
    "no encoder: best of word, char, both (1/3 each): the product": lambda f: _best_of(f, NGRAM_FEATURES),
    "no encoder: every calibrated word, char, both candidate (12)": lambda f: _every(f, NGRAM_FEATURES, True),
    "no encoder: every calibrated word, char, both candidate at its best C (6)": lambda f: _best_c(
        f, NGRAM_FEATURES
    ),
    "no encoder: best of word, char, both at the smallest C (1/3 each)": lambda f: _best_of_strongest(
        f, NGRAM_FEATURES
    ),
}
NO_ENCODER = "no encoder: "


def _score(y: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    pred = q.argmax(axis=1)
    return float((pred == y).mean()), float(f1_score(y, pred, average="macro"))


NESTED_RULE = "single candidate chosen with gold on the other outer folds (nested)"


def nested_gold_choice(fold_scores: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """The bar without the selection's optimism: on each outer fold, the candidate of ``names`` with
    the best gold accuracy on the *other* outer folds (what a user with this much gold could pick),
    scored on this one; fold means of (accuracy, macro-F1). ``fold_scores``: per candidate, its
    (folds x 2) scores. The "best single candidate chosen with gold" row is the maximum of many
    noisy means on the same rows it is scored on, so it is above this by construction."""
    acc = np.array([fold_scores[n][:, 0] for n in names])  # (candidates, folds)
    picks = [names[int(np.argmax(np.delete(acc, i, axis=1).mean(axis=1)))] for i in range(acc.shape[1])]
    return np.mean([fold_scores[n][i] for i, n in enumerate(picks)], axis=0)


def evaluate(folds: list[Fold]) -> pd.DataFrame:
    """Accuracy / macro-F1 (fold means) of every rule, of the best single candidate by gold (for the
    no-encoder rules, the best word, char or both candidate) and of the nested gold choice."""
    rows = []
    for rule, pick in RULES.items():
        scores = []
        for f in folds:
            names = pick(f)
            cands = [c for c in f["cands"] if c.name in names]
            cands.sort(key=lambda c: names.index(c.name))
            w = ensemble_weights(cands)
            q = sum(wi * f["q"][c.name] for wi, c in zip(w, cands, strict=True))
            scores.append(_score(f["y"], q))
        acc, f1 = np.mean(scores, axis=0)
        rows.append({"rule": rule, "accuracy": acc, "macro_f1": f1})
    fold_scores = {n: np.array([_score(f["y"], f["q"][n]) for f in folds]) for n in folds[0]["q"]}
    per_cand = {n: s.mean(axis=0) for n, s in fold_scores.items()}
    cands = folds[0]["cands"]
    ngram = [c.name for c in cands if c.features in NGRAM_FEATURES]
    best = max(per_cand, key=lambda n: per_cand[n][0])
    best_ngram = max(ngram, key=lambda n: per_cand[n][0])
    for label, name, pool in (("", best, list(per_cand)), (NO_ENCODER, best_ngram, ngram)):
        acc, f1 = nested_gold_choice(fold_scores, pool)
        rows.append({"rule": f"{label}{NESTED_RULE}", "accuracy": acc, "macro_f1": f1})
        rows.append(
            {
                "rule": f"{label}best single candidate chosen with gold (the seed's own: see best_single)",
                "accuracy": per_cand[name][0],
                "macro_f1": per_cand[name][1],
            }
        )
    out = pd.DataFrame(rows)
    no_enc = out["rule"].str.startswith(NO_ENCODER)
    bar = np.where(no_enc, per_cand[best_ngram][0], per_cand[best][0])
    out["vs_best_single_points"] = 100 * (out["accuracy"] - bar)
    out["best_single"] = np.where(no_enc, best_ngram, best)
    return out


def penalty_twins(folds: list[Fold]) -> pd.DataFrame:
    """Each encoder-reading head at the grid's smallest C against its twin at the largest (same
    featurisation, targets and calibration), per fold: how much better it is against gold, and how
    often the gold-free ranking puts it first."""
    cands = folds[0]["cands"]
    lo, hi = min(c.C for c in cands), max(c.C for c in cands)
    rows = []
    for f in folds:
        table = f["table"].set_index("candidate")
        for c in cands:
            if c.features not in ENCODER_FEATURES or lo != c.C:
                continue
            twin = dataclasses.replace(c, C=hi).name
            rows.append(
                {
                    "heads": "calibrated" if c.calibrated else "uncalibrated",
                    "gold_gain": 100 * (_score(f["y"], f["q"][c.name])[0] - _score(f["y"], f["q"][twin])[0]),
                    "ranked_first": table.loc[c.name, "cross_entropy"] < table.loc[twin, "cross_entropy"],
                }
            )
    df = pd.DataFrame(rows)
    return (
        df.groupby("heads")
        .agg(
            twin_pairs=("gold_gain", "size"),
            smallest_c_better_points=("gold_gain", "mean"),
            smallest_c_better=("gold_gain", lambda g: int((g > 0).sum())),
            smallest_c_worse=("gold_gain", lambda g: int((g < 0).sum())),
            ranking_prefers_smallest_c=("ranked_first", "sum"),
        )
        .round({"smallest_c_better_points": 2})
    )


def collect(args: argparse.Namespace, seed: int, encoder: str) -> list[Fold]:
    """Every candidate's held-out probabilities and the gold-free table, per outer fold."""
    task = load_task(args.task)
    features, y, L = labelled_votes(args.data, task, args.map)
    k = task.cardinality
    if args.one_vs_rest:
        L, y, keep = one_vs_rest(L, y, task.label_index(args.one_vs_rest), args.positive_rate, seed)
        features, k = features.iloc[keep].reset_index(drop=True), 2
    texts = features[task.text_field].fillna("").astype(str).to_numpy(dtype=object)
    cands = candidates(FEATURISATIONS)
    folds: list[Fold] = []
    outer = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
    for tr, te in outer.split(np.zeros(len(y)), y):
        P, Xw, shift = weak_fold(features, L, tr, k, task.text_field, seed, 500)
        sel = select_end_model(
            Xw.tolist(), P, k, features=FEATURISATIONS, encoder_path=encoder, class_weight=shift, seed=seed
        )
        q = held_out_probs(cands, Xw, P, texts[te], k, shift, encoder, sel.calibrations)
        folds.append({"table": sel.table, "q": q, "y": y[te], "cands": cands})
    return folds


def cache_key(args: argparse.Namespace) -> str:
    """A digest of everything the held-out predictions depend on besides the seed (the data file's
    size and time too), so another task, mapping or subsample never reads this run's cache."""
    stat = args.data.stat()
    parts = (
        args.task,
        str(args.data.resolve()),
        stat.st_size,
        stat.st_mtime_ns,
        args.map,
        args.folds,
        args.one_vs_rest,
        args.positive_rate,
        args.encoder,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    parser.add_argument("--seeds", default="0", help="outer splits, comma-separated")
    parser.add_argument("--one-vs-rest", default=None)
    parser.add_argument("--positive-rate", type=float, default=None)
    parser.add_argument("--encoder", default="bundled", help="encoder path or 'bundled'")
    parser.add_argument("--out", type=Path, default=None, help="Markdown output")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="keep each seed's held-out predictions here",
    )
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: no data at {args.data} (the default lives in ../shared/data)")
        return
    encoder = resolve_encoder_path(args.encoder)
    if not encoder_available(encoder):
        print("skipped: the rules differ only with an encoder; install the encoder extra")
        return
    t0 = time.perf_counter()
    parts, twins = [], []
    from_cache: list[int] = []
    for seed in (int(s) for s in args.seeds.split(",")):
        cached = None if args.cache is None else args.cache / f"{args.data.stem}-{cache_key(args)}-{seed}.pkl"
        if cached is not None and cached.is_file():
            folds = pickle.loads(cached.read_bytes())
            from_cache.append(seed)
        else:
            folds = collect(args, seed, encoder)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(pickle.dumps(folds))
        table = evaluate(folds)
        twins.extend(folds)
        parts.append(table.assign(seed=seed))
        print(f"seed {seed}:\n{table.to_markdown(index=False, floatfmt='.3f')}\n", flush=True)
    every = pd.concat(parts)
    summary = every.groupby("rule", sort=False)[["accuracy", "macro_f1", "vs_best_single_points"]].mean()
    cmd = " ".join(sys.argv[1:] if argv is None else argv)
    md = (
        "# Ensemble rules with an encoder\n\n"
        f"`python benchmarks/ensemble_rules.py {cmd}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{time.perf_counter() - t0:.0f} s"
        + (f" (seeds {from_cache}: held-out predictions read from the cache)" if from_cache else "")
        + f", task `{args.task}`, data `{args.data.name}`"
        + (f", {args.one_vs_rest} vs the rest at {args.positive_rate}" if args.one_vs_rest else "")
        + f", {args.folds} outer folds per seed.\n\n"
        "## Means over the seeds (the gold-single row: each seed's own best candidate)\n\n"
        f"{summary.to_markdown(floatfmt='.3f')}\n\n"
        "## Smallest C against largest C, twin by twin (encoder-reading heads, every fold of every seed)\n\n"
        "Gold points the smallest-C head gains over its twin (mean over folds and twins), how many\n"
        "fold-twins it is better / worse in, and in how many the gold-free ranking (held-out\n"
        "cross-entropy against the weak labels) puts it first.\n\n"
        f"{penalty_twins(twins).to_markdown()}\n\n"
        "## Per seed\n\n"
        f"{every.to_markdown(index=False, floatfmt='.3f')}\n"
    )
    write_markdown(md, args.out or ROOT / "benchmarks" / "results" / "ensemble_rules.md")


if __name__ == "__main__":
    main()
