"""HTML -> text and metadata, on messy and broken markup."""

from __future__ import annotations

import pytest

from beambell_assets.ingest.html_text import count_prices, extract_document

MESSY = """<!DOCTYPE html><HTML><head>
<title> Deals  &amp; Offers </title>
<META NAME="Description" content="Cheap gadgets, shipped fast">
<meta property="og:site_name" content="GadgetCo">
<script type="application/ld+json">{"@type": "Organization", "name": "GadgetCo Ltd"}</script>
<style>.price { color: red } /* $999 */</style>
<script>var tracking = "$500";</script>
</head><body>
<nav><a href="/">Home</a> <a href="/cart">Basket</a><a>no href</a></nav>
<div id="cookie">We use cookies. <button>Accept</button></div>
<main><h1>Wireless headphones</h1>
<p>Now only $49.99 (was £60) — or 45,00 € in the EU, USD 55 elsewhere.
<p>Unclosed paragraph with <b>bold <i>nested</b> tags and an <img src=a.png> image.
<!-- a comment with $1,000 that nobody sees -->
<form action="/cart/add"><input name="qty"><button>Add to basket</button></form>
<div><div><span>deep</span>
</body>"""


def test_messy_markup_gives_text_and_metadata() -> None:
    doc = extract_document(MESSY)
    assert "Now only $49.99" in doc.text
    assert "tracking" not in doc.text and "color: red" not in doc.text
    assert "nobody sees" not in doc.text
    meta = doc.meta
    assert meta.title == "Deals & Offers"
    assert meta.description == "Cheap gadgets, shipped fast"
    assert meta.og_site_name == "GadgetCo"
    assert (meta.n_links, meta.n_images, meta.n_forms) == (2, 1, 1)
    assert meta.n_price_mentions == 4  # script, style and comment prices are not visible
    assert meta.json_ld == ('{"@type": "Organization", "name": "GadgetCo Ltd"}',)


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html",
        "<<<>>>",
        "\x00\x01\x02",
        "</p></div></body>",
        "<p>" * 3000,
        "<?xml version='1.0'?><x/>",
        "<html><body>" + "<div>" * 500 + "deep" + "</div>" * 10,
    ],
    ids=["empty", "blank", "open-tag", "brackets", "control", "closers", "many-p", "xml", "deep-nesting"],
)
def test_broken_input_never_raises(html: str) -> None:
    doc = extract_document(html)
    assert isinstance(doc.text, str)
    assert doc.method in {"trafilatura", "fallback", "none", "too_complex"}
    assert (doc.method == "too_complex") == bool(doc.problem)  # a bound crossed says which


def test_fragments_and_plain_text_are_read() -> None:
    assert extract_document("<p>only a fragment paragraph</p>").text == "only a fragment paragraph"
    assert extract_document("plain text without any tags").text == "plain text without any tags"


def test_falls_back_to_visible_text_when_trafilatura_finds_nothing() -> None:
    doc = extract_document(
        "<html><body><footer>© 2025 Example Org Ltd. All rights reserved.</footer></body></html>"
    )
    assert doc.method == "fallback"
    assert doc.text == "© 2025 Example Org Ltd. All rights reserved."


def test_bulk_callers_can_skip_the_costly_parts() -> None:
    doc = extract_document(MESSY, need_text=False, with_prices=False)
    assert doc.text == "" and doc.method == "skipped"
    assert doc.meta.n_price_mentions is None
    assert doc.meta.title == "Deals & Offers" and doc.meta.n_forms == 1


def test_title_falls_back_to_og_title_then_h1() -> None:
    og = '<html><head><meta property="og:title" content="From OG"></head><body><h1>H</h1></body></html>'
    assert extract_document(og).meta.title == "From OG"
    assert (
        extract_document("<html><body><h1>Heading  one</h1><p>x</p></body></html>").meta.title
        == "Heading one"
    )


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("$12.99", 1),
        ("£5 and 12,00 € and USD 30", 3),
        ("1,299.00 USD or US$ 4 or ¥1200 or ₹ 499", 4),
        ("1.234,56 € per year", 1),
        ("In 2024 we sold 300 units to 12 people", 0),
        ("$TOKEN and EURO and USDA", 0),
    ],
)
def test_count_prices(text: str, n: int) -> None:
    assert count_prices(text) == n
