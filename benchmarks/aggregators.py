"""Does the chosen label-model aggregator earn its keep? Every aggregator vs majority vote, on real data.

    python benchmarks/aggregators.py [--seeds 5] [--gold 100]

Data sets (``../shared/data``): the dev websites (the default task's LFs) and AG News small
(``examples/ag_news_task.py``'s LFs, train + test files). Truth is used only to score, except in
part (b) where a random ``--gold`` of the rows plays the training side of the gold split.

(a) **No gold.** Every aggregator (``training/aggregators.py``) fitted on all rows, uniform prior;
    ``choose_aggregator`` picks one by the gold-free criterion (held-out LF agreement). Target:
    chosen >= majority vote, on every data set and seed.
(b) **With gold.** Per seed, ``--gold`` random rows are training-side gold: they anchor every fit
    and ``choose_aggregator`` picks by cross-fitted gold accuracy; the class prior is their smoothed
    distribution. Scored on the other rows only. Target on the dev websites: chosen >= majority
    vote + 1 point (mean over seeds).

Accuracy counts rows no LF covered as wrong for every aggregator (the same rows for all).
Writes ``benchmarks/results/aggregators.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from beambell_assets.labeling.task import Task, load_task  # noqa: E402
from beambell_assets.settings import DEFAULT_TASK  # noqa: E402
from beambell_assets.training.aggregators import aggregators, choose_aggregator  # noqa: E402
from benchmarks.quality_report import apply_lfs, load_dev_frame  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "aggregators.md"
#: The aggregators compared and chosen among (``--candidates``; default: all).
CANDIDATES: list[str] = list(aggregators())


def _ag_news_task() -> Task:
    spec = importlib.util.spec_from_file_location("ag_news_example", ROOT / "examples" / "ag_news_task.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TASK


def load_ag_news(folder: Path, task: Task) -> tuple[pd.DataFrame, np.ndarray]:
    """AG News small (train + test) as a minimal features frame, and its class indices."""
    raw = pd.concat(
        [
            pd.read_csv(folder / f, header=None, names=["cls", "title", "text"])
            for f in ("train.csv", "test.csv")
        ],
        ignore_index=True,
    )
    text = raw["text"].fillna("").astype(str).str.replace("\\", " ", regex=False)
    features = pd.DataFrame(
        {
            "page_id": [f"ag-{i}" for i in range(len(raw))],
            "url": [f"https://ag-news.example/{i}" for i in range(len(raw))],
            "title": raw["title"].fillna("").astype(str),
            "text": text,
        }
    )
    y = (raw["cls"].to_numpy(dtype=np.int64) - 1).astype(np.int64)
    assert task.cardinality == 4
    return features, y


def datasets() -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """(name, L, y, k) for every data set present."""
    out = []
    dev = DATA / "website_classification_dev.csv"
    if dev.is_file():
        task = load_task(DEFAULT_TASK)
        features, y = load_dev_frame(dev, task)
        out.append(("dev websites", apply_lfs(task, features)[0], y, task.cardinality))
    ag = DATA / "ag_news_small"
    if (ag / "train.csv").is_file():
        task = _ag_news_task()
        features, y = load_ag_news(ag, task)
        out.append(("AG News small", apply_lfs(task, features)[0], y, task.cardinality))
    return out


def _acc(preds: np.ndarray, y: np.ndarray, rows: np.ndarray) -> float:
    return float((preds[rows] == y[rows]).mean())


def no_gold(name: str, L: np.ndarray, y: np.ndarray, k: int, seeds: int) -> list[dict[str, Any]]:
    rows = []
    everything = np.arange(len(y))
    for seed in range(seeds):
        choice = choose_aggregator(L, k, seed=seed, candidates=CANDIDATES)
        row: dict[str, Any] = {"data": name, "seed": seed}
        for agg in CANDIDATES:
            row[agg] = _acc(aggregators()[agg](L, k, seed=seed).preds, y, everything)
        row["chosen"] = choice.chosen
        row["chosen_accuracy"] = _acc(choice.fit.preds, y, everything)
        row["criterion_scores"] = choice.summary()["aggregator_scores"]
        rows.append(row)
    return rows


def with_gold(
    name: str, L: np.ndarray, y: np.ndarray, k: int, seeds: int, n_gold: int
) -> list[dict[str, Any]]:
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        gold_rows = rng.choice(len(y), size=min(n_gold, len(y) // 2), replace=False)
        gold = np.full(len(y), -1, dtype=np.int64)
        gold[gold_rows] = y[gold_rows]
        rest = np.setdiff1d(np.arange(len(y)), gold_rows)
        prior = (np.bincount(y[gold_rows], minlength=k) + 1.0) / (len(gold_rows) + k)
        choice = choose_aggregator(L, k, gold=gold, prior=prior, seed=seed, candidates=CANDIDATES)
        row: dict[str, Any] = {"data": name, "seed": seed}
        for agg in CANDIDATES:
            row[agg] = _acc(aggregators()[agg](L, k, gold=gold, prior=prior, seed=seed).preds, y, rest)
        row["chosen"] = choice.chosen
        row["chosen_accuracy"] = _acc(choice.fit.preds, y, rest)
        rows.append(row)
    return rows


def _table(df: pd.DataFrame) -> str:
    names = list(CANDIDATES)
    lines = [
        "| data | "
        + " | ".join(names)
        + " | chosen (times) | chosen accuracy | chosen − MV | chosen ≥ MV (seeds) |",
        "|:--|" + "--:|" * len(names) + ":--|--:|--:|--:|",
    ]
    for data, g in df.groupby("data", sort=False):
        cells = [f"{g[a].mean():.3f}" for a in names]
        picks = ", ".join(f"{k} ×{v}" for k, v in g["chosen"].value_counts().items())
        diff = g["chosen_accuracy"] - g["majority_vote"]
        ok = int((diff >= -1e-12).sum())
        lines.append(
            f"| {data} | " + " | ".join(cells) + f" | {picks} | {g['chosen_accuracy'].mean():.3f} "
            f"| {diff.mean() * 100:+.2f} pt | {ok}/{len(g)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--gold", type=int, default=100)
    parser.add_argument("--candidates", nargs="+", default=list(aggregators()), choices=list(aggregators()))
    parser.add_argument("--parts", nargs="+", default=["free", "gold"], choices=["free", "gold"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    CANDIDATES[:] = args.candidates
    t0 = time.perf_counter()
    sets = datasets()
    if not sets:
        print(f"skipped: no data under {DATA} (it lives in ../shared/data, absent in a user's clone)")
        return
    sections = {}
    if "free" in args.parts:
        free = pd.DataFrame([r for s in sets for r in no_gold(*s, args.seeds)])
        sections["free"] = _table(free)
        print(sections["free"], flush=True)
    if "gold" in args.parts:
        gold = pd.DataFrame([r for s in sets for r in with_gold(*s, args.seeds, args.gold)])
        sections["gold"] = _table(gold)
        print(sections["gold"], flush=True)
    seconds = time.perf_counter() - t0
    parts = " ".join(args.parts)
    command = (
        f"python benchmarks/aggregators.py --seeds {args.seeds} --gold {args.gold} --parts {parts}"
        f" --candidates {' '.join(args.candidates)}"
    )
    md = f"""# Label-model aggregators vs majority vote

Generated by `{command}` on
{datetime.now(UTC):%Y-%m-%d %H:%M} UTC (Python {platform.python_version()}) in {seconds:.0f} s.
Accuracy (mean over seeds; rows no LF covers count as wrong for every aggregator). Data:
{", ".join(f"{n} ({len(y)} rows, {L.shape[1]} LFs)" for n, L, y, _ in sets)}.

## (a) No gold: gold-free choice (held-out LF agreement)

All rows, uniform prior. Target: chosen ≥ majority vote on every data set.

{sections.get("free", "(not run)")}

## (b) {args.gold} training-side gold labels: anchored fits, choice by cross-fitted gold accuracy

Per seed {args.gold} random rows are gold (anchors + prior); scored on the other rows. Target on the
dev websites: chosen ≥ majority vote + 1 point.

{sections.get("gold", "(not run)")}
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md, encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
