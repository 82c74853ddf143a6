"""Send quarantined stream pages through the stream again, e.g. after the task's code was fixed.

A page whose processing raised (``processing_failed``: the task's ``prepare`` hook, say) is kept in
``quarantine`` with its message id (``source_file`` = ``<pages stream>#<id>``) and only the first
2,000 characters of the page; the message itself stays in the Redis stream. Requeueing copies each
such message, all its fields, to the end of the pages stream as a new message, and then deletes
its quarantine row and marks the old message ``requeued`` in ``stream_messages``: the new message
is accepted or quarantined again, so every page stays accounted for exactly once. Copy first,
delete second: a crash in between requeues a page twice, which the stream scores as a re-scrape of
the same url, and never loses one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.streaming.prepare import PROCESSING_FAILED
from beambell_assets.streaming.sink import STREAM_PARTITION

#: ``stream_messages.outcome`` of a message whose page was sent again as a new message.
REQUEUED = "requeued"


@dataclass
class RequeueResult:
    """What :func:`requeue_quarantined` did: new message id per old one, and what it could not find."""

    requeued: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # no longer in the stream (trimmed or deleted)


def requeue_quarantined(
    client: redis.Redis, wh: Warehouse, pages_stream: str, reason: str = PROCESSING_FAILED
) -> RequeueResult:
    """Requeue the ``reason`` quarantine rows of ``pages_stream`` (see the module docstring)."""
    rows = wh.read(
        "SELECT source_file FROM quarantine WHERE partition_key = :p AND reason = :r "
        "AND source_file LIKE :s ORDER BY source_file",
        {"p": STREAM_PARTITION, "r": reason, "s": f"{pages_stream}#%"},
    )
    result = RequeueResult()
    table, messages = wh.table("quarantine"), wh.table("stream_messages")
    for source in rows["source_file"]:
        message_id = source.rsplit("#", 1)[1]
        found = client.xrange(pages_stream, min=message_id, max=message_id, count=1)
        if not found:
            result.missing.append(message_id)
            continue
        new_id = client.xadd(pages_stream, dict(found[0][1]))
        with wh.engine.begin() as conn:  # the row goes, and the old message says where it went
            conn.execute(
                table.delete().where(
                    (table.c.partition_key == STREAM_PARTITION)
                    & (table.c.source_file == source)
                    & (table.c.reason == reason)
                )
            )
            conn.execute(
                messages.update()
                .where((messages.c.stream == pages_stream) & (messages.c.message_id == message_id))
                .values(outcome=REQUEUED)
            )
        result.requeued[message_id] = new_id.decode() if isinstance(new_id, bytes) else str(new_id)
    return result
