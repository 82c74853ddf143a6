"""Where the stream's pages come from: Redis Streams with a consumer group, behind a small interface.

:class:`StreamSource` is what the pipeline needs from any unbounded source: read a batch of new
messages (blocking on the server, never spinning), re-read the ones delivered earlier but never
acknowledged, acknowledge after the results are committed, and say how far behind it is. Redis
Streams give exactly that: ``XREADGROUP … BLOCK`` waits on the server, the pending entries list
(PEL) keeps every unacknowledged message, ``XAUTOCLAIM`` takes over the messages of a consumer that
died, and ``XINFO GROUPS`` reports the lag. Delivery is at least once; the sink's writes are
idempotent, so each page still gets exactly one row.

On a cluster runner the same pipeline reads from the broker the cluster has: KafkaIO
(``apache_beam.io.kafka.ReadFromKafka``, a cross-language transform: it needs the Java expansion
service), or Pub/Sub on Dataflow (``apache_beam.io.ReadFromPubSub``); both ack on the runner's
checkpoint instead of after our commit, which the idempotent sink makes safe too. See
``docs/streaming.md``.

Connection loss (Redis restarted, network) is not an error for the pipeline: :meth:`read` waits with
capped exponential backoff and reconnects; a group that vanished with a Redis restart (no
persistence) is created again.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis

log = logging.getLogger(__name__)

#: The one field a page (or feedback) message carries: a JSON object.
PAYLOAD_FIELD = "json"


@dataclass(frozen=True)
class StreamMessage:
    """One message: its id (``<ms>-<seq>``), its raw payload bytes and how often it was delivered."""

    stream: str
    id: str
    payload: bytes | None
    fields: dict[str, bytes]
    deliveries: int = 1

    @property
    def enqueued_ms(self) -> int:
        return int(self.id.split("-", 1)[0])


class StreamSource(Protocol):
    """What the pipeline reads through (Redis here; see the module docstring for cluster brokers)."""

    streams: tuple[str, ...]

    def read(self, count: int, block_ms: int) -> list[StreamMessage]: ...

    def ack(self, stream: str, ids: Sequence[str]) -> int: ...

    def lag(self, stream: str) -> dict[str, Any]: ...


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RedisStreamSource:
    """A consumer, in one consumer group, of one or more Redis streams read by one blocking call.

    Several streams share one ``XREADGROUP … BLOCK``: the page stream and the feedback stream are
    waited on together, so neither delays the other. The first :meth:`read` after start-up returns
    this consumer's own pending messages and claims those of consumers idle for more than
    ``claim_idle_ms`` (a killed pipeline), before any new message: nothing delivered before a crash
    is skipped.
    """

    def __init__(
        self,
        url: str,
        streams: Sequence[str],
        group: str = "beambell",
        consumer: str | None = None,
        *,
        claim_idle_ms: int = 30_000,
        max_backoff_s: float = 5.0,
    ) -> None:
        if not streams:
            raise ValueError("need at least one stream")
        self.url = url
        self.streams = tuple(streams)
        self.group = group
        self.consumer = consumer or consumer_name()
        self.claim_idle_ms = claim_idle_ms
        self.max_backoff_s = max_backoff_s
        self._client: redis.Redis | None = None
        self._recovered = False
        self.reconnects = 0
        self._failures = 0

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=30)
        return self._client

    def ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    # ------------------------------------------------------------------ reading

    def read(self, count: int = 500, block_ms: int = 1000) -> list[StreamMessage]:
        """Up to ``count`` messages per stream; waits on the server at most ``block_ms`` when there
        are none. Never raises on a lost connection: it backs off (up to ``max_backoff_s``),
        reconnects and returns ``[]``, so the caller simply reads again."""
        try:
            if not self._recovered:
                self.ensure_groups()
                pending = [m for stream in self.streams for m in self._recover(stream, count)]
                self._recovered = True
                if pending:
                    self._failures = 0
                    return pending
            reply = self.client.xreadgroup(
                self.group, self.consumer, dict.fromkeys(self.streams, ">"), count=count, block=block_ms
            )
            self._failures = 0
            return [self._message(st, mid, f, 1) for st, msgs in reply or [] for mid, f in msgs]
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):  # Redis restarted without persistence: the groups are gone
                log.warning("streams %s: consumer group missing, creating it again", self.streams)
                self._recovered = False
                return []
            raise
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self._backoff(exc)
            return []

    def _recover(self, stream: str, count: int) -> list[StreamMessage]:
        """This consumer's pending messages on ``stream``, then those of consumers that died."""
        out: list[StreamMessage] = []
        start = "0"
        while True:  # our own PEL (a restart with the same consumer name)
            reply = self.client.xreadgroup(self.group, self.consumer, {stream: start}, count=count)
            msgs = [m for _s, ms in reply or [] for m in ms]
            if not msgs:
                break
            out.extend(self._message(stream, mid, f, 2) for mid, f in msgs if f)
            start = msgs[-1][0]
        cursor: Any = "0-0"
        while True:  # other consumers' PEL entries idle for long: XAUTOCLAIM
            reply = self.client.xautoclaim(
                stream, self.group, self.consumer, self.claim_idle_ms, cursor, count=count
            )
            cursor, claimed = reply[0], reply[1]
            out.extend(self._message(stream, mid, f, 2) for mid, f in claimed if f)
            if cursor in (b"0-0", "0-0"):
                break
        return out

    @staticmethod
    def _message(stream: Any, mid: Any, fields: dict[Any, Any], deliveries: int) -> StreamMessage:
        decoded = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in (fields or {}).items()}
        payload = decoded.get(PAYLOAD_FIELD)
        return StreamMessage(
            stream=stream.decode() if isinstance(stream, bytes) else str(stream),
            id=mid.decode() if isinstance(mid, bytes) else str(mid),
            payload=payload if isinstance(payload, bytes) or payload is None else str(payload).encode(),
            fields=decoded,
            deliveries=deliveries,
        )

    def _backoff(self, exc: BaseException) -> None:
        self.reconnects += 1
        self._failures += 1
        delay = min(self.max_backoff_s, 0.1 * 2 ** min(self._failures, 8))
        log.warning("streams %s: %s; reconnecting in %.1f s", self.streams, exc, delay)
        self._recovered = False
        self.close()
        time.sleep(delay)

    # ------------------------------------------------------------------ acknowledging, lag

    def ack(self, stream: str, ids: Sequence[str], *, attempts: int = 30) -> int:
        """Acknowledge (and delete) committed messages; waits through a reconnect."""
        if not ids:
            return 0
        for attempt in range(attempts):
            try:
                pipe = self.client.pipeline(transaction=False)
                pipe.xack(stream, self.group, *ids)
                pipe.xdel(stream, *ids)  # the warehouse holds the page now: keep the stream small
                acked, _deleted = pipe.execute()
                self._failures = 0
                return int(acked)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                if attempt == attempts - 1:
                    raise
                self._backoff(exc)
        return 0

    def lag(self, stream: str) -> dict[str, Any]:
        """``{"lag": entries not yet delivered, "pending": delivered but not acknowledged, "length"}``."""
        return stream_lag(self.client, stream, self.group)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None


def stream_lag(client: redis.Redis, stream: str, group: str) -> dict[str, Any]:
    """Lag, pending and length of ``stream`` for ``group`` (zeros when the stream does not exist)."""
    try:
        groups = client.xinfo_groups(stream)
        length = int(client.xlen(stream))
    except redis.ResponseError:
        return {"lag": 0, "pending": 0, "length": 0}
    for g in groups:
        name = g.get("name")
        if (name.decode() if isinstance(name, bytes) else name) == group:
            lag = g.get("lag")
            return {
                "lag": int(lag) if lag is not None else length,
                "pending": int(g.get("pending", 0)),
                "length": length,
            }
    return {"lag": length, "pending": 0, "length": length}
