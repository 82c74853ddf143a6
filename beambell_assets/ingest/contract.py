"""The landing contract: what a scraper drops, and what beambell does with it.

Files
    Drop batch files into the landing folder (``$BEAMBELL_HOME/landing``). Each file becomes one
    partition, keyed by its file name, so name files so they sort by time, e.g.
    ``batch-2026-11-01T00-00-00.jsonl``. Supported formats:

    - JSON lines: ``.jsonl``, ``.ndjson`` or ``.json`` (one JSON object per line; a ``.json``
      file holding a single JSON array of objects is accepted too),
    - CSV with a header row: ``.csv`` (RFC 4180 quoting; fields may span lines),
    - Parquet: ``.parquet`` / ``.pq``,
    - gzip of the text formats: ``.jsonl.gz``, ``.ndjson.gz``, ``.json.gz``, ``.csv.gz``.

    Text must be UTF-8 (a UTF-8 BOM or a UTF-16 file with a BOM is tolerated). Write atomically:
    write ``name.tmp`` (or a dot-file) and rename it when complete; names starting with ``.`` or
    ``_`` and ``.tmp`` / ``.part`` files are ignored. Never rewrite a file once landed: a
    partition is immutable, send corrections in a new batch.

Columns (names can be remapped with :class:`ColumnMapping`)
    ``url``         required; ``http``/``https`` with a host. Identifies the page: accepted pages
                    carry the normalised url (:func:`normalize_url`) and ``page_id``, its SHA-1
                    in 16 hex characters; join other data (gold labels) on either.
    ``text``        the page's main text, and/or
    ``html``        the raw HTML; at least one must give usable text. When ``text`` is blank or
                    shorter than the minimum, the main text is extracted from ``html``.
    ``title``       optional; taken from the HTML ``<title>`` when absent.
    ``scraped_at``  optional; ISO 8601 (naive means UTC) or epoch seconds/milliseconds.
    ``id``/``page_id`` optional; your own id, kept in ``extra`` as ``source_id``.
    ``label``       never read implicitly: name a gold-label column in the mapping
                    (``label=Category``) only when the batch carries hand labels.
    anything else   kept, as a JSON object in the ``extra`` column.

Limits (:class:`Limits`, defaults)
    Text of 20 to 2,000,000 characters; urls up to 8,192 characters; HTML up to 5 MiB (checked
    on the raw bytes, before any parsing), 100,000 elements, 200 levels deep and 1 s of CPU;
    JSON records up to 64 levels deep; text with more than 1 % U+FFFD characters, or classic
    mojibake, counts as badly encoded. A JSON object or list where text is expected is a
    ``wrong_type``. A landing entry that is a link out of the landing folder is never read
    (``unsafe_path``).

Quarantine
    No row is silently dropped. Each row is either accepted or quarantined with a
    :class:`QuarantineReason`, a human-readable detail and its source (file, 1-based line or
    row number, truncated raw record). Duplicates keep the first occurrence: the same normalised
    url or the same normalised text within a batch, or text already accepted in another
    partition. File-level problems (empty or unreadable file) count as one quarantined
    pseudo-row, so ``accepted + quarantined == rows_read`` always holds.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: Canonical column names a mapping can target.
CANONICAL_FIELDS: tuple[str, ...] = ("url", "text", "html", "title", "scraped_at", "source_id", "label")

#: File suffixes read as each format (compound ``.gz`` suffixes included).
FORMAT_SUFFIXES: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".json.gz": "jsonl",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class LandingSchemaError(ValueError):
    """The batch as a whole cannot be read: required columns are missing (no row can be accepted).

    Deterministic: retrying the step cannot help, so it fails the run at once.
    """

    def __init__(self, file: str, missing: list[str], available: list[str]) -> None:
        self.missing, self.available = missing, available
        shown = ", ".join(repr(c) for c in available[:20]) or "none"
        super().__init__(
            f"{file}: missing column(s) {', '.join(missing)}; the file has {shown}. "
            "Fix the file or the column mapping (--map / BEAMBELL_COLUMN_MAPPING)."
        )


class QuarantineReason(StrEnum):
    """Why a row was not accepted; stable strings stored in the warehouse."""

    MALFORMED_LINE = "malformed_line"
    BAD_ENCODING = "bad_encoding"
    MISSING_URL = "missing_url"
    BAD_URL = "bad_url"
    MISSING_TEXT = "missing_text"
    TEXT_TOO_SHORT = "text_too_short"
    TEXT_TOO_LARGE = "text_too_large"
    DUPLICATE = "duplicate"
    UNREADABLE_FILE = "unreadable_file"
    EMPTY_FILE = "empty_file"
    #: A JSON object or list (or a boolean) where a string field was expected.
    WRONG_TYPE = "wrong_type"
    #: HTML too many elements, too deep, or over its CPU budget: bounded work per page.
    HTML_TOO_COMPLEX = "html_too_complex"
    #: The landing entry is a link (or path) leading out of the landing folder: never read.
    UNSAFE_PATH = "unsafe_path"


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one pathological page from hurting the whole pipeline."""

    max_text_chars: int = 2_000_000
    max_html_bytes: int = 5 * 1024 * 1024
    min_text_chars: int = 20
    #: Share of U+FFFD replacement characters above which text counts as badly decoded.
    max_replacement_ratio: float = 0.01
    #: Mojibake markers (``Ã©``, ``â€™``: UTF-8 read as Latin-1) needed, and their share of the text.
    min_mojibake_hits: int = 3
    max_mojibake_ratio: float = 0.002
    #: Quarantine keeps this many characters of the raw record.
    raw_preview_chars: int = 2_000
    #: The same url cap as the prediction service's.
    max_url_chars: int = 8_192
    #: HTML with more elements, or nested deeper, is quarantined before any extraction. lxml's
    #: parser silently drops what lies below depth 256, so deeper pages could not be read whole.
    max_html_elements: int = 100_000
    max_html_depth: int = 200
    #: Above this many elements the main text is the page's visible text (linear time) instead
    #: of trafilatura's, whose cost grows faster than the page (~0.5 s at 10k elements here).
    max_extract_elements: int = 10_000
    #: CPU seconds one page's HTML may take; a page over it after parsing is quarantined.
    html_cpu_budget_s: float = 1.0
    #: JSON records nested deeper than this are malformed (and would exhaust Python's stack).
    max_nesting: int = 64

    def __post_init__(self) -> None:
        if self.min_text_chars < 0 or self.max_text_chars <= self.min_text_chars:
            raise ValueError("Limits: need 0 <= min_text_chars < max_text_chars")
        if self.max_html_bytes <= 0 or self.raw_preview_chars <= 0:
            raise ValueError("Limits: max_html_bytes and raw_preview_chars must be positive")
        bounds = (self.max_url_chars, self.max_html_elements, self.max_html_depth, self.max_nesting)
        if min(bounds) <= 0 or self.html_cpu_budget_s <= 0:
            raise ValueError("Limits: url, html and nesting bounds must be positive")


