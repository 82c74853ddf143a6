"""Concurrency and faults, for real: a PostgreSQL instance and warehouse, the real daemon.

PostgreSQL is a private server of the module's own (same binaries, its own data directory and port).
Runs are started the production way (a batch file lands, the landing sensor requests a run, the
daemon launches it) and held at a known point with the warehouse's test-only pause hook
(``BEAMBELL_TEST_PAUSE_FILE``): inside the transaction that replaces a partition's pages and
quarantine rows, after both were written, before the commit. From there the tests

* let two runs write different partitions at the same time,
* SIGKILL the run worker, and check the run is failed by the code server, retried by the daemon
  (``run_retries``) and ends with exactly a clean run's rows,
* restart that PostgreSQL, and check the commit fails, the step's ``RetryPolicy`` retries it and the
  partition ends complete.

No champion exists, so the landing sensor runs only the ingest job (raw_pages, page_features,
lf_votes), which keeps each run to a few seconds.
"""

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from beambell_assets.demo.sample import write_sample_batch
from beambell_assets.devtools import running_dagster
from beambell_assets.devtools.local_dagster import LocalDagster, wait_for
from beambell_assets.devtools.postgres import (
    PrivatePostgres,
    create_database,
    install_instance_config,
    instance_env,
    temp_database,
)
from beambell_assets.ingest.quality import validate_pages
from beambell_assets.ingest.readers import read_landing_file
from beambell_assets.storage.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = datetime(2031, 1, 1, tzinfo=UTC)
RUN_TIMEOUT_S = 120


@dataclass
class Env:
    dagster: LocalDagster
    instance: DagsterInstance
    wh: Warehouse
    landing: Path
    pause: Path
    server: PrivatePostgres


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("faults") / "home"
    pause = home / "pause"
    # A server of this module's own (instance and warehouse): restarting it cuts no other test's
    # connections, so nothing waits for anything else.
    server = PrivatePostgres().start()
    try:
        warehouse_url = create_database(admin=server.admin_url)
        with temp_database(admin=server.admin_url) as instance_url:
            child_env = {
                **instance_env(instance_url),
                "BEAMBELL_WAREHOUSE_URL": warehouse_url,
                "BEAMBELL_TEST_PAUSE_FILE": str(pause),
                "BEAMBELL_LANDING_INTERVAL_S": "1",
                "BEAMBELL_LANDING_MIN_AGE_S": "0",
                "BEAMBELL_RETRAIN_INTERVAL_S": "3600",
            }
            install_instance_config(home / "dagster_home")
            with running_dagster(home, env=child_env) as dagster:
                saved = {k: os.environ.get(k) for k in child_env}
                os.environ.update(child_env)  # DagsterInstance.from_config resolves {env: ...} here
                try:
                    with DagsterInstance.from_config(str(dagster.dagster_home)) as instance:
                        wh = Warehouse(warehouse_url)
                        yield Env(dagster, instance, wh, home / "landing", pause, server)
                        wh.dispose()
                finally:
                    for k, v in saved.items():
                        if v is None:
                            os.environ.pop(k, None)
                        else:
                            os.environ[k] = v
    finally:
        server.stop()


def land(env: Env, index: int, pages: int = 30) -> str:
    """Land one batch (write, then rename) and return its partition key."""
    path = write_sample_batch(env.landing, pages, seed=500 + index, start=START + timedelta(hours=index))
    return path.name


def arm(env: Env, table: str = "quarantine", partition: str = "") -> None:
    env.pause.write_text(f"{table} {partition}".strip())


def paused_writers(env: Env, count: int) -> dict[int, str]:
    """Wait until ``count`` processes hold a paused write; pid -> partition key."""

    def found() -> dict[int, str]:
        env.dagster.check_alive()
        markers = env.pause.parent.glob(f"{env.pause.name}.*.paused")
        held = {int(p.name.split(".")[-2]): p.read_text() for p in markers}
        return held if len(held) >= count else {}

    return wait_for(found, RUN_TIMEOUT_S, 0.1, f"{count} paused writer(s)")


