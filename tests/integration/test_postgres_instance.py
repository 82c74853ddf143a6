"""The whole graph, sensors included, with the Dagster instance *and* the warehouse on PostgreSQL.

The instance is configured by the repo's ``dagster.postgres.yaml`` (credentials from
``BEAMBELL_PG_*``), the warehouse by ``BEAMBELL_WAREHOUSE_URL``, each in its own fresh database on
the real local server. A champion is trained in-process (runs recorded in PostgreSQL), then the real
webserver + daemon pick up a dropped batch through the landing sensor and write its predictions.
"""

from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from beambell_assets.devtools import running_dagster
from beambell_assets.devtools.freshness import drop_and_wait, seed_home
from beambell_assets.devtools.local_dagster import wait_for
from beambell_assets.devtools.postgres import install_instance_config, instance_env, temp_database
from beambell_assets.devtools.sample_home import FIXED_END_MODEL_ENV
from beambell_assets.storage.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# Liveness bounds, not speed targets (the landing lag is benchmarks/freshness.py's): a run that has
# not got there by then is stuck, however many other test files share the two cores.
LIVENESS_S = 300


def test_full_graph_with_sensors_on_postgres_instance_and_warehouse(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with temp_database() as instance_url:
        env = {
            **instance_env(instance_url),
            "BEAMBELL_WAREHOUSE_URL": pg_url,
            "BEAMBELL_LANDING_INTERVAL_S": "1",
            "BEAMBELL_LANDING_MIN_AGE_S": "0",
            "BEAMBELL_RETRAIN_INTERVAL_S": "3600",
            # The seeding promotion would start a rescore run of the seeded batches: tested elsewhere,
            # and on two cores it only slows the landing run down.
            "BEAMBELL_RESCORE_PARTITIONS": "0",
            **FIXED_END_MODEL_ENV,  # the executor / instance are under test, not the end-model search
        }
        for key, value in env.items():  # seed_home, drop_and_wait and the instance read them here
            monkeypatch.setenv(key, value)
        dagster_home = home / "dagster_home"
        install_instance_config(dagster_home)
        champion = seed_home(home, batches=2, pages_per_batch=60)

        with running_dagster(home, env=env) as dagster:
            drop = drop_and_wait(home, 0, pages=30, timeout_s=LIVENESS_S)
            with DagsterInstance.from_config(str(dagster_home)) as instance:
                # The landing run goes on after predictions (drift, domains, annotation queue).
                wait_for(
                    lambda: all(r.is_finished for r in instance.get_runs()),
                    LIVENESS_S,
                    0.5,
                    "the daemon's runs to finish",
                )
                finished = instance.get_run_records(
                    RunsFilter(tags={"dagster/sensor_name": "landing_sensor"})
                )
            dagster.check_alive()

        with DagsterInstance.from_config(str(dagster_home)) as instance:
            # Every kind of instance storage is PostgreSQL, nothing fell back to SQLite files.
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
            assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
            assert not list(dagster_home.rglob("*.db"))

            assert [r.dagster_run.tags["dagster/run_key"] for r in finished] == [drop.partition_key]
            assert finished[0].dagster_run.status == DagsterRunStatus.SUCCESS
            assert finished[0].dagster_run.job_name == "process_batch"
            runs = instance.get_runs()
            assert {r.job_name for r in runs} >= {"ingest_and_label", "train_and_promote", "process_batch"}
            assert all(r.status == DagsterRunStatus.SUCCESS for r in runs)
            sensor = next(s for s in instance.all_instigator_state() if s.name == "landing_sensor")
            ticks = instance.get_ticks(sensor.instigator_origin_id, sensor.selector_id)
            assert any(finished[0].dagster_run.run_id in t.run_ids for t in ticks)
            assert set(instance.get_dynamic_partitions("landing_batches")) >= {drop.partition_key}

        # The same runs, read straight from the instance's database.
        engine = sa.create_engine(instance_url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM runs")).scalar() == len(runs)
            assert conn.execute(sa.text("SELECT COUNT(*) FROM event_logs")).scalar() > 0
        engine.dispose()

    wh = Warehouse(pg_url)
    try:
        assert wh.dialect == "postgresql"
        keys = {*wh.read("SELECT DISTINCT partition_key FROM pages")["partition_key"]}
        assert len(keys) == 3 and drop.partition_key in keys
        assert wh.count("predictions", drop.partition_key) == drop.predictions > 0
        assert wh.count("pages", drop.partition_key) == drop.predictions  # every accepted page scored
        assert wh.count("quarantine") > 0 and wh.count("gold_labels") > 0
        assert set(wh.read("SELECT DISTINCT model_version FROM predictions")["model_version"]) == {champion}
        assert wh.scalar("SELECT COUNT(*) FROM model_registry WHERE version = :v", {"v": champion}) == 1
        dupes = wh.scalar(
            "SELECT COUNT(*) FROM (SELECT partition_key, page_id FROM pages "
            "GROUP BY partition_key, page_id HAVING COUNT(*) > 1) d"
        )
        assert dupes == 0
    finally:
        wh.dispose()
