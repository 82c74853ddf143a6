"""Read one landing file into accepted pages and quarantined rows, whatever the file holds.

The contract is in :mod:`beambell_assets.ingest.contract`. This module never raises on bad rows:
it raises only when the path does not exist, is a directory, or has an unknown extension, and
:class:`~beambell_assets.ingest.contract.LandingSchemaError` when the file's records lack a column
every row needs (the url, one of text/html, a column the mapping names): a batch-level error
that must fail the run, not pass as a batch of quarantined rows.

Accounting
    ``rows_read`` counts the records found in the file plus one pseudo-row per file-level
    problem, and ``len(accepted) + len(quarantined) == rows_read`` always holds:

    - an empty file (no records: zero bytes, blank lines only, a CSV header alone, a Parquet file
      with no rows) gives ``rows_read == 1`` and one ``empty_file`` row with ``source_row == 0``;
    - a file that cannot be opened or decoded gives one ``unreadable_file`` row with
      ``source_row == 0``; when reading fails part-way (truncated gzip, a corrupt Parquet row
      group), the records read so far are kept and one ``unreadable_file`` row marks where
      reading stopped.

``source_row`` is the 1-based line on which a record starts for JSON lines and CSV (the CSV
header is line 1), the 1-based element of a JSON array, and the 1-based row of a Parquet file.

Encoding
    Text is decoded as UTF-8 with ``surrogateescape``, so invalid bytes stay visible and mark
    only the rows that hold them (``bad_encoding``), as do lone surrogates from JSON ``\\ud800``
    escapes, text with more than ``Limits.max_replacement_ratio`` U+FFFD characters, and text
    with classic mojibake (UTF-8 read as Latin-1: ``Ã©``, ``â€™``). NUL characters are dropped.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from beambell_assets.ingest.contract import (
    ColumnMapping,
    LandingSchemaError,
    Limits,
    QuarantineReason,
    content_hash_for,
    detect_format,
    normalize_url,
    page_id_for,
)
from beambell_assets.ingest.html_text import HtmlMeta, extract_document

#: Column -> dtype of the accepted pages. Strings use pandas' ``str`` dtype (missing = NaN), the
#: same dtype a Parquet round trip gives back, so the schema never drifts between runs.
ACCEPTED_SCHEMA: dict[str, str] = {
    "page_id": "str",
    "url": "str",
    "title": "str",
    "text": "str",
    "html": "str",
    "scraped_at": "str",
    "source_file": "str",
    "source_row": "int64",
    "partition_key": "str",
    "content_hash": "str",
    "label": "str",
    "description": "str",
    "og_site_name": "str",
    "n_links": "float64",
    "n_images": "float64",
    "n_forms": "float64",
    "extra": "str",
}
QUARANTINE_SCHEMA: dict[str, str] = {
    "partition_key": "str",
    "source_file": "str",
    "source_row": "int64",
    "reason": "str",
    "detail": "str",
    "url": "str",
    "raw": "str",
}
ACCEPTED_COLUMNS: tuple[str, ...] = tuple(ACCEPTED_SCHEMA)
QUARANTINE_COLUMNS: tuple[str, ...] = tuple(QUARANTINE_SCHEMA)
_STRING_FIELDS = ("url", "text", "html", "title", "label", "source_id")
_COUNT_COLUMNS = ("n_links", "n_images", "n_forms")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_MOJIBAKE_RE = re.compile("[ÃÂ][\u0080-\u00bf]|â€[\u0080-\u00bf\u2018-\u201e\u2020-\u2122\u0152\u0153\u0161]")
_URL_IN_RAW_RE = re.compile(r"https?://[^\s\"',<>\\]+")
_BOMS_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_PARQUET_BATCH_ROWS = 20_000


@dataclass
class IngestResult:
    """What became of every row of one landing file."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    rows_read: int

    def reason_counts(self) -> dict[str, int]:
        """Quarantined rows per reason (for run metadata)."""
        return {str(k): int(v) for k, v in self.quarantined["reason"].value_counts().items()}


@dataclass
class _Problem:
    """A record rejected while parsing, before it has fields."""

    row: int
    reason: QuarantineReason
    detail: str
    raw: str = ""
    url: str | None = None


