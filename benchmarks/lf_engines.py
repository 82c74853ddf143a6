"""Benchmark: LF application rows/s by engine - local FastLFApplier, Beam DirectRunner, Snorkel.

    python benchmarks/lf_engines.py [--sizes 10000 100000 1000000] [--pandas-max-rows 20000]

Same LFs (the default task's), same pages, identical-L check in the same run. Pages are made by
``benchmarks/lf_applier.py``'s generator (the 611 dev-set sites resampled, texts perturbed, URL paths
swapped). Engines:

* ``local``: ``FastLFApplier(lfs)`` with a process pool over the usable cores;
* ``beam``: ``BeamLFApplier(lfs)`` on the DirectRunner, ``multi_processing`` mode, 2 SDK worker
  processes (pipeline start-up and staging of the chunks included in the time);
* ``snorkel-pandas``: ``PandasLFApplier(lfs).apply(df, fault_tolerant=True)`` - per row, ~50
  rows/s here, so it is timed on the first ``--pandas-max-rows`` rows and the table says so;
* ``snorkel-dask``: ``DaskLFApplier(lfs)`` over ``dd.from_pandas(df, npartitions=cores)`` with the
  ``processes`` scheduler, if dask is installed (same prefix as Snorkel pandas).

Every engine's ``L`` is compared element by element with the local applier's (on the prefix for the
Snorkel ones). Peak RSS per engine is sampled from ``/proc`` every 0.2 s over the benchmark process
*and all its children* (pool workers, Beam SDK workers, Dask workers), so it includes the frame the
benchmark holds; the RSS before the engine started is given too. Results: printed, and saved to
``benchmarks/results/lf_engines.md`` (``--out``). Sizes can be run separately.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from lf_applier import (  # noqa: E402 - the existing benchmark's page generator and machine description
    DEFAULT_DATA,
    cpu_seconds,
    load1,
    load_dev,
    machine_lines,
    publish,
    synthetic_pages,
    tree_pids,
)

from beambell_assets.labeling.applier import FastLFApplier  # noqa: E402

DEFAULT_OUT = REPO / "benchmarks" / "results" / "lf_engines.md"
PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- memory


def _tree_rss_bytes(root: int) -> int:
    """RSS of ``root`` and all its descendants (Linux ``/proc``)."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            continue
    return total


