"""drift_report on the real graph: sample batches, a trained champion, then a batch unlike any before."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import AssetKey, RunConfig, materialize

from beambell_assets.defs.assets.domains import ORG_SPEC
from beambell_assets.defs.assets.gold import gold_labels
from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.monitoring import build_drift_report
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.assets.weak_supervision import (
    TrainingWindowConfig,
    build_weak_supervision_assets,
)
from beambell_assets.defs.resources import build_resources
from beambell_assets.devtools.sample_home import FIXED_END_MODEL, Home
from beambell_assets.ingest.contract import partition_key_for
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.monitoring.reference import REFERENCE_ASSET, load_or_build_reference
from beambell_assets.monitoring.retrain_requests import (
    mark_retrain_requests_consumed,
    pending_retrain_requests,
    request_retrain,
)
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse

drift_report = build_drift_report()
monitoring_assets = [drift_report]

pytestmark = pytest.mark.integration
SHIFTED_FILE = "batch-2026-11-20T00-00-00.jsonl"
_SPAM = (
    "Claim your {n} free spins and a {p}% deposit bonus at the VIP casino tonight. "
    "Jackpot slots, live roulette and crypto wallet withdrawals in minutes, no questions asked. "
    "Use promo code SPIN{n} before midnight; high rollers get cashback on every losing streak. "
)


def _write_shifted_batch(landing: Path, n_pages: int = 80) -> Path:
    """Pages from one new casino domain, text-only and five-ish times longer than the sample's."""
    rnd = random.Random(5)
    path = landing / SHIFTED_FILE
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_pages):
            text = " ".join(_SPAM.format(n=rnd.randint(10, 999), p=rnd.randint(50, 400)) for _ in range(12))
            record = {
                "id": f"spam{i:04d}",
                "url": f"https://www.lucky-spins-casino.bet/promo/{i}",
                "title": f"Bonus offer {i}",
                "text": text,
                "scraped_at": "2026-11-19T12:00:00Z",
                "http_status": 200,
                "lang": "en",
            }
            fh.write(json.dumps(record) + "\n")
    return path


def _check(result, name: str = "drift_verdict"):
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert len(evaluations) == 1
    return evaluations[0]


def _meta(result, asset: str = "drift_report") -> dict:
    mats = result.asset_materializations_for_node(asset)
    return {k: getattr(v, "value", v) for k, v in mats[-1].metadata.items()}