@dataclass
class _Batch:
    """A file's records, column-oriented, plus the rows that failed to parse."""

    rows: list[int] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    #: Per record: may hold undecodable bytes or lone surrogates (checked field by field).
    suspect: list[bool] = field(default_factory=list)
    problems: list[_Problem] = field(default_factory=list)

    def add_records(self, records: list[dict[str, Any]], rows: list[int], suspect: list[bool]) -> None:
        keys = dict.fromkeys(k for rec in records for k in rec)
        self.add_columns({k: [rec.get(k) for rec in records] for k in keys}, rows, suspect)

    def add_columns(self, columns: dict[str, list[Any]], rows: list[int], suspect: list[bool]) -> None:
        """Append records given column-wise; columns new to the file are back-filled with None."""
        before, added = len(self.rows), len(rows)
        for key, col in self.columns.items():
            col.extend(columns.get(key, [None] * added))
        for key, values in columns.items():
            if key not in self.columns:
                self.columns[key] = [None] * before + values
        self.rows.extend(rows)
        self.suspect.extend(suspect)

    def record(self, i: int) -> dict[str, Any]:
        return {k: col[i] for k, col in self.columns.items() if col[i] is not None}


def read_landing_file(
    path: str | Path,
    partition_key: str,
    mapping: ColumnMapping | None = None,
    limits: Limits | None = None,
    known_content_hashes: frozenset[str] = frozenset(),
    root: str | Path | None = None,
) -> IngestResult:
    """Accept or quarantine every record of one landing file (see the module docstring).

    ``root`` is the landing folder (default: the file's own folder): a path that leads out of it
    (a symbolic link to a file elsewhere) is never opened; it is one ``unsafe_path`` row.
    """
    path = Path(path)
    limits = limits or Limits()
    if unsafe := unsafe_path_reason(path, Path(root) if root is not None else path.parent):
        problem = _Problem(0, QuarantineReason.UNSAFE_PATH, unsafe)
        source = _Source(path.name, partition_key, limits)
        empty = _Pages.from_batch(_Batch(), mapping or ColumnMapping(), limits).accepted_frame(source)
        return IngestResult(empty, _quarantine_frame(source, [problem]), rows_read=1)
    if not path.exists():
        raise FileNotFoundError(f"landing file not found: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"landing path is a directory, not a batch file: {path}")
    reader = _READERS[detect_format(path)]
    batch = reader(path, limits)
    mapping = mapping or ColumnMapping()
    if not batch.rows and not batch.problems:
        batch.problems.append(_Problem(0, QuarantineReason.EMPTY_FILE, "the file holds no records"))
    elif batch.rows and (missing := mapping.missing_columns(list(batch.columns))):
        raise LandingSchemaError(path.name, missing, list(batch.columns))
    source = _Source(path.name, partition_key, limits)
    pages = _Pages.from_batch(batch, mapping, limits)
    pages.validate(known_content_hashes)
    accepted = pages.accepted_frame(source)
    quarantined = _quarantine_frame(source, pages.quarantined_records(source) + batch.problems)
    return IngestResult(accepted, quarantined, rows_read=len(batch.rows) + len(batch.problems))


def ingest_records(
    records: list[dict[str, Any]],
    rows: list[int],
    *,
    source_file: str,
    partition_key: str,
    mapping: ColumnMapping | None = None,
    limits: Limits | None = None,
    known_content_hashes: frozenset[str] = frozenset(),
    suspect: list[bool] | None = None,
) -> IngestResult:
    """Accept or quarantine records that did not come from a file (a stream, an API).

    The same contract and quarantine reasons as :func:`read_landing_file`: ``rows`` numbers the
    records (e.g. their position in the stream) and ``source_file`` names where they came from.
    ``suspect`` marks records that may hold undecodable bytes (default: any record with a lone
    surrogate is found by the field scan anyway, so all are scanned).
    """
    if len(rows) != len(records):
        raise ValueError(f"{len(records)} records but {len(rows)} row numbers")
    limits = limits or Limits()
    batch = _Batch()
    flags = suspect if suspect is not None else [True] * len(records)
    keep = [i for i, rec in enumerate(records) if not _too_deep(rec, limits.max_nesting)]
    for i in sorted(set(range(len(records))) - set(keep)):
        batch.problems.append(_nesting_problem(rows[i], limits))
    batch.add_records([records[i] for i in keep], [rows[i] for i in keep], [flags[i] for i in keep])
    source = _Source(source_file, partition_key, limits)
    pages = _Pages.from_batch(batch, mapping or ColumnMapping(), limits)
    pages.validate(known_content_hashes)
    accepted = pages.accepted_frame(source)
    quarantined = _quarantine_frame(source, pages.quarantined_records(source) + batch.problems)
    return IngestResult(accepted, quarantined, rows_read=len(batch.rows) + len(batch.problems))


def unsafe_path_reason(path: Path, root: Path) -> str:
    """Why ``path`` must not be read as a file of ``root`` (it resolves outside it), or ``""``."""
    try:
        real, base = path.resolve(), root.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"the path cannot be resolved: {type(exc).__name__}"
    if real == base or not real.is_relative_to(base):
        kind = "a symbolic link" if path.is_symlink() else "a path"
        return f"{kind} leading out of the landing folder: not read"
    return ""


def peek_columns(path: str | Path, max_records: int = 1_000) -> list[str]:
    """The columns of a landing file (a CSV header, a Parquet schema, the keys of the first JSON
    records), read cheaply so a column mapping can be checked before anything is ingested."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "parquet":
        return [n for n in pq.read_schema(path).names if not n.startswith("__index_level_")]
    if fmt == "csv":
        _raise_csv_field_limit()
        with _open_text(path) as fh:
            for fields in csv.reader(fh):
                if fields and any(f.strip() for f in fields):
                    return _unique_header(fields)
        return []
    keys: dict[str, None] = {}
    seen = 0
    for lineno, line in _numbered_lines(path):
        parsed = _parse_json_line(line, lineno, Limits())
        if isinstance(parsed, tuple):
            keys.update(dict.fromkeys(parsed[0]))
            seen += 1
            if seen >= max_records:
                break
    return list(keys)


@dataclass(frozen=True)
class _Source:
    file: str
    partition_key: str
    limits: Limits

    def preview(self, value: str | None) -> str | None:
        """Truncated and made storable: undecodable bytes become visible ``\\udcxx`` escapes."""
        if value is None:
            return None
        cut = value[: self.limits.raw_preview_chars]
        return cut.encode("utf-8", "backslashreplace").decode("utf-8")


# --------------------------------------------------------------------------------------- readers


def _read_jsonl(path: Path, limits: Limits) -> _Batch:
    batch = _Batch()
    try:
        head = _to_utf8(_head_bytes(path))
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[") and _read_json_array(path, batch, limits):
            return batch
        _read_json_lines(path, batch, limits)
    except Exception as exc:  # I/O, gzip or decoding failure: keep what was read, mark the rest
        batch.problems.append(_unreadable(batch, exc))
    return batch


def _read_json_lines(path: Path, batch: _Batch, limits: Limits) -> None:
    records: list[dict[str, Any]] = []
    rows: list[int] = []
    suspect: list[bool] = []
    try:
        for lineno, line in _numbered_lines(path):
            parsed = _parse_json_line(line, lineno, limits)
            if isinstance(parsed, _Problem):
                batch.problems.append(parsed)
            elif parsed is not None:
                records.append(parsed[0])
                suspect.append(parsed[1])
                rows.append(lineno)
    finally:
        batch.add_records(records, rows, suspect)


def _parse_json_line(
    line: bytes, lineno: int, limits: Limits
) -> tuple[dict[str, Any], bool] | _Problem | None:
    """``(record, suspect)``, a problem, or ``None`` for a blank line.

    Any error parsing one line (``RecursionError`` from deep nesting included) rejects that line
    only: the reader goes on with the next.
    """
    text, bad_bytes = _decode_line(line)
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except Exception as exc:
        reason = QuarantineReason.BAD_ENCODING if bad_bytes else QuarantineReason.MALFORMED_LINE
        detail = bad_bytes or f"invalid JSON: {type(exc).__name__}: {str(exc)[:200]}"
        return _Problem(lineno, reason, detail, text, _guess_url(text))
    if not isinstance(value, dict):
        detail = f"expected a JSON object, got {type(value).__name__}"
        return _Problem(lineno, QuarantineReason.MALFORMED_LINE, detail, text, _guess_url(text))
    if _too_deep(value, limits.max_nesting):
        problem = _nesting_problem(lineno, limits)
        problem.raw, problem.url = text, _guess_url(text)
        return problem
    return value, bool(bad_bytes) or "\\ud" in text or "\\uD" in text


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests dicts/lists more than ``limit`` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _nesting_problem(row: int, limits: Limits) -> _Problem:
    detail = f"record nested more than {limits.max_nesting} levels deep"
    return _Problem(row, QuarantineReason.MALFORMED_LINE, detail)


def _guess_url(raw: str) -> str | None:
    """The first http(s) url in a record that could not be parsed, to help find its page."""
    match = _URL_IN_RAW_RE.search(raw[:10_000])
    return match.group(0) if match else None


def _decode_line(line: bytes) -> tuple[str, str]:
    """The decoded line and, when it held invalid UTF-8, a description of where."""
    try:
        return line.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        detail = f"invalid UTF-8 byte {line[exc.start : exc.start + 1]!r} at offset {exc.start}"
        return line.decode("utf-8", "surrogateescape"), detail


def _read_json_array(path: Path, batch: _Batch, limits: Limits) -> bool:
    """Read a ``.json`` file holding one array of objects; ``False`` if it is not one."""
    with _open_binary(path) as fh:
        text, bad_bytes = _decode_line(_to_utf8(fh.read()))
    try:
        values = json.loads(text.lstrip("\ufeff"))
    except Exception:  # not one JSON document (or nested past the stack): read it line by line
        return False
    if not isinstance(values, list):
        return False
    records, rows = [], []
    for i, value in enumerate(values, start=1):
        if isinstance(value, dict) and _too_deep(value, limits.max_nesting):
            batch.problems.append(_nesting_problem(i, limits))
        elif isinstance(value, dict):
            records.append(value)
            rows.append(i)
        else:
            detail = f"expected a JSON object, got {type(value).__name__}"
            raw = "" if _too_deep(value, limits.max_nesting) else json.dumps(value)
            batch.problems.append(_Problem(i, QuarantineReason.MALFORMED_LINE, detail, raw))
    suspect = bool(bad_bytes) or "\\ud" in text.lower()
    batch.add_records(records, rows, [suspect] * len(records))
    return True


def _read_csv(path: Path, limits: Limits) -> _Batch:
    batch = _Batch()
    _raise_csv_field_limit()
    try:
        suspect = not _is_valid_utf8(path)
        with _open_text(path) as fh:
            _read_csv_records(csv.reader(fh), batch, suspect)
    except Exception as exc:
        batch.problems.append(_unreadable(batch, exc))
    return batch


def _read_csv_records(reader: Any, batch: _Batch, suspect: bool) -> None:
    header: list[str] | None = None
    records: list[dict[str, Any]] = []
    rows: list[int] = []
    try:
        for row, fields in _csv_rows(reader, batch):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if header is None:
                header = _unique_header(fields)
                continue
            if len(fields) != len(header):
                detail = f"expected {len(header)} fields, got {len(fields)}"
                raw = json.dumps(fields, ensure_ascii=False)
                problem = _Problem(row, QuarantineReason.MALFORMED_LINE, detail, raw, _guess_url(raw))
                batch.problems.append(problem)
                continue
            records.append(dict(zip(header, fields, strict=True)))
            rows.append(row)
    finally:
        batch.add_records(records, rows, [suspect] * len(records))


def _csv_rows(reader: Any, batch: _Batch) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` per CSV record; a record the csv module rejects is a problem."""
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num < start:  # no progress: the reader cannot recover
                raise
            batch.problems.append(_Problem(start, QuarantineReason.MALFORMED_LINE, f"CSV: {exc}"))
            continue
        yield start, fields


def _unique_header(fields: list[str]) -> list[str]:
    """Storable, unique column names (blank ones become ``column_N``)."""
    names: list[str] = []
    for j, name in enumerate(fields, start=1):
        clean = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace").strip()
        clean = clean or f"column_{j}"
        while clean in names:
            clean = f"{clean}.{j}"
        names.append(clean)
    return names


def _read_parquet(path: Path, limits: Limits) -> _Batch:
    batch = _Batch()
    try:
        pf = pq.ParquetFile(path)
        for table in pf.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            _add_arrow_batch(batch, table)
    except Exception as exc:
        batch.problems.append(_unreadable(batch, exc))
    return batch


def _add_arrow_batch(batch: _Batch, table: pa.RecordBatch) -> None:
    start = len(batch.rows) + 1
    names = [n for n in table.schema.names if not n.startswith("__index_level_")]
    columns = {n: _arrow_values(table.column(n)) for n in names}
    binary = any(_is_binary(table.column(n).type) for n in names)
    batch.add_columns(columns, list(range(start, start + table.num_rows)), [binary] * table.num_rows)


def _arrow_values(column: pa.Array) -> list[Any]:
    """Python values; binary stays bytes so an unmapped blob column cannot fail a row."""
    return column.to_pylist()


def _is_binary(dtype: pa.DataType) -> bool:
    return pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype)


