"""Sites, urls, page texts and HTML of the sample scrape, drawn from :mod:`.vocabulary`.

All randomness flows from the one seeded generator a :class:`Writer` holds, so the order of
draws is the output: same seed, same bytes, and a reordered call changes everything after it.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from beambell_assets.demo.vocabulary import (
    BY_NAME,
    CATEGORIES,
    CATEGORY_SPECS,
    COOKIE,
    CURRENCY,
    FOREIGN_GENERIC,
    GENERIC,
    PLACES,
    SHORT,
    SLOT_WORDS,
    Category,
)

_SLOT_RE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Site:
    host: str
    org: str
    site_name: str
    category: str


class Writer:
    """Random text for one sample run; all randomness flows from one seeded generator."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.serial = 0
        self.used_urls: set[str] = set()
        self.used_hosts: set[str] = set()
        self.sites = {c.name: [self._site(c) for _ in range(6)] for c in CATEGORY_SPECS}
        self._computed: dict[str, Callable[[Category, Site | None], str]] = {
            "n": lambda cat, site: str(rnd.randint(1, 9)),
            "price": lambda cat, site: self.price(),
            "date": lambda cat, site: self.date_text(),
            "yyyy": lambda cat, site: str(rnd.randint(2019, 2026)),
            "mm": lambda cat, site: f"{rnd.randint(1, 12):02d}",
            "dd": lambda cat, site: f"{rnd.randint(1, 28):02d}",
            "slug": lambda cat, site: self.slug(cat),
            "org": lambda cat, site: site.org if site else rnd.choice(cat.brand),
            "site": lambda cat, site: site.site_name if site else rnd.choice(cat.brand),
        }

    # ------------------------------------------------------------------ slots and sentences
    def fill(self, template: str, cat: Category, site: Site | None = None) -> str:
        return _SLOT_RE.sub(lambda m: self._slot(m.group(1), cat, site), template)

    def _slot(self, name: str, cat: Category, site: Site | None) -> str:
        if name in self._computed:
            return self._computed[name](cat, site)
        pool = {"noun": cat.noun, "adj": cat.adj, "verb": cat.verb}.get(name) or SLOT_WORDS[name]
        return self.rnd.choice(pool)

    def next_id(self) -> str:
        """The scraper's own record id (bad rows get ordinary ids too: nothing gives them away)."""
        self.serial += 1
        return f"s{self.serial:06d}"

    def price(self) -> str:
        fmt, decimal = self.rnd.choice(CURRENCY)
        amount = f"{self.rnd.randint(3, 899)}{decimal}{self.rnd.choice(['00', '99', '50', '49'])}"
        return fmt.format(amount if self.rnd.random() < 0.8 else amount.split(decimal)[0])

    def date_text(self) -> str:
        d = datetime(2025, 1, 1) + timedelta(days=self.rnd.randint(0, 700))
        return self.rnd.choice([d.strftime("%d %B %Y"), d.strftime("%B %d, %Y"), d.strftime("%Y-%m-%d")])

    def slug(self, cat: Category) -> str:
        words = re.findall(r"[a-z0-9]+", f"{self.rnd.choice(cat.noun)} {self.rnd.choice(cat.adj)}".lower())
        return "-".join(words[:4])

    def sentence(self, cat: Category, site: Site) -> str:
        roll = self.rnd.random()
        template = self.rnd.choice(GENERIC if roll < 0.08 else cat.sentences)
        text = self.fill(template, cat, site)
        return text[0].upper() + text[1:]

    def foreign_sentence(self, cat: Category, lang: str) -> str:
        template = self.rnd.choice(FOREIGN_GENERIC[lang])
        keywords = cat.foreign.get(lang) or cat.noun
        return _SLOT_RE.sub(lambda _: self.rnd.choice(keywords), template)

    # ------------------------------------------------------------------ sites
    def _site(self, cat: Category) -> Site:
        """A site of ``cat`` whose host no other site has (one host, one organisation)."""
        while (site := self._draw_site(cat)).host in self.used_hosts:
            pass
        self.used_hosts.add(site.host)
        return site

    def _draw_site(self, cat: Category) -> Site:
        rnd = self.rnd
        brand, tail = rnd.choice(cat.brand), rnd.choice(cat.brand_tail)
        if cat.name == "Education" and tail == "University" and rnd.random() < 0.5:
            site_name = f"University of {rnd.choice(PLACES)}"
        elif cat.name == "Law and Government":
            site_name = f"{rnd.choice(PLACES)} {brand} {tail}"
        else:
            site_name = f"{brand} {tail}"
        label = re.sub(r"[^a-z0-9]+", "", site_name.lower().replace("university of ", "uni"))
        host = f"{rnd.choice(cat.subdomains)}.{label}.{rnd.choice(cat.tlds)}"
        return Site(
            host=host, org=f"{site_name} {rnd.choice(cat.org_form)}", site_name=site_name, category=cat.name
        )

    def url(self, site: Site, cat: Category) -> str:
        self.serial += 1
        path = self.fill(self.rnd.choice(cat.paths), cat, site)
        if path == "/" or self.rnd.random() < 0.3:
            path = f"{path.rstrip('/')}/{self.serial}" if "?" not in path else f"{path}&i={self.serial}"
        if f"{site.host}{path}" in self.used_urls:  # fixed paths like /cart repeat: keep urls unique
            path = f"{path}?ref={self.serial}" if "?" not in path else f"{path}&ref={self.serial}"
        self.used_urls.add(f"{site.host}{path}")
        scheme = "http" if self.rnd.random() < 0.1 else "https"
        return f"{scheme}://{site.host}{path}"


