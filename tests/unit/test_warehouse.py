"""The warehouse on both engines: migrations, atomic partition replace, registry and promotion."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from beambell_assets.serving.registry import ModelRegistry, RegistryError
from beambell_assets.storage.warehouse import Warehouse, utcnow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def wh(warehouse_url: str) -> Warehouse:
    w = Warehouse(warehouse_url)
    w.migrate()
    yield w
    w.dispose()


def _pred_rows(n: int, label: str = "News") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "page_id": [f"p{i}" for i in range(n)],
            "url": [f"https://x{i}.example/" for i in range(n)],
            "label": label,
            "probability": 0.9,
            "model_version": "v1",
            "predicted_at": utcnow(),
        }
    )


def test_migrations_apply_once_and_record_versions(wh: Warehouse) -> None:
    on_disk = sorted(p.name.split("_", 1)[0] for p in (REPO_ROOT / "sql" / "migrations").glob("*.sql"))
    assert on_disk[:3] == ["0001", "0002", "0003"]
    assert wh.applied_migrations() == on_disk
    assert wh.migrate() == []  # idempotent
    assert wh.count("pages") == 0


def test_replace_partition_never_duplicates(wh: Warehouse) -> None:
    wh.replace_partition("predictions", "b1", _pred_rows(5), where={"task": "t"})
    wh.replace_partition("predictions", "b2", _pred_rows(3), where={"task": "t"})
    wh.replace_partition("predictions", "b1", _pred_rows(4, "Travel"), where={"task": "t"})
    assert wh.count("predictions", "b1") == 4
    assert wh.count("predictions", "b2") == 3
    labels = wh.read("SELECT DISTINCT label FROM predictions WHERE partition_key='b1'")["label"].tolist()
    assert labels == ["Travel"]


def test_failed_replace_keeps_previous_rows(wh: Warehouse) -> None:
    wh.replace_partition("predictions", "b1", _pred_rows(5), where={"task": "t"})
    bad = _pred_rows(2)
    bad.loc[1, "page_id"] = bad.loc[0, "page_id"]  # primary-key violation mid-insert
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        wh.replace_partition("predictions", "b1", bad, where={"task": "t"})
    assert wh.count("predictions", "b1") == 5  # the transaction rolled back: nothing lost


def test_cross_batch_duplicates_only_look_backwards(wh: Warehouse) -> None:
    def page(pid: str, h: str) -> dict:
        return {"page_id": pid, "url": f"https://{pid}.example/", "content_hash": h, "ingested_at": utcnow()}

    wh.replace_partition("pages", "batch-1", [page("a", "h1")])
    wh.replace_partition("pages", "batch-3", [page("c", "h3")])
    assert wh.content_hashes_before("batch-2") == frozenset({"h1"})
    assert wh.content_hashes_before("batch-1") == frozenset()


def test_registry_promote_reject_and_rollback(wh: Warehouse) -> None:
    reg = ModelRegistry(wh, "web_content")
    for v, f1 in (("v1", 0.80), ("v2", 0.85), ("v3", 0.60)):
        reg.register(v, f"/models/{v}.skops", "sha", n_train=100, metrics={"macro_f1": f1, "n_gold": 50})
    reg.promote("v1", actor="test", reason="first")
    reg.promote("v2", actor="test", reason="better")
    assert reg.champion().version == "v2"
    assert reg.get("v1").status == "retired"
    reg.reject("v3", actor="test", reason="worse")
    assert reg.get("v3").status == "rejected"
    assert reg.rollback(actor="test", reason="incident").version == "v1"
    assert reg.champion().version == "v1"
    assert reg.get("v2").status == "retired"
    actions = [e["action"] for e in reg.events()]
    assert actions == ["promote", "promote", "reject", "rollback"]
    with pytest.raises(RegistryError, match="no previous champion"):
        reg.rollback(actor="test", reason="again")  # v1 replaced nobody


def test_registry_refuses_unknown_versions_and_another_tasks_model(wh: Warehouse) -> None:
    news, sites = ModelRegistry(wh, "news"), ModelRegistry(wh, "web_content")
    with pytest.raises(RegistryError, match="task 'web_content' has no champion to roll back from"):
        sites.rollback(actor="test", reason="nothing yet")
    news.register("n1", "/models/n1.skops", "sha", n_train=10, metrics={})
    sites.register("s1", "/models/s1.skops", "sha", n_train=10, metrics={})
    sites.promote("s1", actor="test", reason="first")
    with pytest.raises(RegistryError, match="model n1 is task 'news''s, not 'web_content''s"):
        sites.promote("n1", actor="test", reason="a typo")
    assert sites.champion().version == "s1" and news.get("n1").status == "candidate"
    with pytest.raises(RegistryError, match=r"no model version 's2' in the registry \(newest of .*: s1\)"):
        sites.promote("s2", actor="test", reason="a typo")
