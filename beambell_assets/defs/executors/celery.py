"""Running Dagster steps on celery workers (dagster-celery), with Redis or RabbitMQ as the broker.

With ``BEAMBELL_EXECUTOR=celery`` every job's steps are sent as celery tasks to the ``dagster``
queue; a worker started with::

    celery -A beambell_assets.defs.executors.celery worker -Q dagster --loglevel=INFO

(any number, on any machine that has the code, the same ``BEAMBELL_*`` environment and can reach
the broker, the instance's PostgreSQL and the warehouse) takes a step, loads the job from
``beambell_assets.definitions``, executes the step and writes its events straight into the
instance. The run worker only submits steps and waits for their results.

``BEAMBELL_CELERY_BROKER`` (default ``redis://127.0.0.1:6379/0``; RabbitMQ:
``pyamqp://guest:guest@127.0.0.1:5672//``) and ``BEAMBELL_CELERY_BACKEND`` (result backend;
default: the broker URL for Redis, ``rpc://`` for AMQP) must be the same for the run worker and the
celery workers, which is why both build them from ``ExecutorSettings`` (``settings.py``).
"""

from typing import Any

from celery import Celery
from dagster import ExecutorDefinition
from dagster_celery import celery_executor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from beambell_assets.settings import ExecutorSettings

BROKER_ENV = "BEAMBELL_CELERY_BROKER"
BACKEND_ENV = "BEAMBELL_CELERY_BACKEND"
DEFAULT_BROKER = ExecutorSettings.celery_broker
QUEUE = "dagster"

#: Settings shared by the run worker's client and the workers: one step per worker slot at a time
#: (steps are long; prefetching would park a second step behind the first), and keep retrying the
#: broker if it is briefly unreachable at start.
CELERY_CONFIG: dict[str, Any] = {
    "worker_prefetch_multiplier": 1,
    "task_acks_late": True,
    "broker_connection_retry_on_startup": True,
}


def celery_executor_for(settings: ExecutorSettings) -> ExecutorDefinition:
    """dagster-celery's executor on the settings' broker (name ``celery`` in the UI)."""
    return celery_executor.configured(
        {
            "broker": settings.celery_broker,
            "backend": settings.result_backend,
            "config_source": dict(CELERY_CONFIG),
        },
        name="celery",
    )


def make_worker_app() -> Celery:
    """The celery app a worker runs: dagster-celery's tasks on the ``dagster`` queue, our broker."""
    settings = ExecutorSettings.from_env()
    app = make_app()
    app.conf.update(
        broker_url=settings.celery_broker, result_backend=settings.result_backend, **CELERY_CONFIG
    )
    create_task(app)
    create_execute_job_task(app)
    create_resume_job_task(app)
    return app


_app: Celery | None = None


def __getattr__(name: str) -> Any:
    """``app`` for ``celery -A beambell_assets.defs.executors.celery``, built on first use only."""
    global _app
    if name == "app":
        if _app is None:
            _app = make_worker_app()
        return _app
    raise AttributeError(name)
