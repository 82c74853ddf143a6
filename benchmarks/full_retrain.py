"""Benchmark: a full retrain (L, label model, training set, classifier) at 10k, 100k and 1M pages.

    python benchmarks/full_retrain.py [--sizes 10000 100000 1000000] [--reference-max 100000]

Pages: the 611 real dev-set sites resampled and perturbed (``benchmarks/lf_applier.py``'s
generator: tokens dropped/duplicated/shuffled locally, URL paths swapped), written once as Parquet
files of page features (50,000 pages a file, 4,096-row row groups) under ``--pages-dir`` and
reused; making them is not timed. Each page keeps the category of the dev row it came from
(``source_label``), used only to check quality, never to train.

Two ways to retrain, side by side in one run:

* ``streaming`` = :func:`beambell_assets.training.streaming_retrain.streaming_retrain`: one pass
  over the files in a process pool (LFs + hashed term counts per chunk), Snorkel's label model on
  the int8 ``L``, then an SGD classifier on hashed tf-idf, chunk by chunk.
* ``in-memory`` (the reference: what the asset graph does today): the pages in one DataFrame,
  ``FastLFApplier`` over it, the same ``fit_label_model``, and ``SoftLabelTextClassifier``
  (TF-IDF + L-BFGS logistic regression) on every covered page at once. Run up to
  ``--reference-max`` pages (it holds all text and features in memory).

Measured per run: wall seconds per stage, CPU seconds (this process and its workers), cost per
page (wall µs and CPU ms), and peak memory of the whole process tree sampled every 0.25 s from
``/proc``: PSS (each shared page counted once: the fair total for a pool of forked or
forkserver workers) and the RSS sum (which counts shared pages in every process, so it
over-states). Quality: the classifier's accuracy and macro-F1 on the real labelled dev set, and
the label model's accuracy on covered pages against ``source_label`` - both flattered by the
synthetic pages being perturbed copies of the same 611 sites, so they are sanity checks that
training worked, not quality claims (those are in ``benchmarks/quality_report.py``).
Results: printed and saved to ``benchmarks/results/full_retrain.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from lf_applier import (  # noqa: E402 - the page generator and machine description
    DEFAULT_DATA,
    load_dev,
    machine_lines,
    publish,
    synthetic_pages,
    tree_pids,
)

from beambell_assets.labeling.applier import FastLFApplier  # noqa: E402
from beambell_assets.labeling.tasks.web_content import TASK  # noqa: E402
from beambell_assets.training.evaluation import evaluate  # noqa: E402
from beambell_assets.training.label_model import fit_label_model  # noqa: E402
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier  # noqa: E402
from beambell_assets.training.streaming_retrain import streaming_retrain  # noqa: E402

DEFAULT_OUT = REPO / "benchmarks" / "results" / "full_retrain.md"
DEFAULT_PAGES = Path(os.environ.get("BEAMBELL_BENCH_PAGES", "/tmp/beambell-bench-pages"))
FILE_ROWS = 50_000
ROW_GROUP = 4096
TARGET_SECONDS, TARGET_MIB, TARGET_RATIO = 600, 4096, 1.5


# --------------------------------------------------------------------------- memory (process tree)


CLK = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    """utime + stime of one process, clock ticks (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def _tree_memory_mib(root: int) -> tuple[float, float]:
    """(PSS sum, RSS sum) of ``root`` and its descendants, MiB."""
    pss = rss = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return pss / 1024, rss / 1024


class PeakMemory:
    """Samples the process tree's PSS and RSS, and its CPU time, in a thread.

    CPU: the last utime + stime seen for every process of the tree while it ran (``getrusage``
    would miss pool workers, which are children of the forkserver, not of this process); a worker
    loses at most its last 0.25 s.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.before_pss, self.before_rss = _tree_memory_mib(os.getpid())
        self.pss, self.rss = self.before_pss, self.before_rss
        self._start_ticks = {pid: _cpu_ticks(pid) for pid in tree_pids(os.getpid())}
        self._ticks: dict[int, int] = dict(self._start_ticks)
        self.stage = "start"
        self.by_stage: dict[str, float] = {}  # peak PSS per stage (MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        return sum(t - self._start_ticks.get(pid, 0) for pid, t in self._ticks.items()) / CLK

    def _sample(self) -> None:
        root = os.getpid()
        pss, rss = _tree_memory_mib(root)
        self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
        self.by_stage[self.stage] = max(self.by_stage.get(self.stage, 0.0), pss)
        for pid in tree_pids(root):
            ticks = _cpu_ticks(pid)
            if ticks:
                self._ticks[pid] = max(self._ticks.get(pid, 0), ticks)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# --------------------------------------------------------------------------- pages


def _dev_base(data: Path) -> pd.DataFrame:
    base = load_dev(data)
    raw = pd.read_csv(data)
    base["source_label"] = [
        TASK.label_names.index(c) if isinstance(c, str) and c in TASK.label_names else -1
        for c in raw["Category"]
    ]
    return base


def _write_file(args: tuple[Path, Path, int, int]) -> str:
    data, path, n, seed = args
    df = synthetic_pages(_dev_base(data), n, seed=seed)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp, row_group_size=ROW_GROUP)
    tmp.replace(path)
    return str(path)


def page_files(data: Path, pages_dir: Path, n: int, seed: int, jobs: int) -> list[Path]:
    """Parquet files holding ``n`` synthetic pages (made once, then reused)."""
    out = pages_dir / f"{n}-seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    specs = []
    for i, start in enumerate(range(0, n, FILE_ROWS)):
        path = out / f"pages-{i:04d}.parquet"
        if not path.exists():
            specs.append((data, path, min(FILE_ROWS, n - start), seed * 1_000_003 + i))
    if specs:
        print(f"  making {n:,} pages in {out} ({len(specs)} files) ...", flush=True)
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_write_file, specs))
    return sorted(out.glob("pages-*.parquet"))


# --------------------------------------------------------------------------- runs


def _quality(predict_proba, dev: pd.DataFrame) -> tuple[float, float]:
    labelled = dev[dev["source_label"] >= 0]
    pred = predict_proba(labelled["text"].fillna("").tolist()).argmax(axis=1)
    res = evaluate(labelled["source_label"].to_numpy(), pred, list(TASK.label_names))
    return res["accuracy"], res["macro_f1"]


def _lm_agreement(preds: np.ndarray, covered: np.ndarray, source: np.ndarray) -> float:
    ok = covered & (source >= 0)
    return float((preds[ok] == source[ok]).mean()) if ok.any() else float("nan")


def run_streaming(files: list[Path], dev: pd.DataFrame, jobs: int, epochs: int) -> dict:
    gc.collect()
    t0 = time.perf_counter()
    with PeakMemory() as mem:

        def stage(name: str, done: int, total: int) -> None:
            mem.stage = name

        res = streaming_retrain(
            files, TASK, n_jobs=jobs, epochs=epochs, extra_columns=("source_label",), progress=stage
        )
    wall, cpu = time.perf_counter() - t0, mem.cpu_seconds
    acc, f1 = _quality(res.classifier.predict_proba, dev)
    lm_acc = _lm_agreement(res.label_model.preds, res.label_model.covered, res.extra_columns["source_label"])
    return {
        "n": res.n_pages,
        "wall": wall,
        "cpu": cpu,
        "stages": res.stage_seconds,
        "pss": mem.pss,
        "rss": mem.rss,
        "before": mem.before_pss,
        "coverage": res.label_model.coverage,
        "lm_acc": lm_acc,
        "clf_acc": acc,
        "clf_f1": f1,
        "by_stage": dict(mem.by_stage),
        "how": f"{jobs} workers (forkserver), {res.n_chunks} chunks, {epochs} SGD epoch(s) over"
        f" {res.classifier.expanded_rows_:,} expanded rows ({res.n_training_rows:,} covered pages)",
    }


def run_in_memory(files: list[Path], dev: pd.DataFrame, jobs: int) -> dict:
    gc.collect()
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    with PeakMemory() as mem:
        s = time.perf_counter()
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        L, _ = FastLFApplier(TASK.lfs, n_jobs=jobs, start_method="forkserver").apply(df)
        stages["label_matrix"] = time.perf_counter() - s
        s = time.perf_counter()
        fit = fit_label_model(L, TASK.cardinality, seed=0, label_names=list(TASK.label_names))
        stages["label_model"] = time.perf_counter() - s
        s = time.perf_counter()
        texts = df["text"].fillna("").to_numpy(dtype=object)[fit.covered]
        probs = fit.probs[fit.covered]
        stages["training_set"] = time.perf_counter() - s
        s = time.perf_counter()
        clf = SoftLabelTextClassifier(n_classes=TASK.cardinality, random_state=0).fit(texts, probs)
        stages["classifier"] = time.perf_counter() - s
    wall, cpu = time.perf_counter() - t0, mem.cpu_seconds
    acc, f1 = _quality(clf.predict_proba, dev)
    lm_acc = _lm_agreement(fit.preds, fit.covered, df["source_label"].to_numpy())
    n = len(df)
    del df, L, fit, texts, probs, clf
    return {
        "n": n,
        "wall": wall,
        "cpu": cpu,
        "stages": stages,
        "pss": mem.pss,
        "rss": mem.rss,
        "before": mem.before_pss,
        "coverage": float("nan"),
        "lm_acc": lm_acc,
        "clf_acc": acc,
        "clf_f1": f1,
        "how": f"one DataFrame; FastLFApplier ({jobs} workers); TF-IDF + L-BFGS",
    }


def _row(engine: str, r: dict, base_cost: float | None) -> dict:
    per_page_us = 1e6 * r["wall"] / r["n"]
    st = r["stages"]
    return {
        "pages": f"{r['n']:,}",
        "retrain": engine,
        "wall s": f"{r['wall']:.1f}",
        "L s": f"{st['label_matrix']:.1f}",
        "label model s": f"{st['label_model']:.1f}",
        "training set s": f"{st['training_set']:.1f}",
        "classifier s": f"{st['classifier']:.1f}",
        "wall µs/page": f"{per_page_us:.0f}",
        "cost/page vs 10k": f"{per_page_us / base_cost:.2f}x" if base_cost else "",
        "CPU ms/page": f"{1e3 * r['cpu'] / r['n']:.2f}",
        "peak PSS MiB (tree)": f"{r['pss']:,.0f}",
        "peak RSS sum MiB": f"{r['rss']:,.0f}",
        "LM acc vs source": f"{r['lm_acc']:.3f}",
        "classifier acc / macro-F1 on dev": f"{r['clf_acc']:.3f} / {r['clf_f1']:.3f}",
        "how": r["how"],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--reference-max", type=int, default=100_000, help="largest size for the in-memory run")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--pages-dir", type=Path, default=DEFAULT_PAGES)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if not args.data.is_file():
        sys.exit(f"dev data not found: {args.data} (pass --data)")
    started = dt.datetime.now(dt.UTC)
    machine = machine_lines()
    dev = _dev_base(args.data)
    rows, results = [], {}
    base_cost = None
    for n in sorted(args.sizes):
        files = page_files(args.data, args.pages_dir, n, args.seed, args.jobs)
        print(f"{n:,} pages: streaming retrain ...", flush=True)
        r = run_streaming(files, dev, args.jobs, args.epochs)
        results[(n, "streaming")] = r
        cost = r["wall"] / r["n"]
        base_cost = base_cost or (cost if n == min(args.sizes) else None)
        rows.append(_row("streaming", r, 1e6 * base_cost if base_cost else None))
        print(rows[-1], flush=True)
        if n <= args.reference_max:
            print(f"{n:,} pages: in-memory retrain (reference) ...", flush=True)
            ref = run_in_memory(files, dev, args.jobs)
            results[(n, "in-memory")] = ref
            rows.append(_row("in-memory (reference)", ref, None))
            print(rows[-1], flush=True)
    big = max(args.sizes)
    verdict = []
    if (big, "streaming") in results and base_cost:
        r = results[(big, "streaming")]
        ratio = (r["wall"] / r["n"]) / base_cost
        verdict = [
            f"Targets at {big:,} pages (streaming): wall {r['wall']:.0f} s vs ≤ {TARGET_SECONDS} s -"
            f" {'met' if r['wall'] <= TARGET_SECONDS else 'MISSED'}; peak PSS {r['pss']:,.0f} MiB vs"
            f" ≤ {TARGET_MIB:,} MiB - {'met' if r['pss'] <= TARGET_MIB else 'MISSED'} (RSS sum"
            f" {r['rss']:,.0f} MiB); cost per page {ratio:.2f}x the {min(args.sizes):,}-page run vs"
            f" ≤ {TARGET_RATIO}x - {'met' if ratio <= TARGET_RATIO else 'MISSED'}.",
            "",
        ]
    stage_lines = [
        f"- peak PSS by stage, {n:,} pages (MiB): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in r["by_stage"].items() if k != "start")
        for (n, kind), r in results.items()
        if kind == "streaming"
    ]
    md = "\n".join(
        [
            "# Full retrain benchmark",
            "",
            f"`python benchmarks/full_retrain.py --sizes {' '.join(map(str, args.sizes))}"
            f" --reference-max {args.reference_max} --epochs {args.epochs}` - {started:%Y-%m-%d %H:%M} UTC",
            "",
            f"Default task `{TASK.name}`, {len(TASK.lfs)} LFs, {TASK.cardinality} classes."
            " Pages resampled and"
            " perturbed from the 611 real dev-set sites (mean text 5.4 KB), read from Parquet files"
            " (making them is not timed). The in-memory reference is the asset graph's retrain path.",
            "",
            pd.DataFrame(rows).to_markdown(index=False),
            "",
            *verdict,
            "- wall s: from the first file read to the fitted classifier (stages: L = LFs over every page,"
            " for streaming together with the hashed term counts).",
            "- CPU ms/page: CPU time of the whole process tree, workers included, sampled from /proc.",
            "- cost/page vs 10k: streaming wall time per page relative to the smallest streaming run.",
            "- peak PSS: the whole process tree (benchmark + workers), shared pages counted once; RSS sum"
            " counts them in every process. Both include what the benchmark holds before the run"
            " (the dev set, imports).",
            *stage_lines,
            "- LM acc vs source / classifier on dev: sanity checks (pages are perturbed copies of the dev"
            " sites), not quality claims.",
            "- Shared 2-core machine: wall-clock times move with what else runs.",
            "",
            "Machine:",
            "",
            *machine,
            "",
        ]
    )
    publish(md, args.out)


if __name__ == "__main__":
    main()