class PeakRSS:
    """Samples the process tree's RSS in a thread; ``peak`` in MiB."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.before = _tree_rss_bytes(os.getpid()) / 2**20
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _tree_rss_bytes(os.getpid()) / 2**20)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _tree_rss_bytes(os.getpid()) / 2**20)


# --------------------------------------------------------------------------- engines


def run_local(lfs: list, df: pd.DataFrame, n_jobs: int | None) -> tuple[np.ndarray, str]:
    # the RSS sampler is a thread: force fork like a single-threaded caller gets (LFs need not pickle)
    L, rep = FastLFApplier(lfs, n_jobs=n_jobs, start_method="fork").apply(df)
    return L, rep.mode


def run_beam(lfs: list, df: pd.DataFrame, workers: int, chunk_size: int) -> tuple[np.ndarray, str]:
    from beambell_assets.beam.lf_pipeline import BeamLFApplier
    from beambell_assets.beam.options import pipeline_options

    opts = pipeline_options(
        "DirectRunner", direct_num_workers=workers, direct_running_mode="multi_processing"
    )
    L, rep = BeamLFApplier(lfs, options=opts, chunk_size=chunk_size).apply(df)
    return L, f"{rep.mode}, {rep.n_chunks} chunks"


def run_pandas(lfs: list, df: pd.DataFrame) -> tuple[np.ndarray, str]:
    from snorkel.labeling import PandasLFApplier

    return PandasLFApplier(lfs).apply(df, progress_bar=False, fault_tolerant=True), "1 process"


def dask_available() -> bool:
    try:
        import dask.dataframe  # noqa: F401
        from snorkel.labeling.apply.dask import DaskLFApplier  # noqa: F401
    except ImportError:
        return False
    return True


def run_dask(lfs: list, df: pd.DataFrame, workers: int) -> tuple[np.ndarray, str]:
    import dask.dataframe as dd
    from snorkel.labeling.apply.dask import DaskLFApplier

    ddf = dd.from_pandas(df, npartitions=workers)
    L = DaskLFApplier(lfs).apply(ddf, scheduler="processes", fault_tolerant=True)
    return L, f"processes scheduler, {workers} partitions"


# --------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> str:
    from beambell_assets.labeling.tasks.web_content import TASK

    lfs = list(TASK.lfs)
    started = dt.datetime.now().astimezone()
    machine = machine_lines()
    print("\n".join(machine), flush=True)
    base = load_dev(args.data)
    cores = os.cpu_count() or 1
    engines = [e for e in args.engines if e != "snorkel-dask" or dask_available()]
    skipped = [e for e in args.engines if e not in engines]
    rows, notes = [], []
    for n in args.sizes:
        t0 = time.perf_counter()
        files = (
            sorted((args.pages_dir / f"{n}-seed{args.seed}").glob("pages-*.parquet"))
            if args.pages_dir
            else []
        )
        if files:  # the same generator's pages, already written by benchmarks/full_retrain.py
            df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
            df = df.drop(columns=[c for c in ("source_label",) if c in df])
            notes.append(
                f"- {n:,} pages: read from {len(files)} Parquet files made by `full_retrain.py`"
                f" ({files[0].parent})"
            )
        else:
            df = synthetic_pages(base, n, seed=args.seed + n)
        mb = df.memory_usage(deep=True).sum() / 2**20
        print(f"\n[{n:,} rows] frame built in {time.perf_counter() - t0:.1f}s ({mb:,.0f} MiB)", flush=True)
        reference: np.ndarray | None = None
        for engine in engines:
            m = n if engine in ("local", "beam") else min(n, args.pandas_max_rows)
            sub = df if m == n else df.iloc[:m]
            calls = {
                "local": lambda sub=sub: run_local(lfs, sub, args.n_jobs),
                "beam": lambda sub=sub: run_beam(lfs, sub, args.beam_workers, args.chunk_size),
                "snorkel-pandas": lambda sub=sub: run_pandas(lfs, sub),
                "snorkel-dask": lambda sub=sub: run_dask(lfs, sub, cores),
            }
            print(f"  {engine} on {m:,} rows ...", flush=True)
            load_before = load1()
            c0, w0 = cpu_seconds(), time.perf_counter()
            with PeakRSS() as mem:
                L, how = calls[engine]()
            wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
            if engine == "local":
                reference = L
            assert reference is not None, "the local engine runs first (it is the reference)"
            identical = bool(np.array_equal(L, reference[:m]))
            prefix = "" if m == n else f" (first {m:,} rows)"
            print(
                f"  {engine}: {wall:.1f}s, {m / wall:,.1f} rows/s, identical L: {identical}, "
                f"peak RSS {mem.peak:,.0f} MiB ({how})",
                flush=True,
            )
            rows.append(
                {
                    "pages": f"{n:,}",
                    "engine": engine,
                    "rows timed": f"{m:,}" + ("" if m == n else " (prefix)"),
                    "rows/s": f"{m / wall:,.1f}",
                    "seconds": f"{wall:,.1f}",
                    "CPU ms/row": f"{1e3 * cpu / m:.2f}",
                    "identical L (vs local)": ("yes" if identical else "NO") + prefix,
                    "peak RSS MiB (tree) / before": f"{mem.peak:,.0f} / {mem.before:,.0f}",
                    "load avg 1m before / after": f"{load_before:.1f} / {load1():.1f}",
                    "how": how,
                }
            )
            del L
        notes.append(f"- {n:,} pages: frame {mb:,.0f} MiB")
        del df, reference

    table = pd.DataFrame(rows).to_markdown(index=False)
    cmd = "python benchmarks/lf_engines.py --sizes " + " ".join(map(str, args.sizes))
    cmd += f" --pandas-max-rows {args.pandas_max_rows}"
    if args.pages_dir:
        cmd += f" --pages-dir {args.pages_dir}"
    return "\n".join(
        [
            "# LF engines benchmark",
            "",
            f"`{cmd}` - {started:%Y-%m-%d %H:%M %Z}",
            "",
            f"Default task `{TASK.name}`, {len(lfs)} LFs; pages resampled and perturbed from the "
            f"{len(base)} dev-set sites (`benchmarks/lf_applier.py`'s generator, seed {args.seed} + size).",
            f"local = `FastLFApplier` (process pool, n_jobs={args.n_jobs or 'all cores'}); beam = "
            f"`BeamLFApplier` on the DirectRunner, multi_processing, {args.beam_workers} workers, "
            f"chunk_size {args.chunk_size} (start-up and chunk staging included); snorkel-pandas = "
            "`PandasLFApplier(fault_tolerant=True)`; snorkel-dask = `DaskLFApplier` (processes scheduler). "
            f"The Snorkel engines run per row and are timed on the first {args.pandas_max_rows:,} rows of "
            "each frame (L compared on that prefix).",
            "",
            table,
            "",
            *notes,
            *(f"- {e}: not installed, skipped" for e in skipped),
            "- peak RSS: the benchmark process plus all its children, sampled every 0.2 s; it includes the "
            "frame held by the benchmark ('before'). Forked pool workers share the parent's pages "
            "copy-on-write and RSS counts shared pages in every process, so for the local engine "
            "(fork) the sum over-states real memory; Beam's SDK workers are fresh processes.",
            "- CPU ms/row: this process plus finished children (pool, Beam and Dask workers).",
            "- Shared 2-core machine: wall-clock rows/s move with the load averages shown.",
            "",
            "Machine:",
            "",
            *machine,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument(
        "--engines",
        nargs="+",
        default=["local", "beam", "snorkel-pandas", "snorkel-dask"],
        choices=["local", "beam", "snorkel-pandas", "snorkel-dask"],
        help="local always runs first (it is the reference L)",
    )
    ap.add_argument("--pandas-max-rows", type=int, default=20_000, help="Snorkel engines: rows timed")
    ap.add_argument("--n-jobs", type=int, default=None, help="local applier processes (default: all cores)")
    ap.add_argument("--beam-workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--pages-dir",
        type=Path,
        default=None,
        help="read pages made by benchmarks/full_retrain.py (SIZE-seedSEED/*.parquet) instead of generating",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if "local" not in args.engines:
        args.engines = ["local", *args.engines]
    args.engines = ["local", *[e for e in args.engines if e != "local"]]
    if not args.data.is_file():
        sys.exit(f"dev data not found: {args.data} (pass --data)")
    md = run(args)
    publish(md, args.out)


if __name__ == "__main__":
    main()
