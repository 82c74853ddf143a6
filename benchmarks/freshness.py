"""Benchmark: how long from a batch landing to its predictions in the warehouse, with the real daemon.

    python benchmarks/freshness.py [--small 100 --small-drops 10] [--large 10000 --large-drops 2]

Set-up: a fresh home is seeded in-process (two sample batches ingested, trained, promoted), then
``dagster-webserver`` + ``dagster-daemon`` are started on it exactly as ``./dev.sh ui`` does
(QueuedRunCoordinator, default run launcher: one subprocess per run, in-process executor). Each
drop writes one sample batch (JSON lines, with the project's realistic noise and bad rows) under a
temporary name and renames it into the landing folder; the clock stops when the batch's
predictions are committed in the warehouse. Drops are sequential, so each lag is one batch's own.

For each lag the run's timeline is read back from the instance, to say what bounds it:
  sensor  file renamed -> run created (sensor interval, ``BEAMBELL_LANDING_INTERVAL_S``)
  launch  run created -> run started: the QueuedRunCoordinator's dequeue loop, then a new Python
          process that imports Dagster and beambell (~5-10 s on this machine)
  setup   run started -> first step started (resources, the warehouse connection)
  steps   first step started -> predictions committed (ingest, GX, features, LFs, scoring)

The table (p50 / p95 / max per batch size, and the target) is printed and saved to
``benchmarks/results/freshness.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dagster import DagsterInstance, RunsFilter  # noqa: E402

from beambell_assets.devtools import running_dagster  # noqa: E402
from beambell_assets.devtools.freshness import Drop, drop_and_wait, seed_home  # noqa: E402

TARGET_P50_S = {100: 30.0}


def _timeline(instance: DagsterInstance, drop: Drop, dropped_at: float) -> dict[str, float]:
    (record,) = instance.get_run_records(RunsFilter(tags={"dagster/run_key": drop.partition_key}), limit=1)
    run_id = record.dagster_run.run_id
    stats = instance.get_run_stats(run_id)
    steps = [s for s in instance.get_run_step_stats(run_id) if s.start_time]
    first_step = min(s.start_time for s in steps) if steps else stats.start_time
    done = dropped_at + drop.lag_s
    return {
        "sensor": record.create_timestamp.timestamp() - dropped_at,
        "launch": (stats.start_time or done) - record.create_timestamp.timestamp(),
        "setup": first_step - (stats.start_time or first_step),
        "steps": done - first_step,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--small-drops", type=int, default=10)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--large-drops", type=int, default=2)
    parser.add_argument("--interval", type=int, default=5, help="landing sensor interval, seconds")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "freshness.md")
    args = parser.parse_args()

    rows: list[tuple[int, list[Drop], list[dict[str, float]]]] = []
    with tempfile.TemporaryDirectory(prefix="beambell-freshness-") as tmp:
        home = Path(tmp) / "home"
        t0 = time.monotonic()
        champion = seed_home(home)
        print(f"seeded {home} in {time.monotonic() - t0:.0f}s; champion {champion}", flush=True)
        env = {"BEAMBELL_LANDING_INTERVAL_S": str(args.interval), "BEAMBELL_RETRAIN_INTERVAL_S": "3600"}
        with running_dagster(home, env=env) as dagster:
            instance = DagsterInstance.from_config(str(dagster.dagster_home))
            index = 0
            for size, n in ((args.small, args.small_drops), (args.large, args.large_drops)):
                drops, timelines = [], []
                for _ in range(n):
                    dropped_at = time.time()
                    drop = drop_and_wait(home, index, size, args.timeout)
                    index += 1
                    drops.append(drop)
                    timelines.append(_timeline(instance, drop, dropped_at))
                    parts = " ".join(f"{k}={v:.1f}s" for k, v in timelines[-1].items())
                    print(f"  {size:>6} pages: {drop.lag_s:6.1f}s  ({parts})", flush=True)
                rows.append((size, drops, timelines))
            instance.dispose()

    lines = [
        f"# Freshness: landing -> predictions with the real daemon ({dt.date.today()})",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        f"Sensor interval {args.interval}s. Load average (1/5/15 min) at the end: "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}. Command: `python benchmarks/freshness.py`.",
        "",
        "| pages per batch | drops | p50 lag (s) | p95 lag (s) | max (s) | target p50 | "
        "median sensor / launch / setup / steps (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, drops, timelines in rows:
        lags = [d.lag_s for d in drops]
        med = {k: statistics.median(t[k] for t in timelines) for k in timelines[0]}
        target = TARGET_P50_S.get(size)
        verdict = (
            "n/a"
            if target is None
            else f"<= {target:.0f} s ({'met' if _pct(lags, 0.5) <= target else 'MISSED'})"
        )
        lines.append(
            f"| {size:,} | {len(drops)} | {_pct(lags, 0.5):.1f} | {_pct(lags, 0.95):.1f} | {max(lags):.1f} | "
            f"{verdict} | {' / '.join(f'{med[k]:.1f}' for k in ('sensor', 'launch', 'setup', 'steps'))} |"
        )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
