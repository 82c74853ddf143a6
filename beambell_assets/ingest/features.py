"""Per-page features that labeling functions read: clean text, domain parts, structure counts.

Labeling functions depend on these exact column names and dtypes (:data:`FEATURE_SCHEMA`), so
they are stable: text columns are ``str`` with ``""`` for missing values (``label`` stays
missing when there is no gold label), counts that may be unknown (the page had no HTML) are
``float64`` with NaN, counts always known are ``int64``.

Domains are split with the Public Suffix List snapshot bundled in tldextract (ICANN section
only, so ``user.github.io`` has registered domain ``github.io``): no network access, ever.
"""

from __future__ import annotations

import ipaddress
import math
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import tldextract

from beambell_assets.ingest.html_text import PRICE_PATTERN

FEATURE_SCHEMA: dict[str, str] = {
    "page_id": "str",
    "partition_key": "str",
    "url": "str",
    "domain": "str",
    "registered_domain": "str",
    "tld": "str",
    "url_path": "str",
    "title": "str",
    "description": "str",
    "og_site_name": "str",
    "text": "str",
    "text_len": "int64",
    "n_tokens": "int64",
    "n_links": "float64",
    "n_images": "float64",
    "n_forms": "float64",
    "n_price_mentions": "int64",
    "n_date_mentions": "int64",
    "has_html": "int64",
    "ascii_ratio": "float64",
    "label": "str",
}
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURE_SCHEMA)

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
#: Dates: 2025-11-01, 01/11/2025, 1/11/25, 1.11.2025, 1 November 2025, Nov 1st, 2025, November 2025.
#: Case-insensitive; valid for Python ``re`` and RE2 alike (counted column-wise with pyarrow).
DATE_PATTERN = (
    r"(?i)\b(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"|[0-9]{1,2}/[0-9]{1,2}/(?:[0-9]{4}|[0-9]{2})|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}"
    rf"|[0-9]{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{_MONTHS}\.?,?(?:\s+[0-9]{{4}})?"
    rf"|{_MONTHS}\.?\s+[0-9]{{1,2}}(?:st|nd|rd|th)?(?:,?\s+[0-9]{{4}})?"
    rf"|{_MONTHS}\.?\s+[0-9]{{4}})\b"
)
DATE_RE = re.compile(DATE_PATTERN)


@lru_cache(maxsize=1)
def _suffix_extractor() -> tldextract.TLDExtract:
    """The bundled PSL snapshot: no fetch (empty url list) and no cache directory written."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def build_page_features(raw: pd.DataFrame) -> pd.DataFrame:
    """One feature row per accepted page of ``raw`` (the ``raw_pages`` frame), in the same order."""
    text = [_squash(t) for t in _strings(raw, "text")]
    title = [_squash(t) for t in _strings(raw, "title")]
    urls = _strings(raw, "url")
    hosts, paths = zip(*(url_parts(u) for u in urls), strict=True) if urls else ((), ())
    suffixes = {h: split_host(h) for h in dict.fromkeys(hosts)}
    data: dict[str, Any] = {
        "page_id": _strings(raw, "page_id"),
        "partition_key": _strings(raw, "partition_key"),
        "url": urls,
        "domain": hosts,
        "registered_domain": [suffixes[h][0] for h in hosts],
        "tld": [suffixes[h][1] for h in hosts],
        "url_path": paths,
        "title": title,
        "description": [_squash(t) for t in _strings(raw, "description")],
        "og_site_name": [_squash(t) for t in _strings(raw, "og_site_name")],
        "text": text,
        "text_len": [len(t) for t in text],
        "n_tokens": [t.count(" ") + 1 if t else 0 for t in text],
        **{c: _floats(raw, c) for c in ("n_links", "n_images", "n_forms")},
        "n_price_mentions": count_matches(text, PRICE_PATTERN) + count_matches(title, PRICE_PATTERN),
        "n_date_mentions": count_matches(text, DATE_PATTERN) + count_matches(title, DATE_PATTERN),
        "has_html": _present(raw, "html"),
        "ascii_ratio": [ascii_ratio(t) for t in text],
        "label": _labels(raw),
    }
    frame = pd.DataFrame({c: pd.Series(data[c], dtype=object).astype(d) for c, d in FEATURE_SCHEMA.items()})
    frame.index = raw.index
    return frame


def url_parts(url: str) -> tuple[str, str]:
    """``(host, path)``: the lowercase host without port or trailing dot, and the lowercase
    path plus query (the part of a url that says what kind of page it is)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "", ""
    path = parts.path or "/"
    return host.rstrip(".").lower(), (f"{path}?{parts.query}" if parts.query else path).lower()


@lru_cache(maxsize=1 << 16)
def split_host(host: str) -> tuple[str, str]:
    """``(registered_domain, public_suffix)``; an IP, or a host under no known suffix, is its own."""
    if not host:
        return "", ""
    try:
        ipaddress.ip_address(host)
        return host, ""
    except ValueError:
        pass
    ext = _suffix_extractor()(host)
    if not ext.suffix or not ext.domain:
        return host, ext.suffix
    return f"{ext.domain}.{ext.suffix}", ext.suffix


def ascii_ratio(text: str) -> float:
    """Share of ASCII characters: low for non-Latin scripts and for binary junk."""
    if not text:
        return 1.0
    if text.isascii():
        return 1.0
    return len(text.encode("ascii", "ignore")) / len(text)


def count_matches(texts: list[str], pattern: str) -> np.ndarray:
    """Non-overlapping matches of ``pattern`` per text, vectorised with RE2 (pyarrow).

    Python's ``re`` is one to two orders of magnitude slower on these alternations; the
    patterns are written so both engines agree (see ``DATE_PATTERN``, ``PRICE_PATTERN``).
    """
    if not texts:
        return np.zeros(0, dtype=np.int64)
    counts = pc.count_substring_regex(pa.array(texts, type=pa.large_string()), pattern)
    return counts.to_numpy(zero_copy_only=False).astype(np.int64)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _strings(raw: pd.DataFrame, column: str) -> list[str]:
    """A column as ``str`` values; missing values (and a missing column) are ``""``."""
    if column not in raw.columns:
        return [""] * len(raw)
    return [_text_value(v) for v in raw[column].to_numpy(dtype=object)]


def _text_value(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _present(raw: pd.DataFrame, column: str) -> list[int]:
    """1 where the column holds a non-empty value, else 0."""
    if column not in raw.columns:
        return [0] * len(raw)
    col = raw[column]
    try:
        filled = col.str.len().fillna(0) > 0  # lengths only: no copy of 100k html strings
    except AttributeError:  # not a string column (e.g. all missing)
        filled = col.notna()
    return filled.astype("int64").tolist()


def _floats(raw: pd.DataFrame, column: str) -> list[float]:
    if column not in raw.columns:
        return [math.nan] * len(raw)
    return pd.to_numeric(raw[column], errors="coerce").astype("float64").tolist()


def _labels(raw: pd.DataFrame) -> list[str | None]:
    return [v or None for v in _strings(raw, "label")]
