"""How runs execute: the executor (in the run worker, or on celery workers) and step retries.

``executor_from_env()`` picks the executor from ``BEAMBELL_EXECUTOR`` so one code location serves a
laptop (``in_process``, the default: on two cores a process per step only adds start-up time) and
a cluster (``celery``: each step is a task on the broker, run by whichever worker takes it; see
``execution/celery.py`` and docs/production.md). The webserver, daemon, run workers and celery
workers must all see the same value, since the executor is part of the job definition.

``WAREHOUSE_RETRY_POLICY`` is for the assets that write the warehouse: a dropped connection or a
database restart fails the step's transaction (nothing is half-written: partitions are replaced in
one transaction), and retrying the step a few seconds later replaces the partition cleanly.
"""

import os

from dagster import Backoff, ExecutorDefinition, RetryPolicy, in_process_executor, multiprocess_executor

EXECUTOR_ENV = "BEAMBELL_EXECUTOR"
EXECUTORS = ("in_process", "multiprocess", "celery")

#: Step retries after 2, 4 and 8 s: covers a PostgreSQL restart or fail-over (a few seconds) and
#: costs at most 14 s on an error that would fail every time.
WAREHOUSE_RETRY_POLICY = RetryPolicy(max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL)


def executor_name() -> str:
    name = (os.environ.get(EXECUTOR_ENV) or "in_process").strip().lower().replace("-", "_")
    if name not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected one of {', '.join(EXECUTORS)}")
    return name


def executor_from_env() -> ExecutorDefinition:
    """The executor for every job, from ``BEAMBELL_EXECUTOR``: in_process | multiprocess | celery."""
    name = executor_name()
    if name == "celery":
        from beambell_assets.execution.celery import celery_executor_from_env  # only where installed

        return celery_executor_from_env()
    if name == "multiprocess":
        return multiprocess_executor
    return in_process_executor


__all__ = ["EXECUTORS", "EXECUTOR_ENV", "WAREHOUSE_RETRY_POLICY", "executor_from_env", "executor_name"]
