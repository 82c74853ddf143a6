"""Retrain requests: a durable queue between "something says retrain" and the training job.

Drift (``drift_report``), new gold labels or a person write a row; a sensor or the training job
reads :func:`pending_retrain_requests` and, once its run has started, marks them consumed with
:func:`mark_retrain_requests_consumed`. Request ids are deterministic per trigger (e.g.
``drift:<task>:<partition>``) so re-running the asset that raised one never duplicates it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

from beambell_assets.storage.warehouse import Warehouse, utcnow

TRIGGERS = ("drift", "gold", "manual")


def drift_request_id(task: str, partition_key: str) -> str:
    return f"drift:{task}:{partition_key}"


def request_retrain(
    wh: Warehouse,
    task: str,
    trig: str,
    *,
    request_id: str,
    partition_key: str | None = None,
    detail: str | None = None,
) -> bool:
    """Insert a request unless ``request_id`` exists (pending or consumed); True if inserted."""
    if trig not in TRIGGERS:
        raise ValueError(f"unknown retrain trigger {trig!r} (expected one of {TRIGGERS})")
    t = wh.table("retrain_requests")
    row = {
        "request_id": request_id,
        "task": task,
        "trig": trig,
        "partition_key": partition_key,
        "detail": detail,
        "requested_at": utcnow(),
        "consumed_run_id": None,
    }
    try:
        with wh.engine.begin() as conn:
            exists = conn.execute(sa.select(t.c.request_id).where(t.c.request_id == request_id)).first()
            if exists is not None:
                return False
            conn.execute(t.insert(), [row])
    except sa.exc.IntegrityError:  # a concurrent run inserted the same id first
        return False
    return True


def withdraw_pending_request(wh: Warehouse, request_id: str) -> int:
    """Delete ``request_id`` if still pending (a re-run no longer recommends it); consumed ones stay."""
    t = wh.table("retrain_requests")
    with wh.engine.begin() as conn:
        result = conn.execute(
            t.delete().where((t.c.request_id == request_id) & t.c.consumed_run_id.is_(None))
        )
    return int(result.rowcount or 0)


def pending_retrain_requests(wh: Warehouse, task: str) -> pd.DataFrame:
    """Unconsumed requests of ``task``, oldest first."""
    return wh.read(
        "SELECT request_id, task, trig, partition_key, detail, requested_at FROM retrain_requests "
        "WHERE task = :t AND consumed_run_id IS NULL ORDER BY requested_at, request_id",
        {"t": task},
    )


def mark_retrain_requests_consumed(wh: Warehouse, request_ids: Sequence[str], run_id: str) -> int:
    """Attach ``run_id`` to the still-pending ``request_ids``; returns how many were marked.

    Already-consumed requests keep their first run id, so two runs racing for the same request
    cannot both claim it (the second sees 0 marked).
    """
    if not request_ids:
        return 0
    t = wh.table("retrain_requests")
    with wh.engine.begin() as conn:
        result = conn.execute(
            t.update()
            .where(t.c.request_id.in_(list(request_ids)) & t.c.consumed_run_id.is_(None))
            .values(consumed_run_id=run_id)
        )
    return int(result.rowcount or 0)
