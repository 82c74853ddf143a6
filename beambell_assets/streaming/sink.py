"""The stream's writes to the warehouse: one transaction per bundle, idempotent by key.

Everything a bundle produced — predictions (partition ``stream``), accepted pages
(``stream_pages``), quarantined rows, the accounting row of every message (``stream_messages``),
gold labels that arrived as feedback, and a learned-state checkpoint when one is due — is written
in **one** transaction: either all of it is visible or none. Each write deletes by key and inserts,
so a bundle that is replayed (a message redelivered after a crash, a runner retry) leaves exactly
the rows a single run would. Only after the commit are the messages acknowledged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from beambell_assets.storage.warehouse import Warehouse, retry_transient, utcnow
from beambell_assets.streaming.learner import PagePrediction, Position

STREAM_PARTITION = "stream"
_CHUNK = 500


@dataclass
class CommitBatch:
    """What one bundle writes (built by the pipeline, written by :func:`commit`)."""

    task: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    gold: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    acks: dict[str, list[str]] = field(default_factory=dict)  # stream -> message ids

    def __bool__(self) -> bool:
        return bool(self.messages or self.acks)

    def message(self, stream: str, message_id: str, kind: str, outcome: str, page_id: str | None) -> None:
        pos = Position.parse(message_id)
        self.messages.append(
            {
                "stream": stream,
                "message_id": message_id,
                "enqueued_ms": pos.ms,
                "seq": pos.seq,
                "task": self.task,
                "kind": kind,
                "outcome": outcome,
                "page_id": page_id,
                "committed_at": utcnow(),
            }
        )
        self.acks.setdefault(stream, []).append(message_id)

    def prediction(self, p: PagePrediction) -> None:
        self.predictions.append(
            {
                "partition_key": STREAM_PARTITION,
                "page_id": p.page_id,
                "task": self.task,
                "url": p.url,
                "label": p.label,
                "probability": p.probability,
                "model_version": p.model_version,
                "predicted_at": utcnow(),
                "source": "stream",
                "predictor": p.predictor,
                "lf_votes": json.dumps(p.lf_votes, ensure_ascii=False, sort_keys=True),
            }
        )


def _delete_keys(
    conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """Delete the rows whose ``keys`` equal those of ``rows`` (in chunks; portable SQL)."""
    if not rows:
        return
    if len(keys) == 1:
        col = table.c[keys[0]]
        values = list(dict.fromkeys(r[keys[0]] for r in rows))
        for s in range(0, len(values), _CHUNK):
            conn.execute(table.delete().where(col.in_(values[s : s + _CHUNK])))
        return
    fixed = list(keys[:-1])
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in fixed), []).append(r[keys[-1]])
    last = table.c[keys[-1]]
    for prefix, values in groups.items():
        cond = sa.and_(*(table.c[k] == v for k, v in zip(fixed, prefix, strict=True)))
        values = list(dict.fromkeys(values))
        for s in range(0, len(values), _CHUNK):
            conn.execute(table.delete().where(cond & last.in_(values[s : s + _CHUNK])))


def _replace(
    wh: Warehouse, conn: Connection, name: str, rows: list[dict[str, Any]], keys: Sequence[str]
) -> None:
    if not rows:
        return
    table = wh.table(name)
    unique = list({tuple(r[k] for k in keys): r for r in rows}.values())  # the last row of a key wins
    _delete_keys(conn, table, unique, keys)
    for s in range(0, len(unique), _CHUNK):
        wh.insert(name, unique[s : s + _CHUNK], conn=conn)


def commit(wh: Warehouse, batch: CommitBatch) -> None:
    """Write the whole batch in one transaction (retried as a whole on a lost connection)."""

    now = utcnow()
    for m in batch.messages:  # the accounting row says when it was committed, not when it was built
        m["committed_at"] = now

    def _do() -> None:
        with wh.engine.begin() as conn:
            _replace(wh, conn, "stream_pages", batch.pages, ["page_id"])
            _replace(wh, conn, "predictions", batch.predictions, ["partition_key", "task", "page_id"])
            _replace(wh, conn, "quarantine", batch.quarantine, ["partition_key", "source_file", "source_row"])
            _replace(wh, conn, "gold_labels", batch.gold, ["task", "page_id"])
            _replace(wh, conn, "stream_messages", batch.messages, ["stream", "message_id"])
            if batch.checkpoint is not None:
                _replace(wh, conn, "stream_checkpoints", [batch.checkpoint], ["task", "version"])

    if batch.messages or batch.checkpoint is not None:
        retry_transient(_do, delays=(0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0))


def committed_ids(wh: Warehouse, stream: str, message_ids: Sequence[str]) -> set[str]:
    """Which of ``message_ids`` already have their row (a redelivery of a committed message)."""
    if not message_ids:
        return set()
    t = wh.table("stream_messages")
    out: set[str] = set()

    def _do() -> None:
        with wh.engine.connect() as conn:
            for s in range(0, len(message_ids), _CHUNK):
                q = sa.select(t.c.message_id).where(
                    (t.c.stream == stream) & t.c.message_id.in_(list(message_ids[s : s + _CHUNK]))
                )
                out.update(r[0] for r in conn.execute(q))

    retry_transient(_do)
    return out


def content_owners(wh: Warehouse, hashes: Sequence[str]) -> dict[str, set[str]]:
    """content hash -> the page ids (stream or batch) that already hold that content."""
    if not hashes:
        return {}
    unique = list(dict.fromkeys(hashes))
    owners: dict[str, set[str]] = {}

    def _do() -> None:
        with wh.engine.connect() as conn:
            for table in ("pages", "stream_pages"):
                t = wh.table(table)
                for s in range(0, len(unique), _CHUNK):
                    q = sa.select(t.c.content_hash, t.c.page_id).where(
                        t.c.content_hash.in_(unique[s : s + _CHUNK])
                    )
                    for h, p in conn.execute(q):
                        owners.setdefault(h, set()).add(p)

    retry_transient(_do)
    return owners


def next_checkpoint_version(wh: Warehouse, task: str) -> int:
    v = wh.scalar("SELECT MAX(version) FROM stream_checkpoints WHERE task = :t", {"t": task})
    return int(v or 0) + 1
