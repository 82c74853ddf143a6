"""Backfilling history: 30 partitions in chunks of 10 per run, re-runs replace rather than duplicate."""

from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance
from dagster._core.execution.backfill import BulkActionStatus

from beambell_assets.definitions import BACKFILL_SELECTIONS, INGEST_JOB, build_definitions
from beambell_assets.defs.assets.ingest import raw_pages
from beambell_assets.defs.assets.partitions import BACKFILL_PARTITIONS_PER_RUN, landing_partitions
from beambell_assets.defs.automation.backfill import run_backfill_in_process, submit_backfill
from beambell_assets.demo.sample import write_sample_scrape
from beambell_assets.ingest.contract import landing_files
from beambell_assets.settings import load_settings
from beambell_assets.storage.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_backfill_of_30_partitions_runs_in_3_runs_and_never_duplicates(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "home").ensure_dirs()
    write_sample_scrape(settings.landing_dir, n_batches=30, pages_per_batch=20, seed=3)
    keys = sorted(landing_files(settings.landing_dir))
    assert len(keys) == 30
    defs = build_definitions(settings)
    assert raw_pages.backfill_policy.max_partitions_per_run == BACKFILL_PARTITIONS_PER_RUN == 10

    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(landing_partitions.name, keys)
        results = run_backfill_in_process(defs, instance, INGEST_JOB)
        assert len(results) == 3 and all(r.success for r in results)
        # One materialization per partition, even though each run covered ten.
        for asset in ("raw_pages", "page_features", "lf_votes"):
            assert instance.get_materialized_partitions(AssetKey(asset)) == set(keys)

        wh = Warehouse(settings.warehouse_url)
        tables = ("pages", "quarantine", "lf_stats")
        before = {t: wh.count(t) for t in tables}
        per_partition = {k: (wh.count("pages", k), wh.count("quarantine", k)) for k in keys}
        assert before["pages"] > 0 and before["quarantine"] > 0

        # The same history again (e.g. after an LF change): replaced, not duplicated.
        again = run_backfill_in_process(defs, instance, INGEST_JOB, partitions=keys[5:25])
        assert len(again) == 2 and all(r.success for r in again)
        assert {t: wh.count(t) for t in tables} == before
        assert {k: (wh.count("pages", k), wh.count("quarantine", k)) for k in keys} == per_partition

        # Through the daemon (UI / `beambell backfill`): queued as an asset backfill.
        backfill_id = submit_backfill(defs, instance, BACKFILL_SELECTIONS[INGEST_JOB], partitions=keys[:12])
        backfill = instance.get_backfill(backfill_id)
        assert backfill.status == BulkActionStatus.REQUESTED
        assert backfill.is_asset_backfill
        targeted = backfill.asset_backfill_data.target_subset
        assert set(targeted.get_partitions_subset(AssetKey("raw_pages")).get_partition_keys()) == set(
            keys[:12]
        )
        wh.dispose()


def test_the_backfill_command_refuses_partitions_that_have_not_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in --partition used to queue a backfill the daemon could only fail on."""
    from beambell_assets.cli import main

    home = tmp_path / "home"
    for var in ("BEAMBELL_HOME", "DAGSTER_HOME"):  # the command sets them; restored after the test
        monkeypatch.setenv(var, str(tmp_path / "unused"))
    assert main(["--home", str(home), "backfill"]) == 2
    assert "no partition has landed yet" in capsys.readouterr().err
    with DagsterInstance.get() as instance:  # the home's instance (DAGSTER_HOME now points there)
        instance.add_dynamic_partitions(landing_partitions.name, ["batch-a.jsonl", "batch-b.jsonl"])
    assert main(["--home", str(home), "backfill", "--partition", "batch-a.jsonl,batch-c.jsonl"]) == 2
    err = capsys.readouterr().err
    assert "unknown partition(s): batch-c.jsonl; landed: 2, from batch-a.jsonl to batch-b.jsonl" in err
    with DagsterInstance.get() as instance:
        assert not instance.get_backfills()
    assert main(["--home", str(home), "promote", "v9"]) == 2
    assert "no model version 'v9' in the registry" in capsys.readouterr().err
    assert main(["--home", str(home), "rollback"]) == 2
    assert "has no champion to roll back from" in capsys.readouterr().err
