"""Dagster runs on celery workers: dagster-celery, the local Redis as broker and result backend.

A real ``celery worker`` subprocess (``-A beambell_assets.defs.executors.celery``) serves the ``dagster``
queue; the real webserver + daemon run with ``BEAMBELL_EXECUTOR=celery`` on a PostgreSQL instance
and warehouse. A landed batch becomes an ingest run through the landing sensor, then the train job
is launched as the UI does; every step of both runs must have been executed by the worker process,
not by the run workers.
"""

import random
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from beambell_assets.demo.sample import write_sample_gold, write_sample_scrape
from beambell_assets.devtools import running_dagster
from beambell_assets.devtools.local_dagster import (
    REPO_ROOT,
    LocalDagster,
    _child_env,
    stop_processes,
    wait_for,
)
from beambell_assets.devtools.postgres import install_instance_config, instance_env, temp_database
from beambell_assets.devtools.sample_home import FIXED_END_MODEL_ENV
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REDIS = "redis://127.0.0.1:6379"
TIMEOUT_S = 180

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


@pytest.fixture
def broker() -> str:
    """A Redis database of its own, so a worker elsewhere on the machine never takes our steps."""
    url = f"{REDIS}/{random.randint(8, 15)}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {url}: {exc}")
    return url


StartWorker = Callable[[Path, dict[str, str]], tuple[subprocess.Popen[bytes], Path]]


@pytest.fixture
def celery_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Starts ``celery worker`` subprocesses (solo pool: steps run in the worker's own process)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / "celery_worker.log"
        argv = [
            str(Path(sys.executable).parent / "celery"),
            *("-A", "beambell_assets.defs.executors.celery", "worker", "-Q", "dagster"),
            *("--pool", "solo", "--loglevel", "INFO", "-n", f"beambell-test-{uuid.uuid4().hex[:6]}@%h"),
            *("--without-gossip", "--without-mingle"),
        ]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=_child_env(home, env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            return " ready." in log.read_text(errors="replace")

        wait_for(ready, 60, 0.2, "the celery worker to be ready")
        return proc, log

    yield start
    stop_processes(started)


def _launch(dagster: LocalDagster, job: str) -> str:
    params = {
        "selector": {
            "repositoryLocationName": "beambell",
            "repositoryName": "__repository__",
            "jobName": job,
        },
        "runConfigData": {},
    }
    result = dagster.graphql(LAUNCH, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def test_ingest_and_train_run_on_a_celery_worker(
    tmp_path: Path, pg_url: str, broker: str, celery_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    landing, gold = home / "landing", home / "gold"
    write_sample_scrape(landing, n_batches=1, pages_per_batch=160, seed=7)
    write_sample_gold(gold, n_batches=1, pages_per_batch=160, seed=7)
    with temp_database() as instance_url:
        env = {
            **instance_env(instance_url),
            "BEAMBELL_WAREHOUSE_URL": pg_url,
            "BEAMBELL_EXECUTOR": "celery",
            "BEAMBELL_CELERY_BROKER": broker,
            "BEAMBELL_LANDING_INTERVAL_S": "1",
            "BEAMBELL_LANDING_MIN_AGE_S": "0",
            "BEAMBELL_RETRAIN_INTERVAL_S": "3600",
            **FIXED_END_MODEL_ENV,  # the executor / instance are under test, not the end-model search
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        install_instance_config(home / "dagster_home")
        worker, worker_log = celery_worker(home, env)

        with running_dagster(home, env=env) as dagster:
            with DagsterInstance.from_config(str(dagster.dagster_home)) as instance:
                landing_runs = RunsFilter(tags={"dagster/sensor_name": "landing_sensor"})
                ingest = wait_for(
                    lambda: (
                        (runs := instance.get_runs(landing_runs))
                        and all(r.is_finished for r in runs)
                        and runs
                    ),
                    TIMEOUT_S,
                    0.5,
                    "the ingest run from the landing sensor",
                )
                tail = worker_log.read_text()[-3000:]
                assert [r.status for r in ingest] == [DagsterRunStatus.SUCCESS], tail
                assert {r.job_name for r in ingest} == {"ingest_and_label"}

                train_id = _launch(dagster, "train_and_promote")
                train = wait_for(
                    lambda: (r := instance.get_run_by_id(train_id)) is not None and r.is_finished and r,
                    TIMEOUT_S,
                    0.5,
                    "the train run",
                )
                assert train.status == DagsterRunStatus.SUCCESS, worker_log.read_text()[-3000:]

                for run in [*ingest, train]:
                    starts = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
                    assert starts, f"no steps in {run.job_name}"
                    # Every step started in the celery worker's process, none in the run worker.
                    assert {e.dagster_event.pid for e in starts} == {worker.pid}
                    delegated = [
                        e
                        for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
                        if "in celery worker" in (e.message or "")
                    ]
                    assert len(delegated) == len(starts)
                steps = {
                    e.step_key for e in instance.all_logs(train.run_id, of_type=DagsterEventType.STEP_SUCCESS)
                }
                assert {"label_model", "classifier", "deployed_model"} <= steps
            dagster.check_alive()

    assert worker.poll() is None  # the worker is still serving after the runs
    assert "execute_plan" in worker_log.read_text() and "succeeded" in worker_log.read_text()
    wh = Warehouse(pg_url)
    try:
        assert wh.count("pages") > 0 and wh.count("lf_stats") > 0
        assert ModelRegistry(wh, "web_content").champion() is not None
    finally:
        wh.dispose()
