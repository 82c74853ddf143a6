"""Organisation names from real-looking pages: JSON-LD, Open Graph, copyright, about, title."""

from __future__ import annotations

import json

from beambell_assets.organisations.extract import (
    copyright_candidates,
    extract_from_text,
    extract_page,
    json_ld_evidence,
    parse_json_ld,
    title_candidates,
)
from beambell_assets.organisations.normalise import clean_display, normalise_name, same_organisation

NEWS_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Floods close ring road as rain continues | Leeds Evening Courier</title>
<meta property="og:site_name" content="Leeds Evening Courier">
<meta property="og:type" content="article">
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "NewsArticle", "headline": "Floods close ring road",
   "author": {"@type": "Person", "name": "Grace Mensah"},
   "publisher": {"@type": "NewsMediaOrganization", "name": "Courier Media Group Ltd",
                 "logo": {"@type": "ImageObject", "url": "https://courier.example/logo.png"}}},
  {"@type": "WebSite", "name": "Leeds Evening Courier", "url": "https://www.leedscourier.co.uk/"}
]}
</script>
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({'page': 'article'});</script>
</head><body><header><nav><a href="/news">News</a><a href="/sport">Sport</a></nav></header>
<main><article><h1>Floods close ring road as rain continues</h1><p>Drivers were told to avoid the area.
</article></main>
<footer><p>&copy; 2019&ndash;2026 Courier Media Group Ltd. All rights reserved.</p>
<a href="/privacy">Privacy</a></footer></body></html>"""


def _names(evidence) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in evidence.candidates:
        out.setdefault(c.source, set()).add(c.name)
    return out


def test_news_page_json_ld_graph_publisher_og_and_copyright() -> None:
    ev = extract_page(NEWS_PAGE, text=None)
    names = _names(ev)
    assert ev.from_html
    assert names["jsonld_organization"] == {"Courier Media Group Ltd"}
    assert names["og_site_name"] == {"Leeds Evening Courier"}
    assert {normalise_name(n) for n in names["copyright"]} == {"courier media group"}
    assert names["title"] == {"Leeds Evening Courier"}
    assert "newsmediaorganization" in ev.schema_types
    assert "Grace Mensah" not in {c.name for c in ev.candidates}  # an article's author is not the org


def test_broken_markup_and_broken_json_ld_still_give_names() -> None:
    html = (
        "<html><head><title>Shop</title>"
        '<meta property="og:site_name" content="Basket &amp; Co">'
        # trailing comma + an HTML comment wrapper: common in the wild
        '<script type="application/ld+json"><!-- {"@type": "OnlineStore", '
        '"name": "Basket Retail Ltd",} --></script>'
        # truncated JSON: only a pattern can read it
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"Corporation",'
        '"legalName":"Basket Holdings plc","address":{"@type":"PostalAddress"'
        "</script></head><body><div><p>Great deals<div><span>unclosed"
        "<footer>Copyright (c) 2024 Basket Retail Ltd"
    )
    ev = extract_page(html, text=None)
    names = _names(ev)
    assert names["og_site_name"] == {"Basket & Co"}
    assert "Basket Retail Ltd" in names["jsonld_organization"]
    assert names["jsonld_fragment"] == {"Basket Holdings plc"}
    assert "Basket Retail Ltd" in names["copyright"]
    assert {"onlinestore", "corporation"} <= set(ev.schema_types)


def test_garbage_never_raises() -> None:
    for junk in [
        "",
        "<<<>>>",
        "\x00\x01binary",
        "<html><script type='application/ld+json'>{{{</script>",
        "<",
    ]:
        ev = extract_page(junk, text="")
        assert isinstance(ev.candidates, tuple)


def test_json_ld_publisher_as_string_and_person_publisher() -> None:
    blocks = [
        json.dumps({"@type": "BlogPosting", "publisher": "Hillside Parish Council"}),
        json.dumps([{"@type": "WebPage", "publisher": {"@type": "Person", "name": "Jane Doe"}}]),
        '{"@type": "GovernmentOrganization", "name": "Lisbon Transport Agency"}'
        '{"@type": "WebSite", "name": "Second object"}',
    ]
    candidates, types = json_ld_evidence(blocks)
    by_source = {(c.source, c.name) for c in candidates}
    assert ("jsonld_publisher", "Hillside Parish Council") in by_source
    assert ("jsonld_person", "Jane Doe") in by_source
    assert ("jsonld_organization", "Lisbon Transport Agency") in by_source
    assert "person" in types and "governmentorganization" in types
    assert len(parse_json_ld(blocks[2])) == 2  # concatenated objects both read


def test_copyright_variants() -> None:
    cases = {
        "© 2026 Horizon Escapes S.L.. All rights reserved.": "Horizon Escapes S.L.",
        "Copyright © 2003-2024 Acme Widgets, Inc. All Rights Reserved": "Acme Widgets, Inc.",
        "(c) Fig & Olive Kitchen Ltd 2021 | Privacy | Terms": "Fig & Olive Kitchen Ltd",
        "copyright 2020 oakridge college trust all rights reserved": "oakridge college trust",
        "© Meridian Capital Partners LLP - Registered in England": "Meridian Capital Partners LLP",
    }
    for text, expected in cases.items():
        assert [c.name for c in copyright_candidates(text)] == [expected], text
    assert copyright_candidates("© 2026. All rights reserved.") == []


def test_title_patterns() -> None:
    assert [c.name for c in title_candidates("Cheap flights to Porto – Wander Getaways")] == [
        "Wander Getaways"
    ]
    assert title_candidates("Just a headline without a site name") == []


def test_text_only_pages_do_what_the_text_allows() -> None:
    text = (
        "Northfield Community Trust is a registered charity supporting families in Leeds. "
        "Donate today. © 2025 Northfield Community Trust. All rights reserved."
    )
    ev = extract_from_text(text, title="Volunteer with us | Northfield Community Trust")
    assert not ev.from_html
    assert {c.source for c in ev.candidates} == {"about", "copyright", "title"}
    assert {normalise_name(c.name) for c in ev.candidates} == {"northfield community trust"}
    assert any("registered charity" in s for s in ev.snippets)
    cleaned = extract_page(None, "travel deal flight hotel booking cheap holiday package")
    assert cleaned.candidates == ()  # lowercased cleaned text holds no names: nothing is invented


def test_normalisation() -> None:
    assert normalise_name("The Horizon Escapes, Ltd.") == "horizon escapes"
    assert normalise_name("Foo GmbH & Co. KG") == "foo"
    assert normalise_name("Acme & Sons Pty. Ltd.") == "acme and sons"
    assert clean_display("Chirp Loop Inc..") == "Chirp Loop Inc."
    assert clean_display("  «Daily Herald».  ") == "Daily Herald"
    assert same_organisation("horizon escapes", "horizon escapes travel group")
    assert same_organisation("horizonescapes", "horizon escapes travel group")
    assert not same_organisation("escapes", "horizon escapes")
