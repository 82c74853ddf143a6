"""Landing-to-prediction lag against a real daemon: shared by the daemon test and the benchmark.

``seed_home`` gives a home a champion the way a user's first day would (sample batches ingested,
trained and promoted, in this process), so the daemon's landing sensor runs the full per-batch
job. ``drop_and_wait`` lands one batch with the writer's atomic rename and times how long until
its predictions are committed in the warehouse.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance

from beambell_assets.demo.sample import write_sample_batch, write_sample_gold, write_sample_scrape
from beambell_assets.devtools.local_dagster import DAGSTER_YAML, wait_for
from beambell_assets.settings import load_settings
from beambell_assets.storage.warehouse import Warehouse

#: Dropped batches are named after times far from the seed batches, so keys never collide.
DROP_START = datetime(2030, 1, 1, tzinfo=UTC)


def seed_home(home: Path, batches: int = 2, pages_per_batch: int = 120, seed: int = 0) -> str:
    """Ingest, train and promote on sample batches in ``home``; returns the champion's version."""
    from beambell_assets.definitions import INGEST_JOB, TRAIN_JOB, build_definitions
    from beambell_assets.defs.automation.backfill import run_backfill_in_process
    from beambell_assets.ingest.contract import landing_files
    from beambell_assets.labeling.task import load_task
    from beambell_assets.serving.registry import ModelRegistry

    settings = load_settings(home).ensure_dirs()
    write_sample_scrape(settings.landing_dir, n_batches=batches, pages_per_batch=pages_per_batch, seed=seed)
    write_sample_gold(settings.gold_dir, n_batches=batches, pages_per_batch=pages_per_batch, seed=seed)
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copyfile(DAGSTER_YAML, dagster_home / "dagster.yaml")
    defs = build_definitions(settings)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        keys = sorted(landing_files(settings.landing_dir))
        instance.add_dynamic_partitions("landing_batches", keys)
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        if not all(
            r.success for r in run_backfill_in_process(defs, instance, INGEST_JOB, keys, run_config=quiet)
        ):
            raise RuntimeError("seeding: ingest failed")
        if (
            not defs.resolve_job_def(TRAIN_JOB)
            .execute_in_process(instance=instance, raise_on_error=False)
            .success
        ):
            raise RuntimeError("seeding: training/promotion failed")
    wh = Warehouse(settings.warehouse_url)
    try:
        champion = ModelRegistry(wh, load_task(settings.task_spec).name).champion()
    finally:
        wh.dispose()
    if champion is None:
        raise RuntimeError("seeding: no champion")
    return champion.version


@dataclass(frozen=True)
class Drop:
    partition_key: str
    pages: int
    lag_s: float
    predictions: int


def drop_and_wait(home: Path, index: int, pages: int, timeout_s: float, seed: int = 100) -> Drop:
    """Land batch number ``index`` (jsonl) and wait until its predictions are in the warehouse."""
    return drop_all_and_wait(home, [index], pages, timeout_s, seed)[0]


def drop_all_and_wait(
    home: Path, indices: list[int], pages: int, timeout_s: float, seed: int = 100
) -> list[Drop]:
    """Land the batches ``indices`` at once (a burst), then wait until each has its predictions;
    every lag is counted from the moment the first file landed."""
    settings = load_settings(home)
    wh = Warehouse(settings.warehouse_url)
    try:
        t0 = time.monotonic()
        keys = [
            write_sample_batch(
                settings.landing_dir, pages, seed=seed + i, start=DROP_START + timedelta(hours=i), fmt="jsonl"
            ).name
            for i in indices
        ]
        drops = []
        for key in keys:
            count = wait_for(
                lambda key=key: wh.scalar(
                    "SELECT COUNT(*) FROM predictions WHERE partition_key = :k", {"k": key}
                ),
                max(1.0, timeout_s - (time.monotonic() - t0)),
                0.2,
                f"predictions for {key}",
            )
            drops.append(Drop(key, pages, time.monotonic() - t0, int(count)))
        return drops
    finally:
        wh.dispose()
