"""Page features for pages that arrive over HTTP: the batch path's values, at one page's cost.

A request page is what a landing record holds (``url`` plus ``text`` and/or ``html``, optional
``title``); it goes through the same steps as ingestion so an LF sees the same values online and
offline:

* ``url`` is normalised with the landing contract's :func:`normalize_url` (an invalid url is kept
  as given: the service still scores the page, the url and domain LFs just have less to read);
* when ``html`` is given it is parsed once for the title, description, site name and structure
  counts, and its main text is extracted (trafilatura) only when ``text`` is missing or shorter than
  the landing contract's minimum — the rule ingestion follows;
* the feature values come from the same helpers as
  :func:`~beambell_assets.ingest.features.build_page_features` (url parts, bundled suffix list,
  RE2 price/date counts, ASCII ratio), then the task's ``prepare`` hook runs.

Why not call ``build_page_features`` on a one-row frame: it costs ~8 ms per page here, almost all
of it pandas building 21 typed one-row columns, and its ``str`` (Arrow) columns make every
``row_dtype`` probe of the LF applier cost ~0.5 ms more (the model LFs make ~10 per call). This
module builds the same values as plain ``object``/``int64``/``float64`` columns (~1 ms), and
``tests/unit/test_serving_api.py`` checks value for value that they equal ``build_page_features``'
on sample pages with and without HTML; LF votes on either frame are identical (the rows an LF sees
are ``object`` Series either way).

Cost (``benchmarks/serving_latency.py``): text-only pages cost about a millisecond to featurise;
HTML costs the lxml parse, plus trafilatura when the text must come from the HTML (several ms for
a typical page, more for a large one). Send ``text`` with the ``html`` when the scraper has it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.ingest.contract import Limits, normalize_url, page_id_for
from beambell_assets.ingest.features import (
    DATE_PATTERN,
    FEATURE_SCHEMA,
    ascii_ratio,
    count_matches,
    split_host,
    url_parts,
)
from beambell_assets.ingest.html_text import PRICE_PATTERN, extract_document
from beambell_assets.labeling.task import Task

#: The partition key online feature rows carry (LFs never read it; it marks where a row came from).
ONLINE_PARTITION = "online"

_LIMITS = Limits()
_MIN_TEXT_CHARS = _LIMITS.min_text_chars


class PageTooComplex(ValueError):
    """A page's HTML is over a bound of the landing contract (size, elements, depth, CPU): ingest
    would quarantine it as ``html_too_complex``; the service answers 422 instead of spending on it."""


_COUNTS = ("n_links", "n_images", "n_forms")


def raw_frame(pages: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``raw_pages``-shaped frame of request pages (keys: url, text, html, title)."""
    return pd.DataFrame([_raw_page(p) for p in pages])


def online_features(pages: Sequence[Mapping[str, Any]], task: Task) -> pd.DataFrame:
    """Feature rows (``FEATURE_SCHEMA``'s columns and values, plus the task's own), in order."""
    raws = []
    for i, page in enumerate(pages):
        try:
            raws.append(_raw_page(page))
        except PageTooComplex as exc:
            raise PageTooComplex(f"page {i}: {exc}") from None
    n = len(raws)
    text = [_squash(r["text"]) for r in raws]
    title = [_squash(r["title"]) for r in raws]
    urls = [r["url"] for r in raws]
    parts = [url_parts(u) for u in urls]
    hosts = [h for h, _ in parts]
    suffixes = [split_host(h) for h in hosts]
    # One RE2 call per pattern over texts and titles together (the batch path makes two).
    prices = count_matches([*text, *title], PRICE_PATTERN) if n else np.zeros(0, np.int64)
    dates = count_matches([*text, *title], DATE_PATTERN) if n else np.zeros(0, np.int64)
    data: dict[str, Any] = {
        "page_id": [r["page_id"] for r in raws],
        "partition_key": [ONLINE_PARTITION] * n,
        "url": urls,
        "domain": hosts,
        "registered_domain": [s[0] for s in suffixes],
        "tld": [s[1] for s in suffixes],
        "url_path": [p for _, p in parts],
        "title": title,
        "description": [_squash(r["description"]) for r in raws],
        "og_site_name": [_squash(r["og_site_name"]) for r in raws],
        "text": text,
        "text_len": [len(t) for t in text],
        "n_tokens": [t.count(" ") + 1 if t else 0 for t in text],
        **{c: [math.nan if r[c] is None else float(r[c]) for r in raws] for c in _COUNTS},
        "n_price_mentions": prices[:n] + prices[n:],
        "n_date_mentions": dates[:n] + dates[n:],
        "has_html": [1 if r["html"] else 0 for r in raws],
        "ascii_ratio": [ascii_ratio(t) for t in text],
        "label": [None] * n,
    }
    columns = {c: pd.Series(data[c], dtype=object if d == "str" else d) for c, d in FEATURE_SCHEMA.items()}
    frame = pd.DataFrame(columns, columns=pd.Index(list(FEATURE_SCHEMA), dtype=object))
    return task.prepared(frame)


def _raw_page(page: Mapping[str, Any]) -> dict[str, Any]:
    """What ingestion would have accepted for this page (text resolved from html as it does)."""
    url = str(page.get("url") or "")
    text = _opt_str(page.get("text"))
    title = _opt_str(page.get("title"))
    html = _opt_str(page.get("html"))
    description = og_site_name = None
    counts: dict[str, int | None] = dict.fromkeys(_COUNTS)
    if html:
        need_text = len(text or "") < _MIN_TEXT_CHARS
        doc = extract_document(html, need_text=need_text, with_prices=False, limits=_LIMITS)
        if doc.method == "too_complex":
            raise PageTooComplex(doc.problem)
        if need_text and len(doc.text) > len(text or ""):
            text = doc.text
        title = title or doc.meta.title
        description, og_site_name = doc.meta.description, doc.meta.og_site_name
        counts = {"n_links": doc.meta.n_links, "n_images": doc.meta.n_images, "n_forms": doc.meta.n_forms}
    normalized = normalize_url(url) if url else None
    return {
        "page_id": page_id_for(normalized or url),
        "partition_key": ONLINE_PARTITION,
        "url": normalized or url,
        "title": title,
        "text": text,
        "html": html,
        "description": description,
        "og_site_name": og_site_name,
        **counts,
    }


def _squash(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text or None
