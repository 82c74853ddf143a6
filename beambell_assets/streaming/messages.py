"""What travels on the streams, and how a producer sends it.

A page message has one field, ``json``: the page as a JSON object with the landing contract's columns
(``url``, ``text`` and/or ``html``, optional ``title``, ``scraped_at``, ``id``; other names are mapped
with the same ``--map`` / ``BEAMBELL_COLUMN_MAPPING`` as landing files). Any producer that can
``XADD <prefix>:<task>:pages * json '{...}'`` feeds the stream. A feedback message is a gold label:
``{"page_id" or "url", "label", "labeler"?, "source"?}``.

Decoding never raises: a message without the field, with bytes that are not UTF-8, with text that
is not JSON (or nests too deep to parse), with a JSON value that is not an object, or larger than
``max_message_bytes`` becomes a quarantine record with the batch path's reasons.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import redis

from beambell_assets.ingest.contract import QuarantineReason, detect_format
from beambell_assets.ingest.readers import open_csv_text
from beambell_assets.streaming.source import PAYLOAD_FIELD, StreamMessage

#: A message larger than this is quarantined unread (``text_too_large``): the batch path's largest
#: page is 5 MiB of HTML plus 2,000,000 characters of text.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class StreamNames:
    """The Redis keys of one task's stream (``<prefix>:<task>:…``)."""

    prefix: str
    task: str

    @property
    def pages(self) -> str:
        return f"{self.prefix}:{self.task}:pages"

    @property
    def feedback(self) -> str:
        return f"{self.prefix}:{self.task}:feedback"

    @property
    def predictions(self) -> str:
        return f"{self.prefix}:{self.task}:predictions"

    @property
    def status(self) -> str:
        return f"{self.prefix}:{self.task}:status"


@dataclass(frozen=True)
class Undecodable:
    """A message that is not a JSON object: quarantined with ``reason``."""

    reason: QuarantineReason
    detail: str
    raw: str

    @property
    def url(self) -> str | None:
        """The first http(s) url in the raw text, to help find the page it was meant to be."""
        match = _URL_RE.search(self.raw[:10_000])
        return match.group(0) if match else None


_URL_RE = re.compile(r"https?://[^\s\"',<>\\]+")


def decode(message: StreamMessage, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any] | Undecodable:
    """The message's JSON object, or why it is not one."""
    data = message.payload
    if data is None:
        names = ", ".join(sorted(message.fields)) or "none"
        return Undecodable(
            QuarantineReason.MALFORMED_LINE, f"no {PAYLOAD_FIELD!r} field (fields: {names})", ""
        )
    if len(data) > max_bytes:
        return Undecodable(
            QuarantineReason.TEXT_TOO_LARGE, f"message of {len(data):,} bytes > {max_bytes:,}", _preview(data)
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        detail = f"invalid UTF-8 byte {data[exc.start : exc.start + 1]!r} at offset {exc.start}"
        return Undecodable(QuarantineReason.BAD_ENCODING, detail, _preview(data))
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Undecodable(
            QuarantineReason.MALFORMED_LINE, f"invalid JSON: {type(exc).__name__}: {exc}"[:500], text[:2000]
        )
    if not isinstance(value, dict):
        return Undecodable(
            QuarantineReason.MALFORMED_LINE,
            f"expected a JSON object, got {type(value).__name__}",
            text[:2000],
        )
    return value


def _preview(data: bytes) -> str:
    return data[:2000].decode("utf-8", "backslashreplace")


# --------------------------------------------------------------------------- producing


def encode(record: Mapping[str, Any]) -> dict[str, bytes]:
    return {
        PAYLOAD_FIELD: json.dumps(record, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
    }


def send(
    client: redis.Redis, stream: str, payloads: Iterable[bytes | Mapping[str, Any]], batch: int = 500
) -> list[str]:
    """XADD every payload (a record, or raw bytes sent as they are); returns the message ids."""
    ids: list[str] = []
    pipe = client.pipeline(transaction=False)
    pending = 0
    for item in payloads:
        fields = {PAYLOAD_FIELD: item} if isinstance(item, bytes) else encode(item)
        pipe.xadd(stream, fields)  # type: ignore[arg-type]
        pending += 1
        if pending >= batch:
            ids.extend(x.decode() if isinstance(x, bytes) else str(x) for x in pipe.execute())
            pending = 0
    if pending:
        ids.extend(x.decode() if isinstance(x, bytes) else str(x) for x in pipe.execute())
    return ids


def file_payloads(path: str | Path) -> Iterator[bytes | dict[str, Any]]:
    """A landing-format file's records as stream payloads, unvalidated (the stream validates).

    JSON lines are sent line by line as raw bytes (a broken line reaches the stream's quarantine as
    it is); CSV rows and Parquet rows as objects.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "jsonl":
        import gzip

        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(1)
            fh.seek(0)
            if head == b"[":
                for value in json.load(fh):
                    yield value if isinstance(value, dict) else json.dumps(value).encode()
                return
            for line in fh:
                line = line.rstrip(b"\r\n")
                if line.strip():
                    yield line
    elif fmt == "csv":
        with open_csv_text(path) as fh:
            yield from csv.DictReader(fh)
    else:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=5000):
            yield from batch.to_pylist()


def sample_payloads(pages: int = 150, seed: int = 0) -> list[bytes | dict[str, Any]]:
    """The project's own sample scrape (one batch: good pages and deliberately bad ones)."""
    from beambell_assets.demo.sample import generate_sample

    out: list[bytes | dict[str, Any]] = []
    for batch in generate_sample(n_batches=1, pages_per_batch=pages, seed=seed):
        for rec in batch.records:
            out.append(rec.raw_line if rec.raw_line is not None else _jsonable(rec.fields))
    return out


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(fields, default=str, ensure_ascii=False))


def feedback_payload(
    label: str,
    *,
    page_id: str | None = None,
    url: str | None = None,
    labeler: str | None = None,
    source: str = "service",
) -> dict[str, Any]:
    if not page_id and not url:
        raise ValueError("a gold label needs a page_id or a url")
    return {"page_id": page_id, "url": url, "label": label, "labeler": labeler, "source": source}
