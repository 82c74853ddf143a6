"""How runs execute: the executor (in the run worker, or on celery workers) and step retries.

``executor_for(settings.executor)`` picks the executor (``BEAMBELL_EXECUTOR``) so one code location serves a
laptop (``in_process``, the default: on two cores a process per step only adds start-up time) and
a cluster (``celery``: each step is a task on the broker, run by whichever worker takes it; see
``defs/executors/celery.py`` and docs/production.md). The webserver, daemon, run workers and celery
workers must all see the same value, since the executor is part of the job definition.

``WAREHOUSE_RETRY_POLICY`` is for the assets that write the warehouse: a dropped connection or a
database restart fails the step's transaction (nothing is half-written: partitions are replaced in
one transaction), and retrying the step a few seconds later replaces the partition cleanly. Those
assets run their body in ``retry_only_transient()`` so that only such transient errors are
retried; a deterministic one (a schema error, a missing file) fails the step at once.
"""

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import sqlalchemy.exc
from dagster import (
    Backoff,
    ExecutorDefinition,
    Failure,
    RetryPolicy,
    in_process_executor,
    multiprocess_executor,
)

from beambell_assets.settings import EXECUTORS, ExecutorSettings

EXECUTOR_ENV = "BEAMBELL_EXECUTOR"

#: Step retries after 2, 4 and 8 s: covers a PostgreSQL restart or fail-over (a few seconds) and
#: costs at most 14 s on an error that would fail every time.
WAREHOUSE_RETRY_POLICY = RetryPolicy(max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL)


P = ParamSpec("P")
R = TypeVar("R")

#: I/O errors that a retry cannot fix: the file is gone or is not what was expected.
_DETERMINISTIC_OS_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the step may succeed: a database connection problem or an I/O error."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(
            exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError
        )
    if isinstance(exc, sqlalchemy.exc.DisconnectionError | sqlalchemy.exc.TimeoutError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, _DETERMINISTIC_OS_ERRORS)


@contextlib.contextmanager
def retry_only_transient() -> Iterator[None]:
    """Inside a step with ``WAREHOUSE_RETRY_POLICY``: deterministic errors fail at once.

    Dagster's retry policy retries every exception; a bad column mapping or a deleted landing file
    fails the same way each time, so it is raised as a ``Failure`` that allows no retries, with
    the real error as its description (the run shows the cause, not "Exceeded max_retries").
    """
    try:
        yield
    except Failure:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc


def transient_retries_only(fn: Callable[P, R]) -> Callable[P, R]:
    """:func:`retry_only_transient` around a whole asset function (signature kept for Dagster)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with retry_only_transient():
            return fn(*args, **kwargs)

    return wrapper


def executor_for(settings: ExecutorSettings) -> ExecutorDefinition:
    """The executor for every job (``Settings.executor``): in_process | multiprocess | celery."""
    if settings.name == "celery":
        from beambell_assets.defs.executors.celery import celery_executor_for  # only where installed

        return celery_executor_for(settings)
    if settings.name == "multiprocess":
        return multiprocess_executor
    return in_process_executor


def executor_from_env() -> ExecutorDefinition:
    """:func:`executor_for` the environment's settings (``BEAMBELL_EXECUTOR``)."""
    return executor_for(ExecutorSettings.from_env())


__all__ = [
    "EXECUTORS",
    "EXECUTOR_ENV",
    "WAREHOUSE_RETRY_POLICY",
    "executor_for",
    "executor_from_env",
    "is_transient",
    "retry_only_transient",
    "transient_retries_only",
]