@dataclass(frozen=True)
class ColumnMapping:
    """Which of the file's columns holds each canonical field (``None``: the file has none).

    ``source_id`` defaults to ``page_id`` and falls back to ``id``; ``label`` is only read when
    named, because a scraper's own ``label`` column need not be a gold label.
    """

    url: str = "url"
    text: str | None = "text"
    html: str | None = "html"
    title: str | None = "title"
    scraped_at: str | None = "scraped_at"
    source_id: str | None = "page_id"
    label: str | None = None

    @classmethod
    def parse(cls, spec: str | None) -> ColumnMapping:
        """Parse ``"url=website_url,text=cleaned_website_text,label=Category"``.

        ``id`` and ``page_id`` are accepted as aliases of ``source_id``; ``field=`` (empty)
        means the file has no such column.
        """
        if not spec or not spec.strip():
            return cls()
        values: dict[str, str | None] = {}
        for part in spec.split(","):
            if not part.strip():
                continue
            key, sep, column = part.partition("=")
            key = _mapping_key(key.strip())
            if not sep:
                raise ValueError(f"column mapping {part.strip()!r}: expected field=column")
            if key in values:
                raise ValueError(f"column mapping: {key!r} given twice")
            values[key] = column.strip() or None
        if "url" in values and values["url"] is None:
            raise ValueError("column mapping: url cannot be empty")
        return cls(**values)  # type: ignore[arg-type]

    def to_spec(self) -> str:
        """The inverse of :meth:`parse` (for metadata and run config)."""
        return ",".join(f"{f.name}={getattr(self, f.name) or ''}" for f in fields(self))

    def named_columns(self) -> dict[str, str]:
        """Field -> column for the url and every field the mapping names away from the defaults."""
        defaults = ColumnMapping()
        named = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in named.items() if v is not None and (k == "url" or v != getattr(defaults, k))}

    def missing_columns(self, available: list[str]) -> list[str]:
        """Columns a file must have for this mapping and lacks: a batch-level error, not row-level.

        The url column, every column the mapping names explicitly, and one of text/html.
        """
        present = set(available)
        missing = [f"{col!r} ({name})" for name, col in self.named_columns().items() if col not in present]
        content = [c for c in (self.text, self.html) if c is not None]
        if not any(c in present for c in content):
            missing.append(" or ".join(repr(c) for c in content) or "text or html (mapped to neither)")
        return list(dict.fromkeys(missing))

    def source_columns(self, available: list[str]) -> dict[str, str]:
        """Canonical field -> the file column that feeds it, for the columns present."""
        present = set(available)
        chosen = {name: getattr(self, name) for name in CANONICAL_FIELDS}
        if chosen["source_id"] == "page_id" and "page_id" not in present:
            chosen["source_id"] = "id"
        return {name: col for name, col in chosen.items() if col is not None and col in present}


