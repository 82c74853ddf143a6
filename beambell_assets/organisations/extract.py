"""Organisation-name candidates on one scraped page, each with where it came from.

Sources, strongest first (``SOURCE_WEIGHTS``): schema.org JSON-LD (an ``Organization`` node or a
page's ``publisher``), the copyright line, ``og:site_name``, "X is a ... company" sentences and
"About X" headings, and the site-name part of the ``<title>``. The domain name itself is added per
site, not per page (see ``records.py``). Broken markup never raises: lxml parses what it can,
JSON-LD is repaired where it is commonly broken (trailing commas, comments, concatenated
objects) and, failing that, read by pattern.

Where only cleaned text exists (no HTML), copyright and "about" lines and the title are what the
text allows; ``PageOrgEvidence.from_html`` says which case a page was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml.html import HtmlElement

from beambell_assets.ingest.html_text import extract_meta, parse_html, visible_text
from beambell_assets.organisations.normalise import clean_display, normalise_name

#: How much one sighting of a name counts, by source.
SOURCE_WEIGHTS: dict[str, float] = {
    "jsonld_organization": 3.0,
    "jsonld_publisher": 3.0,
    "jsonld_fragment": 1.5,
    "jsonld_person": 1.0,
    "copyright": 2.0,
    "og_site_name": 2.0,
    "about": 1.5,
    "application_name": 1.0,
    "title": 0.75,
    "domain": 0.5,
}
#: Sources that give a legal name (preferred for display over a brand or site name).
LEGAL_SOURCES = frozenset({"jsonld_organization", "jsonld_publisher", "jsonld_fragment", "copyright"})

#: schema.org types that are organisations (subtypes included by suffix, see :func:`is_org_type`).
ORG_TYPES = frozenset(
    {
        "organization",
        "corporation",
        "newsmediaorganization",
        "governmentorganization",
        "educationalorganization",
        "collegeoruniversity",
        "school",
        "highschool",
        "middleschool",
        "elementaryschool",
        "preschool",
        "ngo",
        "nonprofitorganization",
        "localbusiness",
        "onlinebusiness",
        "onlinestore",
        "store",
        "restaurant",
        "travelagency",
        "medicalorganization",
        "hospital",
        "library",
        "sportsorganization",
        "sportsteam",
        "airline",
        "consortium",
        "researchorganization",
        "politicalparty",
        "workersunion",
        "performinggroup",
        "fundingscheme",
        "project",
        "searchrescueorganization",
    }
)
_PUBLISHER_KEYS = ("publisher", "sourceOrganization", "copyrightHolder", "provider", "parentOrganization")
_MAX_NAME_CHARS = 100
_MAX_NAME_WORDS = 10
_SNIPPET_CHARS = 300

_YEAR = r"(?:19|20)\d{2}"
_COPYRIGHT_RE = re.compile(
    rf"(?:©|&copy;|\(c\)|\bcopyright\b)(?:\s*(?:©|\(c\)))?\s*"
    rf"(?:{_YEAR}(?:\s*[-–/]\s*(?:{_YEAR}|\d{{2}}|present))?\s*,?\s*)?"
    rf"(?:by\s+)?(?P<name>[^\n|©]{{2,120}}?)"
    rf"(?=\s*(?:all\s+rights\s+reserved|\||\n|\s[-–—]\s|,?\s*{_YEAR}\b|$))",
    re.IGNORECASE,
)
_ABOUT_SENTENCE_RE = re.compile(
    r"(?P<name>(?:[A-Z][\w&'’.-]*|of|and|for|the|de)(?:\s+(?:[A-Z][\w&'’.-]*|of|and|for|the|de)){0,6})"
    r"\s+(?:is|are)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:company|charity|non-?profit|organi[sz]ation|publisher|newspaper|news\s+organi[sz]ation|agency|"
    r"university|college|school|foundation|firm|retailer|provider|start-?up|department|ministry|council|"
    r"business|brand|studio|institute|association|society|trust|network|platform|service)\b"
)
_ABOUT_HEADING_RE = re.compile(
    r"^about\s+(?!us\b|me\b|this\b|our\b|the\s+(?:site|author|blog)\b)(?P<name>.+)$", re.I
)
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»)\s+")
_JSON_COMMENT_RE = re.compile(r"/\*.*?\*/|<!--|-->|//\s*<!\[CDATA\[|//\s*\]\]>|<!\[CDATA\[|\]\]>", re.S)
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")
_FRAGMENT_NAME_RE = re.compile(r'"(?:legalName|name)"\s*:\s*"(?P<name>[^"\\]{2,100})"')
_FRAGMENT_TYPE_RE = re.compile(r'"@type"\s*:\s*\[?\s*"(?P<type>[A-Za-z]+)"')


@dataclass(frozen=True)
class OrgCandidate:
    """One sighting of a possible organisation name."""

    name: str  # as displayed (cleaned)
    source: str  # a key of SOURCE_WEIGHTS

    @property
    def weight(self) -> float:
        return SOURCE_WEIGHTS[self.source]

    @property
    def key(self) -> str:
        return normalise_name(self.name)


@dataclass(frozen=True)
class PageOrgEvidence:
    """What one page says about the organisation behind it."""

    candidates: tuple[OrgCandidate, ...] = ()
    schema_types: tuple[str, ...] = ()  # schema.org types of organisation/person nodes, lowercase
    snippets: tuple[str, ...] = ()  # short lines worth reading for the org type (copyright, about...)
    from_html: bool = False


def is_org_type(schema_type: str) -> bool:
    t = schema_type.lower()
    return t in ORG_TYPES or t.endswith(("organization", "business", "store"))


def plausible_name(name: str) -> bool:
    """Short, has letters, is not a sentence or a bare year/url."""
    if not name or len(name) > _MAX_NAME_CHARS or len(name.split()) > _MAX_NAME_WORDS:
        return False
    if not re.search(r"[^\W\d_]", name) or re.match(r"^(?:https?://|www\.)", name, re.I):
        return False
    return normalise_name(name) not in {"", "all rights reserved", "home", "index", "welcome", "about us"}


def _candidate(name: Any, source: str) -> OrgCandidate | None:
    if not isinstance(name, str):
        return None
    shown = clean_display(name)
    return OrgCandidate(shown, source) if plausible_name(shown) else None


# --------------------------------------------------------------------------- JSON-LD


def parse_json_ld(block: str) -> list[Any]:
    """The JSON values in one ``ld+json`` block, repairing common breakage; [] when unreadable."""
    text = _JSON_COMMENT_RE.sub("", block).strip().rstrip(";")
    for attempt in (text, _TRAILING_COMMA_RE.sub(r"\1", text)):
        values = _decode_all(attempt)
        if values:
            return values
    return []


def _decode_all(text: str) -> list[Any]:
    """Every JSON value in ``text`` (scrapers concatenate objects); stops at the first bad one."""
    decoder, values, i = json.JSONDecoder(strict=False), [], 0
    while i < len(text):
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text):
            break
        try:
            value, i = decoder.raw_decode(text, i)
        except ValueError:
            return values
        values.append(value)
    return values


def _types(node: dict[str, Any]) -> list[str]:
    raw = node.get("@type", [])
    items = raw if isinstance(raw, list) else [raw]
    return [str(t).rsplit("/", 1)[-1] for t in items if isinstance(t, str)]


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a JSON-LD value, depth first (``@graph`` and nested values included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(item)


def json_ld_evidence(blocks: tuple[str, ...] | list[str]) -> tuple[list[OrgCandidate], list[str]]:
    """Candidates and organisation/person types from a page's JSON-LD blocks."""
    candidates: list[OrgCandidate] = []
    types: list[str] = []
    for block in blocks:
        values = parse_json_ld(block)
        if not values:
            candidates.extend(_fragment_candidates(block, types))
            continue
        for node in _nodes(values):
            node_types = _types(node)
            org_types = [t for t in node_types if is_org_type(t)]
            if org_types:
                types.extend(t.lower() for t in org_types)
                c = _candidate(node.get("legalName") or node.get("name"), "jsonld_organization")
                candidates.extend([c] if c else [])
            for key in (*_PUBLISHER_KEYS, "author"):
                for ref in node.get(key) if isinstance(node.get(key), list) else [node.get(key)]:
                    candidates.extend(_publisher_candidate(ref, key, types))
    return candidates, types