_READERS: dict[str, Callable[[Path, Limits], _Batch]] = {
    "jsonl": _read_jsonl,
    "csv": _read_csv,
    "parquet": _read_parquet,
}


# ------------------------------------------------------------------------------------ file access


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _head_bytes(path: Path, n: int = 64) -> bytes:
    with _open_binary(path) as fh:
        return fh.read(n)


def _utf16_codec(head: bytes) -> str | None:
    """``"utf-16"`` (a BOM), ``"utf-16-le"``/``"utf-16-be"`` (no BOM, but the NUL byte of every
    ASCII character gives it away: UTF-8 text holds no NULs), or ``None``."""
    if head[:2] in _BOMS_UTF16:
        return "utf-16"
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.75 * len(odd) and not even.count(0):
        return "utf-16-le"
    if even.count(0) >= 0.75 * len(even) and not odd.count(0):
        return "utf-16-be"
    return None


def _is_utf16(path: Path) -> bool:
    return _utf16_codec(_head_bytes(path)) is not None


def _is_valid_utf8(path: Path) -> bool:
    """Whether the whole file decodes strictly, so its records need no field-by-field scan."""
    if _is_utf16(path):
        return True  # decoded with "replace": no undecodable bytes survive
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with _open_binary(path) as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _to_utf8(data: bytes) -> bytes:
    """UTF-16 files (with a BOM or without) re-encoded as UTF-8; anything else unchanged, minus a
    UTF-8 BOM."""
    if codec := _utf16_codec(data[:64]):
        return data.decode(codec, "replace").encode("utf-8")
    return data.removeprefix(codecs.BOM_UTF8)


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(1-based line number, line bytes)`` of a JSON-lines file."""
    if _is_utf16(path):
        with _open_binary(path) as fh:
            lines: Any = io.BytesIO(_to_utf8(fh.read()))
            yield from ((n, line.rstrip(b"\r\n")) for n, line in enumerate(lines, start=1))
        return
    with _open_binary(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            yield lineno, (line.removeprefix(codecs.BOM_UTF8) if lineno == 1 else line).rstrip(b"\r\n")


def _open_text(path: Path) -> IO[str]:
    utf16 = _utf16_codec(_head_bytes(path))
    encoding = utf16 or "utf-8-sig"
    errors = "replace" if utf16 else "surrogateescape"
    return io.TextIOWrapper(_open_binary(path), encoding=encoding, errors=errors, newline="")


def open_csv_text(path: str | Path) -> IO[str]:
    """A landing CSV as text the way :func:`read_landing_file` reads it (gzip, UTF-16 by its BOM,
    else UTF-8 with undecodable bytes kept as surrogates), the csv field limit raised."""
    _raise_csv_field_limit()
    return _open_text(Path(path))


def _raise_csv_field_limit() -> None:
    """Huge fields must reach the size check, not crash the csv module (limit is process-wide)."""
    if csv.field_size_limit() < sys.maxsize // 2:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _unreadable(batch: _Batch, exc: BaseException) -> _Problem:
    last = max([*batch.rows, *(p.row for p in batch.problems)], default=0)
    where = f"after record at row {last}: " if last else ""
    return _Problem(0 if not last else last + 1, QuarantineReason.UNREADABLE_FILE, f"{where}{exc!r}")


# ------------------------------------------------------------------------------------- validation


@dataclass
class _Pages:
    """Canonical fields of every parsed record, and the verdict on each."""

    batch: _Batch
    limits: Limits
    url: list[str | None]
    text: list[str | None]
    html: list[str | None]
    title: list[str | None]
    label: list[str | None]
    source_id: list[str | None]
    scraped_at: list[str | None]
    extra: list[str | None]
    reason: list[QuarantineReason | None]
    detail: list[str]
    norm_url: list[str | None]
    meta: list[HtmlMeta | None]
    content_hash: list[str | None]
    sources: dict[str, str] = field(default_factory=dict)
    missing_url_detail: str = "no url"

    @classmethod
    def from_batch(cls, batch: _Batch, mapping: ColumnMapping, limits: Limits) -> _Pages:
        n = len(batch.rows)
        sources = mapping.source_columns(list(batch.columns))
        strings = {f: _string_column(batch, sources.get(f), n) for f in _STRING_FIELDS}
        used = set(sources.values())
        return cls(
            batch=batch,
            limits=limits,
            **strings,
            scraped_at=[_iso_timestamp(v) for v in _column(batch, sources.get("scraped_at"), n)],
            extra=_extra_column(batch, used, strings["source_id"]),
            reason=[None] * n,
            detail=[""] * n,
            norm_url=[None] * n,
            meta=[None] * n,
            content_hash=[None] * n,
            sources=sources,
            missing_url_detail="no url" if "url" in sources else f"the file has no {mapping.url!r} column",
        )

    def alive(self) -> list[int]:
        return [i for i, r in enumerate(self.reason) if r is None]

    def reject(self, i: int, reason: QuarantineReason, detail: str) -> None:
        if self.reason[i] is None:
            self.reason[i], self.detail[i] = reason, detail

    def validate(self, known_content_hashes: frozenset[str]) -> None:
        """Checks in priority order; a row keeps the first reason it fails."""
        self._check_types()
        self._check_encoding()
        self._check_url()
        self._check_sizes()
        self._resolve_text()
        self._check_text()
        self._check_duplicates(known_content_hashes)

    def _check_types(self) -> None:
        """A JSON object, a list (other than a list of strings for ``text``) or a boolean where a
        string is expected is refused: its Python ``repr`` is not the page's text."""
        for name in ("url", "text", "html", "title"):
            column = self.sources.get(name)
            if column is None:
                continue
            values = self.batch.columns[column]
            for i in self.alive():
                kind = _wrong_type(values[i], allow_str_list=name == "text")
                if kind:
                    self.reject(i, QuarantineReason.WRONG_TYPE, f"{name} is {kind}, not a string")

    def _check_encoding(self) -> None:
        """Only records whose bytes failed strict decoding (or hold ``\\ud`` escapes) are scanned."""
        for i in self.alive():
            if self.batch.suspect[i]:
                canonical = {f: getattr(self, f)[i] for f in _STRING_FIELDS}
                bad = _fields_with_surrogates(self.batch.record(i)) | _fields_with_surrogates(canonical)
                if bad:
                    detail = f"invalid UTF-8 in {', '.join(sorted(bad))}"
                    self.reject(i, QuarantineReason.BAD_ENCODING, detail)

    def _check_url(self) -> None:
        for i in self.alive():
            url = self.url[i]
            if url is None:
                self.reject(i, QuarantineReason.MISSING_URL, self.missing_url_detail)
                continue
            if len(url) > self.limits.max_url_chars:
                detail = f"url has {len(url):,} > {self.limits.max_url_chars:,} characters"
                self.reject(i, QuarantineReason.BAD_URL, detail)
                continue
            norm = normalize_url(url)
            if norm is None:
                self.reject(i, QuarantineReason.BAD_URL, f"not an http(s) url with a host: {url[:200]!r}")
            self.norm_url[i] = norm

    def _check_sizes(self) -> None:
        max_html, max_text = self.limits.max_html_bytes, self.limits.max_text_chars
        for i in self.alive():
            html, text = self.html[i], self.text[i]
            if html is not None and _utf8_len_exceeds(html, max_html):
                self.reject(i, QuarantineReason.TEXT_TOO_LARGE, f"html exceeds {max_html:,} bytes")
            elif text is not None and len(text) > max_text:
                self.reject(
                    i, QuarantineReason.TEXT_TOO_LARGE, f"text has {len(text):,} > {max_text:,} chars"
                )

    def _resolve_text(self) -> None:
        """Parse every html page once; run the text extractor only where ``text`` falls short."""
        for i in self.alive():
            html, given = self.html[i], self.text[i] or ""
            if html is None:
                continue
            need_text = len(given) < self.limits.min_text_chars
            doc = extract_document(html, need_text=need_text, with_prices=False, limits=self.limits)
            if doc.method == "too_complex":
                self.reject(i, QuarantineReason.HTML_TOO_COMPLEX, doc.problem)
                continue
            self.meta[i] = doc.meta
            if need_text and len(doc.text) > len(given):
                self.text[i] = doc.text
            if self.title[i] is None:
                self.title[i] = doc.meta.title

    def _check_text(self) -> None:
        lim = self.limits
        for i in self.alive():
            text = self.text[i]
            if not text:
                has_html = self.html[i] is not None
                self.reject(i, QuarantineReason.MISSING_TEXT, _missing_text_detail(has_html))
            elif len(text) > lim.max_text_chars:
                self.reject(i, QuarantineReason.TEXT_TOO_LARGE, f"text has {len(text):,} chars")
            elif len(text) < lim.min_text_chars:
                detail = f"text has {len(text)} < {lim.min_text_chars} chars"
                self.reject(i, QuarantineReason.TEXT_TOO_SHORT, detail)
            elif problem := _garbled(text, lim):
                self.reject(i, QuarantineReason.BAD_ENCODING, problem)

    def _check_duplicates(self, known: frozenset[str]) -> None:
        first_url: dict[str, int] = {}
        first_content: dict[str, int] = {}
        for i in self.alive():
            norm, text = self.norm_url[i] or "", self.text[i] or ""
            if norm in first_url:
                self.reject(
                    i, QuarantineReason.DUPLICATE, f"same url as row {self.batch.rows[first_url[norm]]}"
                )
                continue
            first_url[norm] = i
            digest = content_hash_for(text)
            self.content_hash[i] = digest
            if digest in first_content:
                row = self.batch.rows[first_content[digest]]
                self.reject(i, QuarantineReason.DUPLICATE, f"same content as row {row}")
            elif digest in known:
                self.reject(i, QuarantineReason.DUPLICATE, "content already accepted in another partition")
            else:
                first_content[digest] = i

    def accepted_frame(self, source: _Source) -> pd.DataFrame:
        idx = self.alive()
        meta = [self.meta[i] for i in idx]
        data: dict[str, Any] = {
            "page_id": [page_id_for(self.norm_url[i] or "") for i in idx],
            "url": [self.norm_url[i] for i in idx],
            "title": [self.title[i] for i in idx],
            "text": [self.text[i] for i in idx],
            "html": [self.html[i] for i in idx],
            "scraped_at": [self.scraped_at[i] for i in idx],
            "source_file": [source.file] * len(idx),
            "source_row": [self.batch.rows[i] for i in idx],
            "partition_key": [source.partition_key] * len(idx),
            "content_hash": [self.content_hash[i] for i in idx],
            "label": [self.label[i] for i in idx],
            "description": [m.description if m else None for m in meta],
            "og_site_name": [m.og_site_name if m else None for m in meta],
            **{c: _counts(meta, c) for c in _COUNT_COLUMNS},
            "extra": [self.extra[i] for i in idx],
        }
        return _typed_frame(data, ACCEPTED_SCHEMA)

    def quarantined_records(self, source: _Source) -> list[_Problem]:
        out = []
        for i, reason in enumerate(self.reason):
            if reason is not None:
                raw = _record_preview(self.batch.record(i), source.limits.raw_preview_chars)
                out.append(_Problem(self.batch.rows[i], reason, self.detail[i], raw, self.url[i]))
        return out


