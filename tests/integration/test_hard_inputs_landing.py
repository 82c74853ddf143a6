"""Writers that cannot rename (issue #12 defect 8): the settle rule and changed-after-read files.

The real landing sensor (``build_sensor_context`` on an ephemeral instance) and the real
``raw_pages`` asset, against a file a writer appends to in pauses.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context, materialize

from beambell_assets.definitions import build_definitions
from beambell_assets.defs.assets.ingest import raw_pages
from beambell_assets.defs.resources import build_resources
from beambell_assets.settings import AutomationSettings, Settings, load_settings
from beambell_assets.storage.warehouse import Warehouse

pytestmark = pytest.mark.integration
TEXT = "An ordinary page about trains, timetables, platforms and tickets to the coast."


def _append(path: Path, start: int, stop: int, age_s: float) -> None:
    with open(path, "a") as fh:
        for i in range(start, stop):
            fh.write(json.dumps({"url": f"https://example.com/p{i}", "text": f"{TEXT} Page {i}."}) + "\n")
    then = time.time() - age_s
    os.utime(path, (then, then))


class Landing:
    def __init__(self, settings: Settings) -> None:
        self.settings, self.defs = settings, build_definitions(settings)
        self.instance = DagsterInstance.ephemeral()
        self.cursor: str | None = None

    def tick(self) -> list:  # type: ignore[type-arg]
        sensor = self.defs.resolve_sensor_def("landing_sensor")
        with build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources=self.defs.resources, definitions=self.defs
        ) as ctx:
            result = sensor(ctx)
        assert isinstance(result, SensorResult)
        self.cursor = result.cursor or self.cursor
        for req in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        return list(result.run_requests or [])

    def ingest(self, key: str) -> None:
        resources = build_resources(self.settings)
        assert materialize(
            [raw_pages], partition_key=key, resources=resources, instance=self.instance
        ).success


def test_a_paused_writer_is_not_read_half_way_and_a_later_change_is_re_ingested(tmp_path: Path) -> None:
    base = load_settings(tmp_path / "home").ensure_dirs()
    assert AutomationSettings().landing_settle_ticks == 2  # the safer default
    settings = dataclasses.replace(base, automation=AutomationSettings(landing_min_age_s=1.0))
    Warehouse(settings.warehouse_url).migrate()
    landing = Landing(settings)
    path = settings.landing_dir / "batch-1.jsonl"

    _append(path, 0, 5, age_s=5)  # the writer pauses for longer than the minimum age
    assert landing.tick() == []  # old enough, but not seen at this size before
    _append(path, 5, 10, age_s=5)  # ... and goes on
    assert landing.tick() == []  # changed since the last tick: settling again
    (first,) = landing.tick()  # the same size twice in a row: complete
    assert first.partition_key == "batch-1.jsonl" and first.run_key == "batch-1.jsonl"
    landing.ingest("batch-1.jsonl")
    wh = Warehouse(settings.warehouse_url)
    assert wh.scalar("SELECT COUNT(*) FROM pages") == 10
    assert landing.tick() == []

    _append(path, 10, 15, age_s=3)  # a writer that rewrites a landed file anyway
    assert landing.tick() == []  # settling
    (again,) = landing.tick()
    assert again.partition_key == "batch-1.jsonl"
    assert again.run_key.startswith("batch-1.jsonl@") and again.tags["beambell/trigger"] == "landing_changed"
    landing.ingest("batch-1.jsonl")
    assert wh.scalar("SELECT COUNT(*) FROM pages") == 15  # the new version replaced the partition
    versions = wh.read("SELECT version, size_bytes, rows_read FROM landing_files ORDER BY version")
    assert list(versions["version"]) == [1, 2] and list(versions["rows_read"]) == [10, 15]
    assert versions["size_bytes"].iat[1] == path.stat().st_size
    assert landing.tick() == []  # nothing changed since version 2

    os.utime(path, (time.time() - 2, time.time() - 2))  # touched, same content: not re-ingested
    assert landing.tick() == [] and landing.tick() == []