def _publisher_candidate(ref: Any, key: str, types: list[str]) -> list[OrgCandidate]:
    """A page's publisher (an org unless typed otherwise); an author only when typed an org."""
    if isinstance(ref, str):
        return [] if key == "author" else [c for c in [_candidate(ref, "jsonld_publisher")] if c]
    if not isinstance(ref, dict):
        return []
    ref_types = _types(ref)
    if any(t.lower() == "person" for t in ref_types):
        if key == "author":
            return []
        types.append("person")
        c = _candidate(ref.get("name"), "jsonld_person")
        return [c] if c else []
    if any(is_org_type(t) for t in ref_types):
        return []  # already counted as an organisation node by the walk
    if key == "author":
        return []
    c = _candidate(ref.get("legalName") or ref.get("name"), "jsonld_publisher")
    return [c] if c else []


def _fragment_candidates(block: str, types: list[str]) -> list[OrgCandidate]:
    """Unparseable JSON-LD: a name next to an organisation ``@type`` is still evidence (weaker)."""
    found = [m.group("type") for m in _FRAGMENT_TYPE_RE.finditer(block)]
    org_types = [t.lower() for t in found if is_org_type(t)]
    if not org_types:
        return []
    types.extend(org_types)
    names = [
        c for m in _FRAGMENT_NAME_RE.finditer(block) if (c := _candidate(m.group("name"), "jsonld_fragment"))
    ]
    return names[:2]


