"""Gold labels as feedback: store them, then tell the stream, so it learns from them within seconds.

The warehouse's ``gold_labels`` table stays the source of truth: a label is written there first, in
its own transaction, and then announced on the task's feedback stream (``<prefix>:<task>:feedback``,
``persisted: true``) for a running stream pipeline, which refits its stateful LFs and teaches its
online model from it. When Redis cannot be reached the label is still stored; a stream that starts
later reads every gold label from the warehouse. Used by the prediction service's ``POST
/v1/feedback`` and by the Label Studio gold sync.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from beambell_assets.ingest.contract import normalize_url, page_id_for
from beambell_assets.labeling.task import Task
from beambell_assets.settings import StreamSettings
from beambell_assets.storage.warehouse import Warehouse, retry_transient, utcnow

log = logging.getLogger(__name__)


@dataclass
class FeedbackResult:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"index", "reason"}
    published: int = 0
    stream_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "rejected": self.rejected,
            "published_to_stream": self.published,
            "stream_error": self.stream_error,
        }


def _page_urls(wh: Warehouse, page_ids: Sequence[str]) -> dict[str, str]:
    if not page_ids:
        return {}
    params = {f"p{i}": p for i, p in enumerate(dict.fromkeys(page_ids))}
    marks = ", ".join(":" + k for k in params)
    found: dict[str, str] = {}
    for table in ("stream_pages", "pages"):
        df = wh.read(f"SELECT page_id, url FROM {table} WHERE page_id IN ({marks})", params)
        for pid, url in zip(df["page_id"], df["url"], strict=True):
            found.setdefault(pid, url)
    return found


def record_gold(
    wh: Warehouse,
    task: Task,
    items: Sequence[dict[str, Any]],
    *,
    source: str = "service",
    stream: StreamSettings | None = None,
) -> FeedbackResult:
    """Validate, store and announce gold labels (``{"page_id" or "url", "label", "labeler"?}``).

    A label outside the task's label space, or a page that cannot be identified, is rejected with a
    reason (the caller hears of it; nothing is stored silently wrong)."""
    result = FeedbackResult()
    wanted: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(items):
        label = task.label_for(item.get("label"))
        if label is None:
            result.rejected.append(
                {"index": i, "reason": f"unknown label {item.get('label')!r} for task {task.name!r}"}
            )
            continue
        item = {**item, "label": label}
        page_id, url = item.get("page_id"), item.get("url")
        norm = normalize_url(url) if isinstance(url, str) and url else None
        if url and norm is None:
            result.rejected.append({"index": i, "reason": f"not an http(s) url: {url!r}"})
            continue
        if not page_id and norm:
            page_id = page_id_for(norm)
        if not page_id:
            result.rejected.append({"index": i, "reason": "needs a page_id or a url"})
            continue
        wanted.append((i, {**item, "page_id": str(page_id), "url": norm}))
    known = _page_urls(wh, [w["page_id"] for _i, w in wanted if not w["url"]])
    rows = []
    for i, item in wanted:
        url = item["url"] or known.get(item["page_id"])
        if not url:
            result.rejected.append({"index": i, "reason": f"unknown page {item['page_id']!r}: send its url"})
            continue
        labeler = item.get("labeler")
        rows.append(
            {
                "page_id": item["page_id"],
                "task": task.name,
                "url": url,
                "label": item["label"],
                "labeler": labeler,
                "labeled_at": item.get("labeled_at") or utcnow().isoformat(),
                "source": f"{source}:{labeler}" if labeler else source,
                "loaded_at": utcnow(),
            }
        )
    if rows:
        retry_transient(lambda: _replace_gold(wh, rows))
    result.accepted = rows
    if rows and stream is not None:
        result.published, result.stream_error = publish_feedback(stream, task.name, rows)
    return result


def _replace_gold(wh: Warehouse, rows: list[dict[str, Any]]) -> None:
    t = wh.table("gold_labels")
    with wh.engine.begin() as conn:
        for r in rows:
            conn.execute(t.delete().where((t.c.task == r["task"]) & (t.c.page_id == r["page_id"])))
        wh.insert("gold_labels", rows, conn=conn)


def publish_feedback(
    stream: StreamSettings, task_name: str, rows: Sequence[dict[str, Any]]
) -> tuple[int, str | None]:
    """Announce stored gold rows on the feedback stream; ``(sent, error)`` (never raises)."""
    from beambell_assets.streaming.messages import StreamNames, send

    if not rows:
        return 0, None
    payloads = [
        {
            "page_id": r["page_id"],
            "url": r.get("url"),
            "label": r["label"],
            "labeler": r.get("labeler"),
            "source": r.get("source"),
            "persisted": True,
        }
        for r in rows
    ]
    try:
        client = redis.Redis.from_url(stream.redis_url, socket_connect_timeout=2, socket_timeout=5)
        try:
            return len(send(client, StreamNames(stream.prefix, task_name).feedback, payloads)), None
        finally:
            client.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        log.warning("gold stored, but the stream was not told (Redis unreachable): %s", exc)
        return 0, f"{type(exc).__name__}: {exc}"
