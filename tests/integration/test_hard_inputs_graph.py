"""Hostile landing folders against the real Dagster graph (issue #12): names, links, schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from beambell_assets.assets.ingest import page_features, raw_pages
from beambell_assets.assets.partitions import landing_partitions
from beambell_assets.definitions import build_resources
from beambell_assets.settings import Settings
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse

pytestmark = pytest.mark.integration
TEXT = "An ordinary page about trains, timetables, platforms and tickets to the coast."


def _settings(tmp_path: Path, mapping: str = "") -> Settings:
    home = tmp_path / "home"
    return Settings(
        home=home,
        warehouse_url=f"sqlite:///{home / 'warehouse.db'}",
        task_spec="beambell_assets.labeling.tasks.web_content",
        column_mapping=mapping,
    ).ensure_dirs()


def _pages(n: int, url_key: str = "url") -> str:
    rows = [{url_key: f"https://example.com/p{i}", "text": f"{TEXT} Page {i}."} for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows)


def _ingest(settings: Settings, instance: DagsterInstance, key: str, raise_on_error: bool = True):  # type: ignore[no-untyped-def]
    wh = Warehouse(settings.warehouse_url)
    wh.migrate()
    instance.add_dynamic_partitions(landing_partitions.name, [key])
    return materialize(
        [raw_pages, page_features],
        partition_key=key,
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=raise_on_error,
    )


def test_a_landing_name_as_long_as_the_file_system_allows_is_ingested(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    name = "batch-" + "x" * (255 - len("batch-") - len(".jsonl")) + ".jsonl"
    assert len(name.encode()) == 255
    (settings.landing_dir / name).write_text(_pages(5))
    with DagsterInstance.ephemeral() as instance:
        assert _ingest(settings, instance, name).success
    store = ArtifactStore(settings.artifacts_dir)
    assert store.frame_keys("raw_pages") == [name]
    assert len(store.read_frame("page_features", name)) == 5
    wh = Warehouse(settings.warehouse_url)
    assert wh.scalar("SELECT COUNT(*) FROM pages WHERE partition_key = :k", {"k": name}) == 5


def test_a_link_out_of_the_landing_folder_is_quarantined_unread(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    secret = tmp_path / "outside" / "secret.jsonl"
    secret.parent.mkdir()
    secret.write_text(json.dumps({"url": "https://secret.example/", "text": "TOP-SECRET " * 10}) + "\n")
    (settings.landing_dir / "batch-link.jsonl").symlink_to(secret)
    with DagsterInstance.ephemeral() as instance:
        assert _ingest(settings, instance, "batch-link.jsonl").success
    wh = Warehouse(settings.warehouse_url)
    rows = wh.read("SELECT reason, raw, url, detail FROM quarantine")
    assert list(rows["reason"]) == ["unsafe_path"]
    assert not any("SECRET" in str(v) or "secret.example" in str(v) for v in rows.iloc[0])
    assert wh.scalar("SELECT COUNT(*) FROM pages") == 0