# --------------------------------------------------------------------------- text patterns


def copyright_candidates(text: str) -> list[OrgCandidate]:
    """Names from copyright lines: ``© 2026 Foo Media Ltd. All rights reserved.``."""
    out = []
    for m in _COPYRIGHT_RE.finditer(text[-20_000:] if len(text) > 20_000 else text):
        name = re.sub(rf"\s*,?\s*{_YEAR}(?:\s*[-–]\s*{_YEAR})?\s*$", "", m.group("name"))
        c = _candidate(name, "copyright")
        if c is not None:
            out.append(c)
    return out


def about_candidates(text: str, headings: list[str] | None = None) -> list[OrgCandidate]:
    """Names from "Foo Ltd is a ... company" sentences and "About Foo" headings."""
    out = [
        c for m in _ABOUT_SENTENCE_RE.finditer(text[:50_000]) if (c := _candidate(m.group("name"), "about"))
    ]
    for heading in headings or []:
        m = _ABOUT_HEADING_RE.match(" ".join(heading.split()))
        if m and (c := _candidate(m.group("name"), "about")):
            out.append(c)
    return out


def title_candidates(title: str) -> list[OrgCandidate]:
    """The site-name part of ``"Article title | Site Name"``: the last part.

    Sites that put their name first (``"Site | Article"``) still win across pages, because the
    name is the part that repeats; per page a title is weak evidence (``SOURCE_WEIGHTS``).
    """
    parts = [p for p in _TITLE_SEPARATORS.split(" ".join((title or "").split())) if p]
    if len(parts) < 2:
        return []
    c = _candidate(parts[-1], "title")
    return [c] if c else []


def _snippets(text: str, candidates: list[OrgCandidate]) -> list[str]:
    """Copyright and "is a ..." lines: short text the org-type LFs can read."""
    lines = []
    for pattern in (_COPYRIGHT_RE, _ABOUT_SENTENCE_RE):
        for m in pattern.finditer(text[:50_000]):
            start = max(0, m.start() - 80)
            lines.append(" ".join(text[start : m.end() + 120].split())[:_SNIPPET_CHARS])
            if len(lines) >= 4:
                return lines
    return lines


# --------------------------------------------------------------------------- one page


def extract_from_html(html: str, title: str = "") -> PageOrgEvidence:
    """Candidates from a page's HTML (JSON-LD, meta tags, copyright/about text, title)."""
    tree = parse_html(html) if html else None
    if tree is None:
        return PageOrgEvidence(from_html=False)
    meta = extract_meta(tree)
    visible = visible_text(tree)
    candidates, types = json_ld_evidence(meta.json_ld)
    for name, source in (
        (meta.og_site_name, "og_site_name"),
        (_meta_content(tree, "application-name"), "application_name"),
    ):
        if (c := _candidate(name, source)) is not None:
            candidates.append(c)
    candidates += copyright_candidates(visible)
    candidates += about_candidates(visible, _headings(tree))
    candidates += title_candidates(title or meta.title or "")
    snippets = [s for s in (meta.description or "",) if s][:1] + _snippets(visible, candidates)
    return PageOrgEvidence(tuple(candidates), tuple(types), tuple(snippets), from_html=True)


def extract_from_text(text: str, title: str = "") -> PageOrgEvidence:
    """What cleaned text allows: copyright and "about" lines, and the title's site-name part."""
    text = text or ""
    candidates = copyright_candidates(text) + about_candidates(text) + title_candidates(title)
    return PageOrgEvidence(tuple(candidates), (), tuple(_snippets(text, candidates)), from_html=False)


def extract_page(html: str | None, text: str | None, title: str | None = None) -> PageOrgEvidence:
    """HTML when the scrape kept it, else the text."""
    if html and html.strip():
        evidence = extract_from_html(html, title or "")
        if evidence.from_html:
            return evidence
    return extract_from_text(text or "", title or "")


def _meta_content(tree: HtmlElement, name: str) -> str | None:
    try:
        hits = tree.xpath(f'//meta[@name="{name}"]/@content')
    except Exception:
        return None
    return str(hits[0]) if hits else None


def _headings(tree: HtmlElement) -> list[str]:
    try:
        return [h.text_content() for h in tree.xpath("//h1|//h2|//h3")][:30]
    except Exception:
        return []
