"""beambell's own synthetic scrape: noisy pages of 16 content categories, with known truth.

Everything here is generated from vocabulary written for this package (no external dataset), so
demos and tests run anywhere. A batch looks like what a real scraper lands: mostly HTML pages
with navigation, cookie banners, footers and JSON-LD; some text-only rows; some short or
ambiguous pages; some mixing two categories or partly in German, French or Spanish; and a few
percent of deliberately bad rows (empty text, bad or missing urls, duplicates, invalid bytes or
mojibake, a page too large to keep, a too-short page, a broken JSON line in the first JSON-lines
file, and from the second batch on an unchanged re-scrape of a page landed before).

``sample_truth`` gives each record's label and the quarantine reason it should get when the
batches are read in order, carrying accepted content hashes forward; ``write_sample_gold``
writes hand labels for a random ~10 % of the good pages. Same seed, same bytes.

The words live in :mod:`.vocabulary`, the pages are built in :mod:`.pages`; this module makes
the records and batches (good and deliberately bad) and writes them.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from beambell_assets.demo.pages import Page, Writer, make_page, page_html, page_text, slugify
from beambell_assets.demo.vocabulary import BY_NAME, CATEGORIES, PLACES, Category

__all__ = [
    "CATEGORIES",
    "DEFAULT_START",
    "FORMATS",
    "HUGE_TEXT_CHARS",
    "SampleBatch",
    "SampleRecord",
    "generate_sample",
    "sample_truth",
    "write_sample_batch",
    "write_sample_gold",
    "write_sample_scrape",
]

FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet")
DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)
HUGE_TEXT_CHARS = 2_100_000


@dataclass
class SampleRecord:
    """One landed record and what should become of it."""

    fields: dict[str, Any]
    label: str
    expected_reason: str | None = None
    #: For a deliberately broken JSON line: the bytes written instead of the record.
    raw_line: bytes | None = None


@dataclass
class SampleBatch:
    file_name: str
    fmt: str
    landed_at: datetime
    records: list[SampleRecord]


# ------------------------------------------------------------------------------ records


def _good_record(w: Writer, page: Page, cat: Category, landed_at: datetime) -> SampleRecord:
    rnd = w.rnd
    fields: dict[str, Any] = {
        "id": w.next_id(),
        "url": page.url,
        "scraped_at": landed_at - timedelta(minutes=rnd.randint(1, 600)),
        "http_status": 200,
        "lang": page.lang,
    }
    shape = rnd.random()
    if shape < 0.55:
        fields["html"] = page_html(w, page, cat, landed_at.year)
    elif shape < 0.8:
        fields["text"], fields["title"] = page_text(w, page, cat), page.title
    else:
        fields["html"] = page_html(w, page, cat, landed_at.year)
        fields["text"] = page_text(w, page, cat)
    return SampleRecord(fields=fields, label=page.label)


def _bad_records(
    w: Writer,
    good: list[SampleRecord],
    fmt: str,
    landed_at: datetime,
    previous: list[SampleRecord],
    broken: bool,
) -> list[SampleRecord]:
    """The deliberately bad rows of one batch, each tagged with the reason it must get."""
    rnd = w.rnd
    donor = rnd.choice(good)
    when = landed_at - timedelta(minutes=5)

    def row(url: str | None, text: str, reason: str) -> SampleRecord:
        fields = {"id": w.next_id(), "url": url, "text": text, "scraped_at": when}
        return SampleRecord(fields, donor.label, reason)

    bad = [
        row(_fresh_url(w, "/empty"), "", "missing_text"),
        row("htp:/broken-link", _filler(w, donor), "bad_url"),
        row(None, _filler(w, donor), "missing_url"),
        SampleRecord(dict(donor.fields), donor.label, "duplicate"),
        SampleRecord({**donor.fields, "url": donor.fields["url"] + "-mirror"}, donor.label, "duplicate"),
        row(_fresh_url(w), _garbled_text(w, donor, fmt), "bad_encoding"),
        row(_fresh_url(w), "Loading...", "text_too_short"),
        row(_fresh_url(w), _huge_text(), "text_too_large"),
    ]
    if broken and fmt == "jsonl":
        bad.append(_broken_json_record(donor))
    if previous:
        again = rnd.choice([r for r in previous if r.expected_reason is None])
        bad.append(SampleRecord(dict(again.fields), again.label, "duplicate"))
    return bad


def _fresh_url(w: Writer, path: str = "/item") -> str:
    w.serial += 1
    return f"https://www.{slugify(w.rnd.choice(PLACES))}-pages.com{path}/{w.serial}"


def _filler(w: Writer, donor: SampleRecord) -> str:
    cat = BY_NAME[donor.label]
    site = w.rnd.choice(w.sites[cat.name])
    return " ".join(w.sentence(cat, site) for _ in range(4))


def _garbled_text(w: Writer, donor: SampleRecord, fmt: str) -> str:
    """Invalid bytes (kept as surrogate escapes until written) or, for Parquet, mojibake."""
    text = _filler(w, donor) + " Café, crème brûlée – “quoted” and naïve façade, déjà vu."
    if fmt == "parquet":
        return text.encode("utf-8").decode("cp1252", "replace")
    return text.encode("cp1252").decode("utf-8", "surrogateescape")


def _huge_text() -> str:
    block = "Lorem ipsum dolor sit amet, scraped infinite scroll page. " * 50
    return (block * (HUGE_TEXT_CHARS // len(block) + 1))[:HUGE_TEXT_CHARS]


def _broken_json_record(donor: SampleRecord) -> SampleRecord:
    line = json.dumps({"url": donor.fields["url"] + "-cut", "text": "A record the scraper cut off mid"})
    return SampleRecord({}, donor.label, "malformed_line", raw_line=line[: len(line) - 8].encode())


def generate_sample(
    n_batches: int = 4, pages_per_batch: int = 150, seed: int = 0, start: datetime = DEFAULT_START
) -> list[SampleBatch]:
    """Every batch's records, in memory (``pages_per_batch`` records per batch, bad ones included)."""
    w = Writer(random.Random(seed))
    batches: list[SampleBatch] = []
    previous: list[SampleRecord] = []
    for b in range(n_batches):
        fmt = FORMATS[b % len(FORMATS)]
        landed_at = start + timedelta(days=b)
        records = _batch_records(w, pages_per_batch, fmt, landed_at, previous, broken=b == 0)
        name = f"batch-{landed_at:%Y-%m-%dT%H-%M-%S}.{fmt}"
        batches.append(SampleBatch(name, fmt, landed_at, records))
        previous = previous + records
    return batches