def test_drift_report_on_sample_then_shifted_batch(
    ingested_home: Home, home_copy: Callable[[Home], Home]
) -> None:
    # The shared sample, landed and ingested (raw_pages, page_features, lf_votes); no model yet.
    home = home_copy(ingested_home)
    settings, keys = dataclasses.replace(home.settings, end_model=FIXED_END_MODEL), list(home.keys)
    assert len(keys) == 3  # the range run below covers the last two, the first stays out
    resources = build_resources(settings)
    ws = build_weak_supervision_assets()
    wh = Warehouse(settings.warehouse_url)
    store = ArtifactStore(settings.artifacts_dir)

    with home.instance() as instance:

        def run(assets, **kw):
            result = materialize(assets, resources=resources, instance=instance, raise_on_error=False, **kw)
            failed = [
                (e.check_name, e.description) for e in result.get_asset_check_evaluations() if not e.passed
            ]
            assert result.success, failed
            return result

        # No champion yet: the asset still materializes, and says why there is no verdict.
        early = run(monitoring_assets, partition_key=keys[0])
        assert "no reference yet" in _meta(early)["reference"]
        assert _check(early).passed
        assert wh.read("SELECT reference_version, severity FROM drift_reports").to_dict("records") == [
            {"reference_version": None, "severity": "none"}
        ]

        train = [gold_labels, *ws.train_graph]
        run(train, run_config=RunConfig(ops={"label_model": TrainingWindowConfig(n_epochs=50)}))
        champion = ModelRegistry(wh, "web_content").champion()
        assert champion is not None
        for key in keys:
            run([ws.predictions], partition_key=key)

        # One run over two partitions (as a multi-run backfill does): both in the training window.
        in_window = run(
            [drift_report],
            tags={
                "dagster/asset_partition_range_start": keys[1],
                "dagster/asset_partition_range_end": keys[2],
            },
        )
        assert _check(in_window).passed
        rows = wh.read("SELECT partition_key, severity, reference_version FROM drift_reports ORDER BY 1")
        assert rows["partition_key"].tolist() == keys
        assert rows.loc[rows["partition_key"] != keys[0], "severity"].tolist() == ["none", "none"]
        assert set(rows["reference_version"].dropna()) == {champion.version}
        assert store.exists(REFERENCE_ASSET, f"{champion.version}.parquet")  # cached once per champion
        assert not pending_retrain_requests(wh, "web_content").shape[0]

        # A batch unlike anything the champion was trained on.
        shifted_key = partition_key_for(_write_shifted_batch(settings.landing_dir))
        instance.add_dynamic_partitions(landing_partitions.name, [shifted_key])
        run([raw_pages, page_features, ws.lf_votes, ws.predictions], partition_key=shifted_key)
        shifted = run(monitoring_assets, partition_key=shifted_key)
        check = _check(shifted)
        assert not check.passed and check.severity.value == "ERROR"
        meta = _meta(shifted)
        assert meta["severity"] == "severe" and meta["retrain_recommended"] is True
        assert meta["reference_version"] == champion.version and meta["reference_built_now"] is False
        assert meta["report_url"].startswith("file://")
        report = Path(meta["report"])
        assert report.is_file() and report.stat().st_size > 100_000
        assert report == settings.artifacts_dir / "drift" / "web_content" / f"{shifted_key}.html"

        row = wh.read("SELECT * FROM drift_reports WHERE partition_key = :k", {"k": shifted_key}).iloc[0]
        assert row["severity"] == "severe" and row["retrain_requested"] == 1
        summary = json.loads(row["summary_json"])
        assert "domain_bucket" in summary["drifted_columns"] and "text_len" in summary["drifted_columns"]
        pending = pending_retrain_requests(wh, "web_content")
        assert pending["request_id"].tolist() == [f"drift:web_content:{shifted_key}"]
        assert pending["trig"].tolist() == ["drift"]

        # Re-running the partition replaces its row and does not duplicate the request.
        counts = {t: wh.count(t) for t in ("drift_reports", "retrain_requests")}
        assert not _check(run(monitoring_assets, partition_key=shifted_key)).passed
        assert {t: wh.count(t) for t in counts} == counts == {"drift_reports": 4, "retrain_requests": 1}

        # Once a training run consumed it, a re-run neither re-opens nor duplicates it.
        assert mark_retrain_requests_consumed(wh, pending["request_id"].tolist(), "run-123") == 1
        run(monitoring_assets, partition_key=shifted_key)
        assert pending_retrain_requests(wh, "web_content").empty
        assert wh.count("retrain_requests") == 1

        # A reference built for a champion that did not score its own window scores those pages itself.
        wh.replace_partition("predictions", keys[1], [], where={"task": "web_content"})
        store.path(REFERENCE_ASSET, f"{champion.version}.parquet").unlink()
        rebuilt = load_or_build_reference(store, wh, TASK, champion)
        assert rebuilt.built_now and any("scored with it" in n for n in rebuilt.notes)
        assert rebuilt.partitions == keys and len(rebuilt.frame) == rebuilt.window_rows
        assert rebuilt.frame["pred_label"].notna().all()
        assert set(rebuilt.frame["pred_model_version"]) == {champion.version}
    wh.dispose()


def test_retrain_request_queue(warehouse_url: str) -> None:
    """The queue on both engines: idempotent insert, pending order, first consumer wins."""
    wh = Warehouse(warehouse_url)
    wh.migrate()
    assert request_retrain(wh, "t", "manual", request_id="manual:t:1", detail="asked by dana")
    assert not request_retrain(wh, "t", "manual", request_id="manual:t:1")
    assert request_retrain(wh, "t", "gold", request_id="gold:t:2")
    assert request_retrain(wh, "other", "drift", request_id="drift:other:p", partition_key="p")
    with pytest.raises(ValueError, match="unknown retrain trigger"):
        request_retrain(wh, "t", "cron", request_id="x")
    assert pending_retrain_requests(wh, "t")["request_id"].tolist() == ["manual:t:1", "gold:t:2"]
    assert mark_retrain_requests_consumed(wh, ["manual:t:1", "gold:t:2"], "run-a") == 2
    assert mark_retrain_requests_consumed(wh, ["manual:t:1"], "run-b") == 0
    assert pending_retrain_requests(wh, "t").empty
    owner = wh.scalar("SELECT consumed_run_id FROM retrain_requests WHERE request_id = 'manual:t:1'")
    assert owner == "run-a"
    assert len(pending_retrain_requests(wh, "other")) == 1
    wh.dispose()


def test_drift_report_is_partitioned_and_checked() -> None:
    assert drift_report.partitions_def == landing_partitions
    assert drift_report.group_names_by_key[AssetKey("drift_report")] == "monitoring"
    assert {c.name for c in drift_report.check_specs} == {"drift_verdict"}
    assert {k.to_user_string() for k in drift_report.dependency_keys} == {
        "page_features",
        "lf_votes",
        "predictions",
    }


def test_drift_report_per_task_uses_the_specs_keys() -> None:
    org = build_drift_report(ORG_SPEC)
    assert org.key == AssetKey("org_drift_report")
    assert org.group_names_by_key[org.key] == "monitoring_org"
    assert {c.asset_key for c in org.check_specs} == {org.key}
    assert {k.to_user_string() for k in org.dependency_keys} == {
        "org_features",
        "org_lf_votes",
        "org_predictions",
    }
