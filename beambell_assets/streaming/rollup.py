"""Roll the stream's pages into ordinary batch partitions, so drift, retrains and backfills see them.

The stream keeps every page it accepted in ``stream_pages``. A roll-up takes the pages not yet
rolled (``rollup_key IS NULL``), assigns them to one new landing file name in one transaction, and
then writes that file into the landing folder (a hidden temporary file, renamed when complete). The
landing sensor picks it up like any scraper's batch: contract, GX checks, features, LF votes,
predictions, drift, training windows, backfills. A page is assigned once, so no page is counted
twice; a page the stream receives again (a re-scrape) is rolled again with its new content.

Crash-safe in both orders: a key assigned whose file was never written (killed between the two
steps) is written by the next roll-up; a file is never rewritten once it exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from beambell_assets.storage.warehouse import Warehouse, retry_transient

FILE_PREFIX = "stream-"
_FIELDS = ("url", "title", "text", "html", "scraped_at", "label")


@dataclass(frozen=True)
class RollupResult:
    written: list[Path]
    pages: int
    pending_before: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [p.name for p in self.written],
            "pages": self.pages,
            "pending_before": self.pending_before,
        }


def rollup_key(task: str, now: datetime) -> str:
    return f"{FILE_PREFIX}{task}-{now:%Y-%m-%dT%H-%M-%S-%f}.jsonl"


def pending_pages(wh: Warehouse, stream: str) -> int:
    return int(
        wh.scalar("SELECT COUNT(*) FROM stream_pages WHERE stream = :s AND rollup_key IS NULL", {"s": stream})
        or 0
    )


def roll_up(
    wh: Warehouse,
    landing_dir: Path,
    stream: str,
    task: str,
    *,
    max_pages: int = 50_000,
    now: datetime | None = None,
) -> RollupResult:
    """Assign the stream's unrolled pages to a new landing file and write every missing file."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    before = pending_pages(wh, stream)
    if before:
        key = rollup_key(task, now or datetime.now(UTC))
        t = wh.table("stream_pages")

        def _assign() -> None:
            with wh.engine.begin() as conn:
                ids = [
                    r[0]
                    for r in conn.execute(
                        sa.select(t.c.page_id)
                        .where((t.c.stream == stream) & t.c.rollup_key.is_(None))
                        .order_by(t.c.received_at, t.c.page_id)
                        .limit(max_pages)
                    )
                ]
                for s in range(0, len(ids), 500):
                    conn.execute(t.update().where(t.c.page_id.in_(ids[s : s + 500])).values(rollup_key=key))

        retry_transient(_assign)
    written, pages = [], 0
    keys = wh.read(
        "SELECT DISTINCT rollup_key FROM stream_pages WHERE stream = :s AND rollup_key IS NOT NULL",
        {"s": stream},
    )["rollup_key"].tolist()
    for key in sorted(keys):
        target = landing_dir / key
        if target.exists():
            continue
        n = _write_file(wh, target, key)
        written.append(target)
        pages += n
    return RollupResult(written, pages, before)


def _write_file(wh: Warehouse, target: Path, key: str) -> int:
    rows = wh.read(
        "SELECT page_id, url, title, text, html, scraped_at, label, extra FROM stream_pages "
        "WHERE rollup_key = :k ORDER BY received_at, page_id",
        {"k": key},
    )
    tmp = target.with_name(f".{target.name}.part")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in rows.astype(object).where(rows.notna(), None).to_dict("records"):
            extra = json.loads(rec.pop("extra") or "{}")
            out = {k: v for k, v in extra.items() if k not in _FIELDS}
            out.update({k: rec[k] for k in _FIELDS if rec.get(k) is not None})
            out["stream_page_id"] = rec["page_id"]
            fh.write(json.dumps(out, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)  # atomic: the landing sensor never sees half a file
    return len(rows)