def _quarantine_frame(source: _Source, problems: list[_Problem]) -> pd.DataFrame:
    problems = sorted(problems, key=lambda p: p.row)
    data: dict[str, Any] = {
        "partition_key": [source.partition_key] * len(problems),
        "source_file": [source.file] * len(problems),
        "source_row": [p.row for p in problems],
        "reason": [str(p.reason) for p in problems],
        "detail": [source.preview(p.detail) for p in problems],
        "url": [source.preview(p.url) for p in problems],
        "raw": [source.preview(p.raw) for p in problems],
    }
    return _typed_frame(data, QUARANTINE_SCHEMA)


def _typed_frame(data: dict[str, Any], schema: dict[str, str]) -> pd.DataFrame:
    """The frame with exactly ``schema``'s columns and dtypes, even when it has no rows."""
    return pd.DataFrame({c: pd.Series(data[c], dtype=object).astype(dtype) for c, dtype in schema.items()})


# ---------------------------------------------------------------------------------- field helpers


def _column(batch: _Batch, name: str | None, n: int) -> list[Any]:
    return batch.columns[name] if name is not None else [None] * n


def _string_column(batch: _Batch, name: str | None, n: int) -> list[str | None]:
    return [_as_str(v) for v in _column(batch, name, n)]


def _as_str(value: Any) -> str | None:
    """A field as stripped text without NULs; missing or blank values are ``None``."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, float) and math.isnan(value):
        return None
    elif isinstance(value, bytes):
        text = value.decode("utf-8", "surrogateescape")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = "\n".join(value)
    else:
        text = str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    text = text.strip()
    return text or None


def _wrong_type(value: Any, allow_str_list: bool) -> str:
    """What kind of non-string ``value`` is, when it cannot stand for text; else ``""``."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list | tuple):
        if allow_str_list and all(isinstance(v, str) for v in value):
            return ""
        return "a list"
    return ""