def _batch_records(
    w: Writer,
    size: int,
    fmt: str,
    landed_at: datetime,
    previous: list[SampleRecord],
    broken: bool,
) -> list[SampleRecord]:
    """``size`` records: good pages of every category in turn, then up to ``size // 15`` bad rows."""
    n_bad = min(size // 15, 8 + int(broken and fmt == "jsonl") + int(bool(previous)))
    cats = [CATEGORIES[i % len(CATEGORIES)] for i in range(size - n_bad)]
    w.rnd.shuffle(cats)
    good = [_good_record(w, make_page(w, BY_NAME[c]), BY_NAME[c], landed_at) for c in cats]
    if not n_bad:
        return good
    bad = _bad_records(w, good, fmt, landed_at, previous, broken)
    w.rnd.shuffle(bad)
    records = good + bad[:n_bad]
    w.rnd.shuffle(records)
    return _duplicates_after_originals(records)


def _duplicates_after_originals(records: list[SampleRecord]) -> list[SampleRecord]:
    """An in-batch duplicate must come after the row it copies, or the original is the 'duplicate'."""
    dupes = [r for r in records if r.expected_reason == "duplicate"]
    others = [r for r in records if r.expected_reason != "duplicate"]
    return others + dupes


# ------------------------------------------------------------------------------ writing


def write_sample_scrape(
    landing_dir: str | Path, n_batches: int = 4, pages_per_batch: int = 150, seed: int = 0
) -> list[Path]:
    """Write the sample batches (JSON lines, CSV, Parquet in turn); returns their paths in time order."""
    folder = Path(landing_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for batch in generate_sample(n_batches, pages_per_batch, seed):
        path = folder / batch.file_name
        tmp = path.with_name(f".{path.name}.tmp")
        _WRITERS[batch.fmt](tmp, batch.records)
        tmp.replace(path)
        paths.append(path)
    return paths


def write_sample_batch(
    landing_dir: str | Path, pages: int, seed: int, start: datetime, fmt: str | None = None
) -> Path:
    """One more batch landed at ``start`` (its file name carries that time), written then renamed.

    What a scraper does continuously; used by the freshness benchmark and the daemon test.
    """
    batch = generate_sample(1, pages, seed, start=start)[0]
    fmt = fmt or batch.fmt
    folder = Path(landing_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(batch.file_name).stem}.{fmt}"
    tmp = path.with_name(f".{path.name}.tmp")
    _WRITERS[fmt](tmp, batch.records)
    tmp.replace(path)
    return path


def sample_truth(n_batches: int = 4, pages_per_batch: int = 150, seed: int = 0) -> pd.DataFrame:
    """One row per written record: ``file, url, label, expected_reason`` (None for good pages)."""
    rows = [
        {
            "file": batch.file_name,
            "url": r.fields.get("url"),
            "label": r.label,
            "expected_reason": r.expected_reason,
        }
        for batch in generate_sample(n_batches, pages_per_batch, seed)
        for r in batch.records
    ]
    return pd.DataFrame(rows, columns=["file", "url", "label", "expected_reason"])


def write_sample_gold(
    gold_dir: str | Path,
    n_batches: int = 4,
    pages_per_batch: int = 150,
    seed: int = 0,
    fraction: float = 0.1,
) -> Path:
    """Simulated hand labels (``url,label,labeler,labeled_at``) for a random share of good pages."""
    truth = sample_truth(n_batches, pages_per_batch, seed)
    good = truth[truth["expected_reason"].isna()].drop_duplicates("url")
    rnd = random.Random(seed + 1)
    chosen = sorted(rnd.sample(range(len(good)), k=max(1, round(len(good) * fraction))))
    picked = good.iloc[chosen]
    labelers = ("alice", "bo", "chidi", "dana")
    gold = pd.DataFrame(
        {
            "url": picked["url"].to_numpy(),
            "label": picked["label"].to_numpy(),
            "labeler": [rnd.choice(labelers) for _ in chosen],
            "labeled_at": [
                (DEFAULT_START + timedelta(days=n_batches, minutes=rnd.randint(0, 2000))).isoformat()
                for _ in chosen
            ],
        }
    )
    folder = Path(gold_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sample-gold-seed{seed}.csv"
    gold.to_csv(path, index=False)
    return path


def _iso(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value


def _write_jsonl(path: Path, records: list[SampleRecord]) -> None:
    with open(path, "wb") as fh:
        for r in records:
            if r.raw_line is not None:
                fh.write(r.raw_line + b"\n")
                continue
            data = {k: _iso(v) for k, v in r.fields.items()}
            fh.write(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n")


_CSV_COLUMNS = ("id", "url", "title", "text", "html", "scraped_at", "http_status", "lang")


def _write_csv(path: Path, records: list[SampleRecord]) -> None:
    with open(path, "wb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        out = csv.writer(text)
        out.writerow(_CSV_COLUMNS)
        for r in records:
            out.writerow(["" if r.fields.get(c) is None else _csv_value(r.fields[c]) for c in _CSV_COLUMNS])
        text.flush()
        text.detach()


def _csv_value(value: Any) -> Any:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


def _write_parquet(path: Path, records: list[SampleRecord]) -> None:
    columns = {c: [r.fields.get(c) for r in records] for c in _CSV_COLUMNS}
    schema = pa.schema(
        [
            (
                c,
                pa.timestamp("s", tz="UTC")
                if c == "scraped_at"
                else pa.int64()
                if c == "http_status"
                else pa.string(),
            )
            for c in _CSV_COLUMNS
        ]
    )
    pq.write_table(pa.table(columns, schema=schema), path)


_WRITERS: dict[str, Callable[[Path, list[SampleRecord]], None]] = {
    "jsonl": _write_jsonl,
    "csv": _write_csv,
    "parquet": _write_parquet,
}
