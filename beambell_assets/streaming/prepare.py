"""Per chunk of stream messages, the batch path's steps: contract, quarantine, features, LF votes.

Nothing here is re-implemented for the stream: a page goes through the landing contract
(:func:`~beambell_assets.ingest.readers.ingest_records`, the same reasons and limits as a landing
file), :func:`~beambell_assets.ingest.features.build_page_features`, the task's ``prepare`` hook and
the applier core's :class:`~beambell_assets.labeling.applier_core.ChunkLabeler` over the task's LFs
(what :class:`~beambell_assets.labeling.applier.FastLFApplier` runs on each chunk; here a chunk of
the stream is one chunk), so a page gets the identical votes in the stream and in a batch (tested on
the sample and the dev CSV).

Two checks are the stream's own: content already accepted under *another* page id, in the stream or
in a batch, is a ``duplicate`` (a page re-sent under its own url is a re-scrape and is scored
again); and a chunk whose processing raises is retried page by page, so one poison page is
quarantined (``processing_failed``, with the error) and the rest go on.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.ingest.contract import ColumnMapping, Limits, QuarantineReason
from beambell_assets.ingest.features import build_page_features
from beambell_assets.ingest.readers import ingest_records
from beambell_assets.labeling.applier_core import ChunkLabeler, build_plan
from beambell_assets.labeling.task import Task
from beambell_assets.storage.warehouse import utcnow
from beambell_assets.streaming.messages import Undecodable, decode
from beambell_assets.streaming.sink import STREAM_PARTITION
from beambell_assets.streaming.source import StreamMessage

log = logging.getLogger(__name__)
_ROW_REF = re.compile(r"\brow (\d+)\b")  # the contract's "same content as row 54", per message here

#: content hashes -> the page ids already holding each (``sink.content_owners``).
OwnersOf = Callable[[list[str]], dict[str, set[str]]]

#: Quarantine reason of a page whose processing raised (outside the fault-tolerant LF applier).
PROCESSING_FAILED = "processing_failed"


@dataclass
class PreparedPages:
    """A chunk of page messages, ready for the learner."""

    stream: str
    message_ids: list[str] = field(default_factory=list)  # one per accepted page, aligned with features
    features: pd.DataFrame = field(default_factory=pd.DataFrame)
    L_task: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    pages: list[dict[str, Any]] = field(default_factory=list)  # stream_pages rows
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # (message_id, quarantine row)
    quarantined_ids: list[str] = field(default_factory=list)
    already_committed: list[str] = field(default_factory=list)
    lf_faults: dict[str, int] = field(default_factory=dict)

    @property
    def n_messages(self) -> int:
        return len(self.message_ids) + len(self.quarantined_ids) + len(self.already_committed)


def quarantine_row(
    stream: str, message_id: str, reason: str, detail: str, url: Any, raw: str
) -> dict[str, Any]:
    """A quarantine row of the stream partition; one per message (its id is in ``source_file``)."""
    return {
        "partition_key": STREAM_PARTITION,
        "source_file": f"{stream}#{message_id}",
        "source_row": 1,
        "reason": str(reason),
        "detail": (detail or "")[:2000],
        "url": None if url is None or (isinstance(url, float) and np.isnan(url)) else str(url)[:2000],
        "raw": (raw or "")[:2000],
        "quarantined_at": utcnow(),
    }


class PagePreparer:
    """Turns page messages into :class:`PreparedPages` (one per chunk), for one task."""

    def __init__(
        self, task: Task, mapping: ColumnMapping | None = None, limits: Limits | None = None
    ) -> None:
        self.task = task
        self.mapping = mapping or ColumnMapping()
        self.limits = limits or Limits()
        # one token table for the whole stream; a vote for a label the task lacks is a fault
        self.labeler = ChunkLabeler(build_plan(task.lfs, task.cardinality))

    def prepare(
        self,
        stream: str,
        messages: list[StreamMessage],
        committed: set[str] | None = None,
        owners_of: OwnersOf | None = None,
    ) -> PreparedPages:
        """``committed``: ids that already have their rows (skipped); ``owners_of(hashes)``: content
        hash -> page ids already holding it (the cross-page duplicate check; ``None``: no check)."""
        out = PreparedPages(stream=stream)
        committed = committed or set()
        records, ids = [], []
        for msg in messages:
            if msg.id in committed:
                out.already_committed.append(msg.id)
                continue
            value = decode(msg, max_bytes=self._max_message_bytes())
            if isinstance(value, Undecodable):
                self._quarantine(out, msg.id, value.reason, value.detail, value.url, value.raw)
                continue
            records.append(value)
            ids.append(msg.id)
        if records:
            try:
                whole = PreparedPages(stream=stream)
                self._accept(whole, records, ids, owners_of)
                parts = [whole]
            except Exception:  # a poison page: find it by processing the chunk page by page
                log.exception("stream chunk of %d pages failed; retrying page by page", len(records))
                parts = self._one_by_one(out, records, ids, owners_of)
            _merge(out, parts)
        return out

    def _max_message_bytes(self) -> int:
        return self.limits.max_html_bytes + 4 * self.limits.max_text_chars + 64 * 1024

    def _quarantine(self, out: PreparedPages, mid: str, reason: Any, detail: str, url: Any, raw: str) -> None:
        out.quarantine.append(quarantine_row(out.stream, mid, str(reason), detail, url, raw))
        out.quarantined_ids.append(mid)

    def _one_by_one(
        self, out: PreparedPages, records: list[dict[str, Any]], ids: list[str], owners_of: OwnersOf | None
    ) -> list[PreparedPages]:
        parts: list[PreparedPages] = []
        for rec, mid in zip(records, ids, strict=True):
            part = PreparedPages(stream=out.stream)
            try:
                self._accept(part, [rec], [mid], owners_of)
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}"
                raw = json.dumps(rec, default=str)[:2000]
                self._quarantine(out, mid, PROCESSING_FAILED, detail, rec.get("url"), raw)
                continue
            parts.append(part)
        return parts

    def _accept(
        self, out: PreparedPages, records: list[dict[str, Any]], ids: list[str], owners_of: OwnersOf | None
    ) -> None:
        rows = list(range(1, len(records) + 1))
        result = ingest_records(
            records,
            rows,
            source_file=out.stream,
            partition_key=STREAM_PARTITION,
            mapping=self.mapping,
            limits=self.limits,
        )
        for q in result.quarantined.to_dict("records"):
            mid = ids[int(q["source_row"]) - 1]
            detail = _ROW_REF.sub(lambda m: f"message {ids[int(m.group(1)) - 1]}", str(q["detail"] or ""))
            self._quarantine(out, mid, q["reason"], detail, q["url"], q["raw"])
        accepted = result.accepted.reset_index(drop=True)
        if len(accepted) and owners_of is not None:
            owners = owners_of(accepted["content_hash"].tolist())
            dup = [
                bool(owners.get(h, set()) - {pid})
                for h, pid in zip(accepted["content_hash"], accepted["page_id"], strict=True)
            ]
            for i in np.flatnonzero(dup):
                row = accepted.iloc[i]
                others = sorted(owners[row["content_hash"]] - {row["page_id"]})
                self._quarantine(
                    out,
                    ids[int(row["source_row"]) - 1],
                    QuarantineReason.DUPLICATE,
                    f"content already accepted as page {others[0]}",
                    row["url"],
                    str(row["text"])[:2000],
                )
            accepted = accepted[~np.asarray(dup, dtype=bool)].reset_index(drop=True)
        if not len(accepted):
            return
        features = build_page_features(accepted)
        features = self.task.prepared(features)
        votes = self.labeler.label(features)
        msg_ids = [ids[int(r) - 1] for r in accepted["source_row"]]
        out.message_ids.extend(msg_ids)
        out.features = features.reset_index(drop=True)
        out.L_task = np.asarray(votes.L, dtype=np.int64)
        for k, v in votes.faults.items():
            out.lf_faults[k] = out.lf_faults.get(k, 0) + v
        cols = ["page_id", "url", "title", "text", "html", "scraped_at", "content_hash", "label", "extra"]
        for rec, mid in zip(
            accepted[cols].astype(object).where(accepted[cols].notna(), None).to_dict("records"),
            msg_ids,
            strict=True,
        ):
            out.pages.append({**rec, "stream": out.stream, "message_id": mid, "rollup_key": None})


def _merge(out: PreparedPages, parts: list[PreparedPages]) -> None:
    """Append the parts' results to ``out`` (accepted pages in the parts' order)."""
    for part in parts:
        out.quarantine.extend(part.quarantine)
        out.quarantined_ids.extend(part.quarantined_ids)
        out.pages.extend(part.pages)
        out.message_ids.extend(part.message_ids)
        for k, v in part.lf_faults.items():
            out.lf_faults[k] = out.lf_faults.get(k, 0) + v
    frames = [p for p in parts if len(p.features)]
    if frames:
        out.features = pd.concat([p.features for p in frames], ignore_index=True)
        out.L_task = np.vstack([p.L_task for p in frames])