def _iso_timestamp(value: Any) -> str | None:
    """ISO 8601 in UTC, or ``None`` when absent or unparseable (the field is optional)."""
    try:
        dt = _to_datetime(value)
    except (ValueError, TypeError, OverflowError, OSError):
        return None
    if dt is None:
        return None
    return (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)).isoformat()


def _to_datetime(value: Any) -> datetime | None:
    """Epoch seconds or milliseconds, datetimes, dates, or strings (ISO first, then pandas' parser)."""
    if _is_missing(value) or value is pd.NaT:
        return None
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if abs(value) > 1e11 else value, UTC)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        ts = pd.Timestamp(text)
        return None if pd.isna(ts) else ts.to_pydatetime()


def _extra_column(batch: _Batch, used: set[str], source_id: list[str | None]) -> list[str | None]:
    """Unmapped columns (and the scraper's own id) as one JSON object per row."""
    names = [c for c in batch.columns if c not in used]
    out: list[str | None] = []
    for i, sid in enumerate(source_id):
        extra = {n: batch.columns[n][i] for n in names if not _is_missing(batch.columns[n][i])}
        if sid is not None:
            extra["source_id"] = sid
        out.append(json.dumps(extra, ensure_ascii=False, default=str) if extra else None)
    return out


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return (isinstance(value, str) and not value) or (isinstance(value, float) and math.isnan(value))


