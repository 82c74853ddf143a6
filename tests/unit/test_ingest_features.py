"""Page features: domain parts from the bundled public suffix list, counts, stable dtypes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beambell_assets.ingest.features import (
    DATE_PATTERN,
    FEATURE_COLUMNS,
    FEATURE_SCHEMA,
    build_page_features,
    count_matches,
    split_host,
    url_parts,
)
from beambell_assets.ingest.html_text import PRICE_PATTERN, count_prices


@pytest.mark.parametrize(
    ("host", "registered", "suffix"),
    [
        ("bbc.co.uk", "bbc.co.uk", "co.uk"),
        ("news.bbc.co.uk", "bbc.co.uk", "co.uk"),
        ("foo.gov.uk", "foo.gov.uk", "gov.uk"),
        ("www.cs.ox.ac.uk", "ox.ac.uk", "ac.uk"),
        ("shop.example.com", "example.com", "com"),
        ("data.nasa.gov", "nasa.gov", "gov"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de", "de"),
        ("www.xn--80ak6aa92e.xn--p1ai", "xn--80ak6aa92e.xn--p1ai", "xn--p1ai"),
        ("192.168.0.10", "192.168.0.10", ""),
        ("::1", "::1", ""),
        ("localhost", "localhost", ""),
        ("", "", ""),
    ],
)
def test_split_host_is_public_suffix_aware(host: str, registered: str, suffix: str) -> None:
    assert split_host(host) == (registered, suffix)


@pytest.mark.parametrize(
    ("url", "host", "path"),
    [
        ("https://News.BBC.co.uk:8443/Sport/Football?Team=X", "news.bbc.co.uk", "/sport/football?team=x"),
        ("http://192.168.0.10:8080", "192.168.0.10", "/"),
        ("http://[::1]/a", "::1", "/a"),
        ("https://example.com./x", "example.com", "/x"),
        ("not a url", "", "not a url"),
    ],
)
def test_url_parts(url: str, host: str, path: str) -> None:
    assert url_parts(url) == (host, path)


def test_suffix_list_needs_no_network_and_writes_no_cache(tmp_path: Path) -> None:
    """In a fresh interpreter with sockets disabled and an empty home, the split still works."""
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise RuntimeError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from beambell_assets.ingest.features import split_host
        assert split_host("news.bbc.co.uk") == ("bbc.co.uk", "co.uk")
        assert split_host("foo.gov.uk") == ("foo.gov.uk", "gov.uk")
        """
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    env.pop("TLDEXTRACT_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert not any(home.rglob("*")), "tldextract wrote a cache"


def raw_pages() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "page_id": ["a", "b", "c"],
            "partition_key": ["p", "p", "p"],
            "url": ["https://news.bbc.co.uk/Sport?x=1", "https://foo.gov.uk/", "http://10.0.0.1:8080/status"],
            "title": ["Big  match\ntonight", None, "Status"],
            "text": [
                "Tickets  from £25 on 3 March 2026,\n\n kick-off 19:45.",
                "Apply for a permit.",
                "Служба работает",
            ],
            "html": ["<p>x</p>", None, ""],
            "description": ["Sport news", None, None],
            "og_site_name": ["BBC", None, None],
            "n_links": [12.0, np.nan, np.nan],
            "n_images": [3.0, np.nan, np.nan],
            "n_forms": [0.0, np.nan, np.nan],
            "label": [None, "Law and Government", None],
        },
        index=[10, 11, 12],
    )


def test_feature_frame_has_the_documented_columns_and_dtypes() -> None:
    feats = build_page_features(raw_pages())
    assert tuple(feats.columns) == FEATURE_COLUMNS
    assert {c: str(t) for c, t in feats.dtypes.items()} == FEATURE_SCHEMA
    assert feats.index.tolist() == [10, 11, 12]
    empty = build_page_features(raw_pages().iloc[:0])
    assert len(empty) == 0 and {c: str(t) for c, t in empty.dtypes.items()} == FEATURE_SCHEMA


def test_feature_values() -> None:
    f = build_page_features(raw_pages()).reset_index(drop=True)
    assert f["domain"].tolist() == ["news.bbc.co.uk", "foo.gov.uk", "10.0.0.1"]
    assert f["registered_domain"].tolist() == ["bbc.co.uk", "foo.gov.uk", "10.0.0.1"]
    assert f["tld"].tolist() == ["co.uk", "gov.uk", ""]
    assert f["url_path"].tolist() == ["/sport?x=1", "/", "/status"]
    assert f.loc[0, "text"] == "Tickets from £25 on 3 March 2026, kick-off 19:45."
    assert f.loc[0, "title"] == "Big match tonight" and f.loc[1, "title"] == ""
    assert f["text_len"].tolist() == [len(t) for t in f["text"]]
    assert f["n_tokens"].tolist() == [9, 4, 2]
    assert f["n_price_mentions"].tolist() == [1, 0, 0]
    assert f["n_date_mentions"].tolist() == [1, 0, 0]
    assert f["has_html"].tolist() == [1, 0, 0]
    assert f.loc[0, "n_links"] == 12.0 and np.isnan(f.loc[1, "n_links"])
    assert f.loc[2, "ascii_ratio"] < 0.2 and f.loc[1, "ascii_ratio"] == 1.0
    assert f.loc[1, "label"] == "Law and Government" and pd.isna(f.loc[0, "label"])


def test_missing_optional_columns_read_as_empty() -> None:
    f = build_page_features(pd.DataFrame({"url": ["https://example.com/"], "text": ["hello world"]}))
    assert f.loc[0, "description"] == "" and np.isnan(f.loc[0, "n_forms"]) and f.loc[0, "has_html"] == 0


DATES_AND_PRICES = [
    "Posted 2025-11-01, updated Nov 3rd, 2025 and again on 1 November 2025.",
    "Deadline: 01/12/2025 or 1/12/25 or 1.12.2025; festival in March 2026.",
    "Version 1.12.10 ships; you may 2 or 3 days; 12:30; the 4th of July",
    "$12.99, £5, 12,00 €, USD 30, US$ 4, 1.234,56 € but not 2024 or $TOKEN",
    "",
]


@pytest.mark.parametrize("text", DATES_AND_PRICES)
def test_vectorised_counts_match_python_re(text: str) -> None:
    """RE2 (pyarrow) and Python ``re`` agree on these patterns, so LFs may use either."""
    assert count_matches([text], DATE_PATTERN)[0] == len(re.findall(DATE_PATTERN, text))
    assert count_matches([text], PRICE_PATTERN)[0] == count_prices(text)


def test_date_and_price_counts() -> None:
    # row 3: "4th of July" counts, and so does "may 2" (a known false positive); versions do not
    assert count_matches(DATES_AND_PRICES, DATE_PATTERN).tolist() == [3, 4, 2, 0, 0]
    assert count_matches(DATES_AND_PRICES, PRICE_PATTERN).tolist() == [0, 0, 0, 6, 0]
