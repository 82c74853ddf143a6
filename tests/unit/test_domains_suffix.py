"""Site keys along the Public Suffix List: bundled snapshot only, never the network."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from beambell_assets.domains.suffix import host_of, parse_url, site_key, split_host


@pytest.mark.parametrize(
    ("url", "site", "suffix", "sub"),
    [
        ("https://www.bbc.co.uk/news/uk", "bbc.co.uk", "co.uk", "www"),
        ("http://a.b.c.deep.example.com.au/x", "example.com.au", "com.au", "a.b.c.deep"),
        ("HTTPS://WWW.Example.COM:8443/Path", "example.com", "com", "www"),
        ("http://example.com./", "example.com", "com", ""),
        ("https://alice.github.io/blog", "alice.github.io", "github.io", ""),
        ("https://foo.blogspot.com/2024/01/post.html", "foo.blogspot.com", "blogspot.com", ""),
        ("https://x.service.gov.uk/apply", "x.service.gov.uk", "service.gov.uk", ""),
        ("https://www.whitehouse.gov/", "whitehouse.gov", "gov", "www"),
    ],
)
def test_registrable_domain(url: str, site: str, suffix: str, sub: str) -> None:
    parts = parse_url(url)
    assert (parts.registered_domain, parts.public_suffix, parts.subdomain) == (site, suffix, sub)
    assert not parts.is_ip


def test_private_suffix_tenants_are_separate_sites_but_icann_domain_matches_page_features() -> None:
    from beambell_assets.ingest.features import split_host as page_split

    alice, bob = parse_url("https://alice.github.io/"), parse_url("https://bob.github.io/")
    assert alice.registered_domain != bob.registered_domain
    assert alice.is_private_suffix and alice.icann_domain == "github.io"
    assert alice.icann_domain == page_split("alice.github.io")[0]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://192.168.0.1:8080/admin", "192.168.0.1"),
        ("http://[2001:DB8::1]:8080/x", "2001:db8::1"),
        ("http://[::1]/", "::1"),
    ],
)
def test_ip_hosts_are_their_own_site(url: str, host: str) -> None:
    parts = parse_url(url)
    assert parts.is_ip and parts.registered_domain == host and parts.public_suffix == ""


def test_idn_and_punycode_are_one_site() -> None:
    unicode_form = parse_url("https://MÜNCHEN.de/stadt")
    puny_form = parse_url("http://xn--mnchen-3ya.de:80/")
    assert unicode_form.registered_domain == puny_form.registered_domain == "xn--mnchen-3ya.de"
    assert unicode_form.display_domain == "münchen.de"
    cyrillic = parse_url("https://www.пример.рф/")
    assert cyrillic.registered_domain == "xn--e1afmkfd.xn--p1ai" and cyrillic.subdomain == "www"


@pytest.mark.parametrize("bad", ["", "not a url", "http://exa mple.com/", "http://[::1", "http://-bad-.com/"])
def test_unusable_hosts_give_no_site(bad: str) -> None:
    assert site_key(bad) == ""


def test_unknown_suffix_keeps_the_host() -> None:
    assert split_host(host_of("http://localhost:8000/")).registered_domain == "localhost"
    assert parse_url("http://intranet.corp/").public_suffix == ""


def test_works_with_sockets_disabled() -> None:
    """A fresh interpreter where any socket use raises: the bundled snapshot is all it needs."""
    code = textwrap.dedent(
        """
        import socket
        def _no(*a, **k):
            raise RuntimeError("network used")
        socket.socket.connect = _no
        socket.socket.connect_ex = _no
        socket.create_connection = _no
        socket.getaddrinfo = _no
        from beambell_assets.domains.suffix import parse_url
        p = parse_url("https://news.bbc.co.uk/x")
        assert (p.registered_domain, p.public_suffix) == ("bbc.co.uk", "co.uk"), p
        assert parse_url("https://alice.github.io/").registered_domain == "alice.github.io"
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