def _fields_with_surrogates(record: dict[str, Any]) -> set[str]:
    """Names of string fields holding undecodable bytes (bytes values are not text: skipped)."""
    return {str(k) for k, v in record.items() if _has_surrogate(k) or _has_surrogate(v)}


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii() and _SURROGATE_RE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    return False


def _garbled(text: str, limits: Limits) -> str:
    """Why ``text`` looks badly decoded, or ``""``."""
    if text.isascii():
        return ""
    replacement = text.count("\ufffd")
    if replacement and replacement / len(text) > limits.max_replacement_ratio:
        return f"{replacement} U+FFFD replacement characters in {len(text)} chars"
    hits = len(_MOJIBAKE_RE.findall(text))
    if hits >= limits.min_mojibake_hits and hits / len(text) > limits.max_mojibake_ratio:
        return f"mojibake: {hits} sequences like 'Ã©' (UTF-8 decoded as Latin-1)"
    return ""


def _utf8_len_exceeds(text: str, limit: int) -> bool:
    """``len(text.encode())`` > limit, without encoding when the answer is obvious."""
    if len(text) > limit:
        return True
    if len(text) * 4 <= limit or text.isascii():
        return False
    return len(text.encode("utf-8", "surrogatepass")) > limit


def _missing_text_detail(has_html: bool) -> str:
    return "no text, and the html has no extractable text" if has_html else "neither text nor html"


def _counts(meta: list[HtmlMeta | None], name: str) -> list[float]:
    return [float(getattr(m, name)) if m is not None else math.nan for m in meta]


def _record_preview(record: dict[str, Any], limit: int) -> str:
    short = {k: v[:limit] if isinstance(v, str) else v for k, v in record.items()}
    return json.dumps(short, ensure_ascii=False, default=str)
