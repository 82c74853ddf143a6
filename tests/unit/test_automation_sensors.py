"""Sensor and schedule ticks, evaluated with ``build_sensor_context`` on a real (ephemeral) instance.

The landing sensor must turn each complete file into exactly one partition and one run request,
ignore files still being written, survive a burst without a stalled or oversized tick, and pick
up a partition whose run was lost. The retrain sensor fires once per trigger and never queues a
retrain behind a running one.
"""

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest
from dagster import (
    AssetMaterialization,
    AssetSensorDefinition,
    DagsterInstance,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from beambell_assets.definitions import INGEST_JOB, PROCESS_JOB, TRAIN_JOB, build_definitions
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.settings import AutomationSettings, Settings, load_settings
from beambell_assets.storage.warehouse import Warehouse, utcnow


def _settings(home: Path, **automation: object) -> Settings:
    base = load_settings(home)
    return dataclasses.replace(
        base,
        # the age rule alone (settle ticks = 1); the default two-tick rule: test_hard_inputs_landing.py
        automation=dataclasses.replace(
            AutomationSettings(landing_min_age_s=0.0, landing_settle_ticks=1), **automation
        ),
    )


def _land(folder: Path, name: str, age_s: float = 10.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('{"url": "https://example.com/a", "text": "some text long enough to keep"}\n')
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


@dataclasses.dataclass
class Tick:
    run_requests: list[RunRequest]
    skip_message: str | None
    cursor: str | None
    dynamic_partitions_requests: list

    @classmethod
    def of(cls, result: SensorResult | RunRequest | SkipReason | None) -> "Tick":
        if isinstance(result, SensorResult):
            return cls(
                list(result.run_requests or []),
                result.skip_reason.skip_message if result.skip_reason else None,
                result.cursor,
                list(result.dynamic_partitions_requests or []),
            )
        if isinstance(result, RunRequest):
            return cls([result], None, None, [])
        return cls([], result.skip_message if result else None, None, [])


class Harness:
    """A Definitions object on a temp home, an ephemeral instance, and tick helpers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.defs = build_definitions(settings)
        self.instance = DagsterInstance.ephemeral()
        self.resources = self.defs.resources
        self.cursors: dict[str, str | None] = {}

    def tick(self, name: str) -> Tick:
        """One evaluation, then what the daemon applies (new partitions, the cursor)."""
        sensor = self.defs.resolve_sensor_def(name)
        with build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            resources=self.resources,
            definitions=self.defs,
        ) as ctx:
            if isinstance(sensor, AssetSensorDefinition):  # needs the daemon's event lookup
                data = sensor.evaluate_tick(ctx)
                tick = Tick(list(data.run_requests or []), data.skip_message, data.cursor, [])
            else:
                tick = Tick.of(sensor(ctx))
        if tick.cursor is not None:
            self.cursors[name] = tick.cursor
        for req in tick.dynamic_partitions_requests:
            self.instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        return tick

    def warehouse(self) -> Warehouse:
        wh = Warehouse(self.settings.warehouse_url)
        wh.migrate()
        return wh


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(_settings(tmp_path / "home"))


def test_new_files_become_partitions_and_runs_once(harness: Harness) -> None:
    landing = harness.settings.landing_dir
    for name in ("batch-001.jsonl", "batch-002.csv", "batch-003.parquet"):
        _land(landing, name)
    _land(landing, ".batch-004.jsonl.tmp")  # still being written, hidden name
    _land(landing, "batch-005.jsonl.part")
    _land(landing, "_batch-006.jsonl")

    first = harness.tick("landing_sensor")
    keys = [r.partition_key for r in first.run_requests]
    assert keys == ["batch-001.jsonl", "batch-002.csv", "batch-003.parquet"]
    assert [r.run_key for r in first.run_requests] == keys
    assert {r.job_name for r in first.run_requests} == {INGEST_JOB}  # no champion yet
    assert list(first.dynamic_partitions_requests[0].partition_keys) == keys
    assert json.loads(harness.cursors["landing_sensor"])["requested"] == 3

    # The daemon submitted the runs; the same files on the next tick are not requested again.
    for k in keys:
        harness.instance.report_runless_asset_event(AssetMaterialization("raw_pages", partition=k))
    second = harness.tick("landing_sensor")
    assert not second.run_requests
    assert sorted(harness.instance.get_dynamic_partitions(landing_partitions.name)) == keys

    (landing / ".batch-004.jsonl.tmp").rename(landing / "batch-004.jsonl")  # the writer's atomic rename
    third = harness.tick("landing_sensor")
    assert [r.partition_key for r in third.run_requests] == ["batch-004.jsonl"]


def test_file_younger_than_min_age_waits(tmp_path: Path) -> None:
    h = Harness(_settings(tmp_path / "home", landing_min_age_s=30.0))
    _land(h.settings.landing_dir, "batch-001.jsonl", age_s=0.0)
    result = h.tick("landing_sensor")
    assert not result.run_requests
    assert "1 file(s) still settling" in result.skip_message


def test_burst_of_1000_files_is_worked_off_without_duplicates(tmp_path: Path) -> None:
    h = Harness(_settings(tmp_path / "home", landing_max_per_tick=200))
    for i in range(1000):
        _land(h.settings.landing_dir, f"batch-{i:04d}.jsonl")
    seen: list[str] = []
    ticks = 0
    while True:
        ticks += 1
        result = h.tick("landing_sensor")
        if not result.run_requests:
            break
        assert len(result.run_requests) <= 200
        new = [r.run_key for r in result.run_requests]
        seen += new
        for k in new:  # the runs complete
            h.instance.report_runless_asset_event(AssetMaterialization("raw_pages", partition=k))
        assert ticks < 10, "the sensor stalled"
    assert ticks == 6  # five full ticks, then nothing left
    assert len(seen) == len(set(seen)) == 1000
    assert seen == sorted(seen)  # oldest name first
    assert len(h.instance.get_dynamic_partitions(landing_partitions.name)) == 1000


def test_partition_without_run_is_requested_again(harness: Harness) -> None:
    """A tick that added the partition but died before submitting its run (daemon restart)."""
    _land(harness.settings.landing_dir, "batch-001.jsonl")
    harness.instance.add_dynamic_partitions(landing_partitions.name, ["batch-001.jsonl"])
    result = harness.tick("landing_sensor")
    assert [r.run_key for r in result.run_requests] == ["batch-001.jsonl"]
    assert not result.dynamic_partitions_requests  # it already exists

    # Ingested outside the sensor (the CLI demo): not requested again.
    harness.instance.report_runless_asset_event(
        AssetMaterialization("raw_pages", partition="batch-001.jsonl")
    )
    assert not harness.tick("landing_sensor").run_requests


def _champion(wh: Warehouse, version: str = "web_content-v1") -> None:
    reg = ModelRegistry(wh, "web_content")
    reg.register(version=version, artifact_path="/nonexistent", artifact_sha256="0", n_train=1, metrics={})
    reg.promote(version, actor="test", reason="test")


def test_with_a_champion_new_files_run_the_full_batch_job(harness: Harness) -> None:
    _champion(harness.warehouse())
    _land(harness.settings.landing_dir, "batch-001.jsonl")
    result = harness.tick("landing_sensor")
    assert [r.job_name for r in result.run_requests] == [PROCESS_JOB]


def test_retrain_sensor_bootstraps_once_batches_are_labeled(harness: Harness) -> None:
    assert not harness.tick("retrain_sensor").run_requests  # nothing landed yet
    harness.instance.report_runless_asset_event(AssetMaterialization("lf_votes", partition="b1"))
    (request,) = harness.tick("retrain_sensor").run_requests
    assert request.tags["beambell/trigger"] == "bootstrap"
    (again,) = harness.tick("retrain_sensor").run_requests
    assert again.run_key == request.run_key  # same trigger, same key: the daemon dedupes it


def test_retrain_sensor_fires_on_drift_and_consumes_the_request(harness: Harness) -> None:
    from beambell_assets.monitoring.retrain_requests import pending_retrain_requests

    wh = harness.warehouse()
    _champion(wh)
    wh.insert(
        "retrain_requests",
        [
            {
                "request_id": "drift:web_content:b9",
                "task": "web_content",
                "trig": "drift",
                "partition_key": "b9",
                "detail": "severe",
                "requested_at": utcnow(),
                "consumed_run_id": None,
            }
        ],
    )
    (request,) = harness.tick("retrain_sensor").run_requests
    assert request.tags["beambell/trigger"] == "drift"
    assert pending_retrain_requests(wh, "web_content").empty
    assert not harness.tick("retrain_sensor").run_requests


def test_retrain_sensor_fires_on_enough_new_gold(tmp_path: Path) -> None:
    h = Harness(_settings(tmp_path / "home", retrain_min_new_gold=3))
    _champion(h.warehouse())
    gold = h.settings.gold_dir / "batch.csv"
    gold.write_text("url,label\nhttps://a.example/1,News\nhttps://a.example/2,News\n")
    assert not h.tick("retrain_sensor").run_requests  # 2 < 3
    gold.write_text(gold.read_text() + "https://a.example/3,Sports\n")
    (request,) = h.tick("retrain_sensor").run_requests
    assert request.tags["beambell/trigger"] == "gold"


def test_retrain_sensor_never_queues_behind_a_running_retrain(harness: Harness) -> None:
    harness.instance.report_runless_asset_event(AssetMaterialization("lf_votes", partition="b1"))
    job = harness.defs.resolve_job_def(TRAIN_JOB)
    harness.instance.create_run_for_job(job_def=job, status=None)  # NOT_STARTED counts as active
    result = harness.tick("retrain_sensor")
    assert not result.run_requests
    assert "already queued or running" in result.skip_message


def test_retrain_schedule_reads_cron_from_settings(tmp_path: Path) -> None:
    h = Harness(_settings(tmp_path / "home", retrain_cron="*/15 * * * *"))
    schedule = h.defs.resolve_schedule_def("retrain_schedule")
    assert schedule.cron_schedule == "*/15 * * * *"
    assert schedule.job_name == TRAIN_JOB
    with build_schedule_context(instance=h.instance) as ctx:
        requests = schedule.evaluate_tick(ctx).run_requests
    assert requests and requests[0].tags["beambell/trigger"] == "cron"


def test_rescore_after_promotion_covers_the_newest_ingested_partitions(tmp_path: Path) -> None:
    import pandas as pd

    from beambell_assets.storage.artifacts import ArtifactStore

    h = Harness(_settings(tmp_path / "home", rescore_partitions=3))
    wh = h.warehouse()
    _champion(wh, "web_content-v1")
    keys = [f"batch-{i}.jsonl" for i in range(5)]
    h.instance.add_dynamic_partitions(landing_partitions.name, keys)
    store = ArtifactStore(h.settings.artifacts_dir)
    for k in keys:
        store.write_frame("page_features", k, pd.DataFrame({"page_id": ["p"]}))
    h.instance.report_runless_asset_event(AssetMaterialization("deployed_model"))
    (request,) = h.tick("rescore_on_promotion").run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "batch-2.jsonl"
    assert request.tags["dagster/asset_partition_range_end"] == "batch-4.jsonl"
    assert request.run_key == "rescore:web_content-v1:batch-4.jsonl"

    # Already scored by this champion: nothing to do on the next promotion event.
    wh.insert(
        "predictions",
        [
            {
                "partition_key": k,
                "page_id": "p",
                "task": "web_content",
                "url": "https://e.com/",
                "label": "News",
                "probability": 0.9,
                "model_version": "web_content-v1",
                "predicted_at": utcnow(),
            }
            for k in keys[2:]
        ],
    )
    h.instance.report_runless_asset_event(AssetMaterialization("deployed_model"))
    assert not h.tick("rescore_on_promotion").run_requests
