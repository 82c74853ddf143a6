"""What the stream is doing, read back from Redis (status hash, stream lag) and the warehouse.

The pipeline publishes its status after every bundle (``<prefix>:<task>:status``: heartbeat,
pages/s, latency percentiles, the learner's summary) and the reader refreshes the heartbeat about
once a second even when idle. ``beambell stream status``, the Dagster stream assets and the health
sensor all read it through :func:`stream_status`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from beambell_assets.settings import StreamSettings
from beambell_assets.streaming.messages import StreamNames
from beambell_assets.streaming.source import stream_lag


@dataclass
class StreamStatus:
    names: StreamNames
    reachable: bool
    heartbeat_age_s: float | None
    pages_lag: dict[str, Any] = field(default_factory=dict)
    feedback_lag: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def running(self, down_after_s: float) -> bool:
        return self.reachable and self.heartbeat_age_s is not None and self.heartbeat_age_s <= down_after_s

    def problems(self, down_after_s: float, max_lag: int) -> list[str]:
        """Why the stream is unhealthy (empty: healthy)."""
        if not self.reachable:
            return [f"Redis unreachable: {self.error}"]
        out = []
        if self.heartbeat_age_s is None:
            out.append("the stream pipeline has never run (no heartbeat)")
        elif self.heartbeat_age_s > down_after_s:
            out.append(f"the stream pipeline is down: last heartbeat {self.heartbeat_age_s:.0f} s ago")
        backlog = int(self.pages_lag.get("lag") or 0) + int(self.pages_lag.get("pending") or 0)
        if backlog > max_lag:
            out.append(f"lag of {backlog} pages > {max_lag} ({self.names.pages})")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages_stream": self.names.pages,
            "reachable": self.reachable,
            "heartbeat_age_s": None if self.heartbeat_age_s is None else round(self.heartbeat_age_s, 1),
            "pages_lag": self.pages_lag,
            "feedback_lag": self.feedback_lag,
            **{k: v for k, v in self.fields.items() if k not in ("summary", "job")},
            "summary": self.summary,
        }


def _num(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def stream_status(stream: StreamSettings, task_name: str) -> StreamStatus:
    names = StreamNames(stream.prefix, task_name)
    client = redis.Redis.from_url(stream.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        raw = client.hgetall(names.status)
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        status = StreamStatus(
            names=names,
            reachable=True,
            heartbeat_age_s=time.time() - float(fields["heartbeat"]) if "heartbeat" in fields else None,
            pages_lag=stream_lag(client, names.pages, stream.group),
            feedback_lag=stream_lag(client, names.feedback, stream.group),
            fields={k: _num(v) for k, v in fields.items()},
            summary=json.loads(fields.get("summary") or "{}"),
        )
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        status = StreamStatus(names=names, reachable=False, heartbeat_age_s=None, error=str(exc))
    finally:
        client.close()
    return status