def release(env: Env) -> None:
    env.pause.unlink(missing_ok=True)
    for marker in env.pause.parent.glob(f"{env.pause.name}.*.paused"):
        marker.unlink()


def run_for(env: Env, partition: str) -> DagsterRun:
    """The landing sensor's run for ``partition`` (its run key is the partition key)."""
    filt = RunsFilter(tags={"dagster/sensor_name": "landing_sensor", "dagster/run_key": partition})
    return wait_for(lambda: next(iter(env.instance.get_runs(filt)), None), RUN_TIMEOUT_S, 0.2, "the run")


def finished(env: Env, run_id: str) -> DagsterRun:
    return wait_for(
        lambda: (r := env.instance.get_run_by_id(run_id)) is not None and r.is_finished and r,
        RUN_TIMEOUT_S,
        0.2,
        f"run {run_id} to finish",
    )


def expected_counts(env: Env, partition: str) -> tuple[int, int]:
    """(accepted, quarantined) for a clean ingest of the landed file, computed here from scratch."""
    result = read_landing_file(
        env.landing / partition, partition, known_content_hashes=env.wh.content_hashes_before(partition)
    )
    quality = validate_pages(result.accepted)
    return len(quality.passed), len(result.quarantined) + len(quality.failed)


def stored_counts(env: Env, partition: str) -> tuple[int, int]:
    return env.wh.count("pages", partition), env.wh.count("quarantine", partition)


def assert_complete(env: Env, partition: str) -> None:
    assert stored_counts(env, partition) == expected_counts(env, partition)
    dupes = env.wh.scalar(
        "SELECT COUNT(*) FROM (SELECT page_id FROM pages WHERE partition_key = :k "
        "GROUP BY page_id HAVING COUNT(*) > 1) d",
        {"k": partition},
    )
    assert dupes == 0
    assert env.wh.scalar("SELECT COUNT(*) FROM lf_stats WHERE partition_key = :k", {"k": partition}) > 0


def test_two_runs_write_different_partitions_at_once(env: Env) -> None:
    arm(env)  # every quarantine write pauses: both runs end up inside their transactions together
    a, b = land(env, 0), land(env, 1)
    held = paused_writers(env, 2)
    assert sorted(held.values()) == sorted([a, b]) and len(held) == 2  # two processes, one each
    assert stored_counts(env, a) == stored_counts(env, b) == (0, 0)  # nothing visible before commit
    release(env)
    runs = [finished(env, run_for(env, k).run_id) for k in (a, b)]
    assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS] * 2
    for key in (a, b):
        assert_complete(env, key)


def test_killed_run_worker_is_retried_without_duplicates_or_loss(env: Env) -> None:
    key = land(env, 2)
    arm(env, partition=key)
    ((pid, held_key),) = paused_writers(env, 1).items()
    assert held_key == key
    original = run_for(env, key)
    assert stored_counts(env, key) == (0, 0)
    os.kill(pid, signal.SIGKILL)  # the run worker, mid-transaction
    release(env)

    first = finished(env, original.run_id)
    assert first.status == DagsterRunStatus.FAILURE
    assert stored_counts(env, key) == (0, 0)  # the killed transaction left nothing behind
    children = RunsFilter(tags={"dagster/parent_run_id": first.run_id})
    retry = wait_for(
        lambda: next(iter(env.instance.get_runs(children)), None),
        RUN_TIMEOUT_S,
        0.2,
        "the daemon to retry the killed run",
    )
    assert finished(env, retry.run_id).status == DagsterRunStatus.SUCCESS
    assert_complete(env, key)


def test_database_restart_during_a_write_is_recovered_by_the_retry_policy(env: Env) -> None:
    key = land(env, 3)
    arm(env, partition=key)
    paused_writers(env, 1)
    original = run_for(env, key)
    down_s = env.server.restart()  # cuts the paused transaction's connection; waits until it is back
    assert down_s < 60
    release(env)

    run = finished(env, original.run_id)
    assert run.status == DagsterRunStatus.SUCCESS
    retried = env.instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY)
    assert [e.step_key for e in retried] == ["raw_pages"]
    assert_complete(env, key)
    env.dagster.check_alive()  # webserver and daemon rode it out
