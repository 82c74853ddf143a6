"""HTML -> main text and the page metadata labeling functions like to read.

The main text comes from trafilatura, offline, recall-oriented (LFs would rather see a bit of
boilerplate than miss the body) and in its ``fast`` mode: the readability/jusText comparison it
skips doubles the cost and, on scraped pages, mostly adds cookie banners. When trafilatura finds
nothing, for short or oddly built pages, the visible text of the whole document is used instead.
Broken markup never raises: the worst case is an empty result.

Bounded work per page (:class:`~beambell_assets.ingest.contract.Limits`): the raw size is checked
before parsing, the parsed tree's element count and depth before anything else reads it, and the
thread's CPU time after parsing; a page over a bound comes back as ``method == "too_complex"``
with the reason in ``problem`` (ingest quarantines it as ``html_too_complex``, the service answers
422). trafilatura's cost grows faster than the page, so above ``max_extract_elements`` the main
text is the page's visible text, which is linear. ``benchmarks/hard_inputs.py`` measures it.

The price pattern is written for both Python ``re`` and RE2 (pyarrow's vectorised regex
functions): ASCII digits only, so both engines count the same mentions in normalised text.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

import lxml.etree
import lxml.html
import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Extractor

from beambell_assets.ingest.contract import Limits

#: Prices: a currency symbol or ISO code before or after an amount ($12.99, £5, 12,00 €, USD 30).
_AMOUNT = r"[0-9]{1,3}(?:[., ][0-9]{3})*(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?"
_SYMBOL = r"(?:US|A|C|NZ|HK)?\$|[£€¥₹]"
_CODES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR", "CNY", "SEK", "NOK", "DKK", "PLN")
_CODE = rf"\b(?:{'|'.join(_CODES)})\b"
PRICE_PATTERN = (
    rf"(?:{_SYMBOL}) ?(?:{_AMOUNT})"
    rf"|(?:{_AMOUNT}) ?(?:€|£|\$|{_CODE})"
    rf"|{_CODE} ?(?:{_AMOUNT})"
)
PRICE_RE = re.compile(PRICE_PATTERN)
_PRICE_MARKERS = ("$", "£", "€", "¥", "₹", *_CODES)

_NON_CONTENT = ("script", "style", "noscript", "template", "head", "title")
_VISIBLE_TEXT_XPATH = "//text()[not({})]".format(" or ".join(f"ancestor::{t}" for t in _NON_CONTENT))
_TITLE_XPATHS = ["//title", '//meta[@property="og:title"]/@content', "//h1"]
_DESCRIPTION_XPATHS = [
    '//meta[translate(@name, "DESCRIPTION", "description")="description"]/@content',
    '//meta[@property="og:description"]/@content',
]
_JSON_LD_XPATH = '//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'

_LIMITS = Limits()
#: An element costs an opening and usually a closing tag; comments and doctypes one ``<`` each.
_TAGS_PER_ELEMENT = 3

# Built once: constructing trafilatura's options per page costs a tenth of the extraction.
_EXTRACTOR = Extractor(output_format="txt", fast=True, recall=True, comments=False, tables=True, dedup=False)

# trafilatura logs an error for every fragment or empty page; in a 100k-page batch that is noise.
# Only quietened when nobody configured its logger.
if logging.getLogger("trafilatura").level == logging.NOTSET:
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class HtmlMeta:
    """What the raw HTML says about a page, beyond its main text."""

    title: str | None = None
    description: str | None = None
    og_site_name: str | None = None
    n_links: int = 0
    n_images: int = 0
    n_forms: int = 0
    #: ``None`` when not counted (see :func:`extract_document`).
    n_price_mentions: int | None = None
    #: Raw ``application/ld+json`` blocks, unparsed (organisation extraction reads them later).
    json_ld: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class HtmlDocument:
    """Main text plus metadata of one HTML page."""

    text: str
    meta: HtmlMeta
    #: ``"trafilatura"``, ``"fallback"`` (whole-document text), ``"skipped"`` (text not asked
    #: for), ``"none"`` (nothing parseable) or ``"too_complex"`` (over a bound, see ``problem``).
    method: str
    #: Why the page was not read (``method == "too_complex"``), else ``""``.
    problem: str = ""


def count_prices(text: str) -> int:
    """Number of price mentions in ``text`` (the regex runs only if a currency marker occurs)."""
    if not any(marker in text for marker in _PRICE_MARKERS):
        return 0
    return sum(1 for _ in PRICE_RE.finditer(text))


def parse_html(html: str) -> HtmlElement | None:
    """A tolerant lxml tree, or ``None`` when there is nothing to parse.

    trafilatura's loader rejects fragments and plain text; lxml's own parser takes those.
    """
    for parse in (trafilatura.load_html, lxml.html.document_fromstring):
        try:
            tree = parse(html)
        except Exception:  # lxml raises a zoo of errors on hostile input; none should stop a batch
            continue
        if tree is not None:
            return tree
    return None


def extract_document(
    html: str, need_text: bool = True, with_prices: bool = True, limits: Limits | None = None
) -> HtmlDocument:
    """Main text and metadata of ``html``; never raises, and bounded by ``limits`` (see above).

    Bulk callers skip the costly parts they do not need: ``need_text=False`` skips trafilatura
    when the text is known (the document's text is then empty), ``with_prices=False`` leaves
    ``meta.n_price_mentions`` as ``None``.
    """
    limits = limits or _LIMITS
    t0 = time.thread_time()
    max_bytes = limits.max_html_bytes
    over = len(html) > max_bytes or (
        len(html) * 4 > max_bytes and len(html.encode("utf-8", "replace")) > max_bytes
    )
    if over:
        return _too_complex(f"html exceeds {limits.max_html_bytes:,} bytes")
    if html.count("<") > _TAGS_PER_ELEMENT * limits.max_html_elements:  # C-speed, before parsing
        return _too_complex(f"html has more than {limits.max_html_elements:,} elements (by its tags)")
    tree = parse_html(html)
    if tree is None:
        return HtmlDocument(text="", meta=HtmlMeta(), method="none")
    elements, problem = html_complexity(tree, limits)
    spent = time.thread_time() - t0
    if not problem and spent > limits.html_cpu_budget_s / 2:
        problem = f"parsing alone took {spent:.2f} s of CPU (budget {limits.html_cpu_budget_s} s)"
    if problem:
        return _too_complex(problem)
    visible = visible_text(tree) if with_prices else None
    meta = extract_meta(tree, visible)
    if not need_text:
        return HtmlDocument(text="", meta=meta, method="skipped")
    text = _trafilatura_text(tree) if elements <= limits.max_extract_elements else ""
    if text:
        return HtmlDocument(text=text, meta=meta, method="trafilatura")
    return HtmlDocument(text=visible or visible_text(tree), meta=meta, method="fallback")


def html_complexity(tree: HtmlElement, limits: Limits) -> tuple[int, str]:
    """``(elements, problem)``: the tree's element count, and why it is over a bound (or ``""``).

    Stops counting at the first bound crossed, so the cost is capped too.
    """
    depth = elements = 0
    try:
        for event, _ in lxml.etree.iterwalk(tree, events=("start", "end")):
            if event == "end":
                depth -= 1
                continue
            depth += 1
            elements += 1
            if depth > limits.max_html_depth:
                return elements, f"html nested more than {limits.max_html_depth} elements deep"
            if elements > limits.max_html_elements:
                return elements, f"html has more than {limits.max_html_elements:,} elements"
    except Exception as exc:  # an odd tree lxml built but cannot walk
        return elements, f"html cannot be walked: {type(exc).__name__}"
    return elements, ""


def _too_complex(problem: str) -> HtmlDocument:
    return HtmlDocument(text="", meta=HtmlMeta(), method="too_complex", problem=problem)


def extract_meta(tree: HtmlElement, visible: str | None = None) -> HtmlMeta:
    """Title, description, site name, structure counts and JSON-LD blocks of a parsed page.

    Prices are counted in ``visible`` (the page's :func:`visible_text`) when given.
    """
    try:
        return HtmlMeta(
            title=_first_text(tree, _TITLE_XPATHS),
            description=_first_text(tree, _DESCRIPTION_XPATHS),
            og_site_name=_first_text(tree, ['//meta[@property="og:site_name"]/@content']),
            n_links=_count(tree, "//a[@href]"),
            n_images=_count(tree, "//img"),
            n_forms=_count(tree, "//form"),
            n_price_mentions=None if visible is None else count_prices(visible),
            json_ld=tuple(s.text.strip() for s in tree.xpath(_JSON_LD_XPATH) if s.text and s.text.strip()),
        )
    except Exception:  # a tree lxml built can still trip xpath on odd nodes; degrade to empty
        return HtmlMeta()


def visible_text(tree: HtmlElement) -> str:
    """Text outside scripts, styles and ``<head>``, whitespace-collapsed, one text node per line."""
    try:
        chunks = (" ".join(t.split()) for t in tree.xpath(_VISIBLE_TEXT_XPATH))
        return "\n".join(c for c in chunks if c)
    except Exception:
        return ""


def _trafilatura_text(tree: HtmlElement) -> str:
    try:
        text = trafilatura.extract(tree, options=_EXTRACTOR)
    except Exception:
        return ""
    return (text or "").strip()


def _first_text(tree: HtmlElement, xpaths: list[str]) -> str | None:
    for xp in xpaths:
        for hit in tree.xpath(xp):
            value = _clean(hit if isinstance(hit, str) else hit.text_content())
            if value:
                return value
    return None


def _count(tree: HtmlElement, xpath: str) -> int:
    return int(tree.xpath(f"count({xpath})"))


def _clean(value: str) -> str:
    return " ".join(str(value).split())