def _mapping_key(key: str) -> str:
    key = {"id": "source_id", "page_id": "source_id"}.get(key, key)
    if key not in CANONICAL_FIELDS:
        raise ValueError(f"column mapping: unknown field {key!r} (known: {', '.join(CANONICAL_FIELDS)})")
    return key


def detect_format(path: str | Path) -> str:
    """``"jsonl"``, ``"csv"`` or ``"parquet"``; ``ValueError`` for anything else."""
    name = Path(path).name.lower()
    for suffix in sorted(FORMAT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMAT_SUFFIXES[suffix]
    known = ", ".join(sorted(FORMAT_SUFFIXES))
    raise ValueError(f"unsupported landing file {Path(path).name!r}: expected one of {known}")


def is_landing_file(path: str | Path) -> bool:
    """Whether a file in the landing folder is a complete batch to ingest."""
    p = Path(path)
    name = p.name.lower()
    if name.startswith((".", "_")) or name.endswith(_IGNORED_SUFFIXES) or not p.is_file():
        return False
    try:
        detect_format(p)
    except ValueError:
        return False
    return True


def partition_key_for(path: str | Path) -> str:
    """One file, one partition: the key is the file name."""
    return Path(path).name


def list_landing_files(landing_dir: str | Path) -> list[Path]:
    """Complete batch files in ``landing_dir``, sorted by name (that is, by time)."""
    folder = Path(landing_dir)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if is_landing_file(p)), key=lambda p: p.name)


def landing_files(landing_dir: str | Path) -> dict[str, Path]:
    """Partition key -> file for every complete batch file (see the landing contract)."""
    return {partition_key_for(p): p for p in list_landing_files(landing_dir)}


def normalize_url(url: str) -> str | None:
    """The canonical form of an http(s) url, or ``None`` when it is not one.

    Lowercases scheme and host, converts unicode hosts to punycode, drops the default port,
    the fragment and a trailing slash (``/`` stays for the root), and keeps the query as sent.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = _ascii_host(host.rstrip("."))
    if host is None:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


@lru_cache(maxsize=1 << 16)
def _ascii_host(host: str) -> str | None:
    """Lowercase ASCII host (punycode for IDNs), or ``None`` when it cannot be a host name.

    Cached: a batch holds many pages of few hosts, and IP/IDNA parsing dominates url checks.
    """
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if any(not label or len(label) > 63 for label in labels):
        return None
    if not all(ch.isalnum() or ch in "-_" for label in labels for ch in label):
        return None
    return ascii_host


def page_id_for(normalized_url: str) -> str:
    """Stable page id: SHA-1 of the normalised url, 16 hex characters."""
    return hashlib.sha1(normalized_url.encode("utf-8")).hexdigest()[:16]


def normalize_text_for_hash(text: str) -> str:
    """Case- and whitespace-insensitive form used to spot the same content twice."""
    return " ".join(text.lower().split())


def content_hash_for(text: str) -> str:
    """SHA-1 (40 hex) of the normalised text."""
    return hashlib.sha1(normalize_text_for_hash(text).encode("utf-8")).hexdigest()