# ---------------------------------------------------------------------------- page content


@dataclass
class Page:
    url: str
    label: str
    title: str
    description: str
    paragraphs: list[str]
    site: Site
    lang: str = "en"


def make_page(w: Writer, cat: Category) -> Page:
    rnd = w.rnd
    site = rnd.choice(w.sites[cat.name])
    url = w.url(site, cat)
    title = w.fill(rnd.choice(cat.titles), cat, site)
    title = title[0].upper() + title[1:]
    description = " ".join(w.sentence(cat, site) for _ in range(rnd.randint(1, 2)))
    kind = rnd.random()
    if kind < 0.08:
        # short pages carry a request id, as real error pages do, so they are not duplicates
        paragraphs = [f"{w.fill(rnd.choice(SHORT), cat, site)} (ref {rnd.getrandbits(32):08x})"]
        return Page(url, cat.name, title, description, paragraphs, site)
    n_words = _draw_length(rnd)
    other = BY_NAME[rnd.choice([c for c in CATEGORIES if c != cat.name])] if kind > 0.85 else None
    lang = rnd.choice(("de", "fr", "es")) if 0.08 <= kind < 0.15 else "en"
    paragraphs = _paragraphs(w, cat, site, n_words, other, lang)
    return Page(url, cat.name, title, description, paragraphs, site, lang)


def _draw_length(rnd: random.Random) -> int:
    """50-1,500 words, most pages a few hundred (log-uniform)."""
    return int(math.exp(rnd.uniform(math.log(50), math.log(1500))))


def _paragraphs(
    w: Writer, cat: Category, site: Site, n_words: int, other: Category | None, lang: str
) -> list[str]:
    rnd, paragraphs, words = w.rnd, [], 0
    while words < n_words:
        sentences = []
        for _ in range(rnd.randint(2, 6)):
            if lang != "en" and rnd.random() < 0.4:
                sentences.append(w.foreign_sentence(cat, lang))
            elif other is not None and rnd.random() < 0.3:
                sentences.append(w.sentence(other, site))
            else:
                sentences.append(w.sentence(cat, site))
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        words += paragraph.count(" ") + 1
    return paragraphs


def page_text(w: Writer, page: Page, cat: Category) -> str:
    """What a scraper's own text extraction gives: the body, sometimes with menu and cookie noise."""
    parts = list(page.paragraphs)
    if w.rnd.random() < 0.3:
        parts.insert(0, " ".join(cat.menu))
    if w.rnd.random() < 0.2:
        parts.append(w.rnd.choice(COOKIE))
    return "\n\n".join(parts)


def page_html(w: Writer, page: Page, cat: Category, year: int) -> str:
    rnd, site = w.rnd, page.site
    head = [
        f"<title>{escape(page.title)}</title>",
        f'<meta name="description" content="{escape(page.description)}">',
    ]
    if rnd.random() < 0.7:
        head.append(f'<meta property="og:site_name" content="{escape(site.site_name)}">')
    if rnd.random() < 0.5:
        head.append(f'<script type="application/ld+json">{_json_ld(page, cat, rnd)}</script>')
    tracker = f"dataLayer.push({{'page':'{rnd.randint(1, 999)}'}});"
    head.append(f"<script>window.dataLayer=window.dataLayer||[];{tracker}</script>")
    menu = "".join(f'<li><a href="/{slugify(m)}">{m}</a></li>' for m in cat.menu)
    body = [
        f'<div class="cookie-banner"><p>{rnd.choice(COOKIE)}</p><button>Accept all</button>'
        "<button>Manage preferences</button></div>"
        if rnd.random() < 0.4
        else "",
        f'<header><a class="logo" href="/"><img src="/logo.svg" alt="{escape(site.site_name)}"></a>'
        f"<nav><ul>{menu}</ul></nav></header>",
        f"<main><article><h1>{escape(page.title)}</h1>",
        w.fill(cat.widget, cat, site) if rnd.random() < 0.8 else "",
        *(f"<p>{escape(p)}" + ("" if rnd.random() < 0.1 else "</p>") for p in page.paragraphs),
        "</article></main>",
        f'<footer><p>© {year} {escape(site.org)}. All rights reserved.</p><a href="/privacy">Privacy</a> '
        '<a href="/terms">Terms</a> <a href="/contact">Contact</a></footer>',
    ]
    doc = (
        f'<!DOCTYPE html><html lang="{page.lang}"><head><meta charset="utf-8">{"".join(head)}</head>'
        f'<body class="page-{rnd.randint(1, 99)}">{"".join(body)}'
        f'<script src="/static/app.{rnd.getrandbits(32):08x}.js"></script></body></html>'
    )
    if rnd.random() < 0.05:  # a truncated download: the markup simply stops
        doc = doc[: int(len(doc) * rnd.uniform(0.7, 0.95))]
    return doc


def _json_ld(page: Page, cat: Category, rnd: random.Random) -> str:
    org = {"@type": cat.schema_type, "name": page.site.org, "url": f"https://{page.site.host}/"}
    if rnd.random() < 0.5:
        org["logo"] = f"https://{page.site.host}/logo.png"
    if rnd.random() < 0.5:
        doc = {"@context": "https://schema.org", "@type": "WebPage", "name": page.title, "publisher": org}
    else:
        doc = {"@context": "https://schema.org", **org}
    return json.dumps(doc, ensure_ascii=False)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
