"""Which *site* a url belongs to: its registrable domain under the Public Suffix List.

The site key uses the PSL snapshot bundled with tldextract, ICANN **and** private sections, so a
hosted tenant is its own site (``alice.github.io``, ``foo.blogspot.com``, ``x.service.gov.uk``):
two blogs on one platform are run by different people. ``page_features.registered_domain`` uses
the ICANN section only; ``icann_domain`` here gives that value too, so the two can be joined.

Hosts are canonicalised before lookup (lowercase, no port, no trailing dot, IDN as punycode), so
``MÜNCHEN.de``, ``münchen.de:443`` and ``xn--mnchen-3ya.de`` are one site. IPs are their own site.
No network, ever: the extractor is given no suffix-list urls and no cache directory.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import idna
import tldextract


@dataclass(frozen=True)
class HostParts:
    """A host split along the Public Suffix List."""

    host: str  # canonical host: lowercase ASCII (punycode), no port, no trailing dot
    registered_domain: str  # site key (PSL with private section); the host itself for IPs/unknowns
    public_suffix: str  # e.g. "co.uk", "github.io"; "" for IPs and unknown suffixes
    subdomain: str  # e.g. "www", "a.b"; "" when none
    icann_domain: str  # registrable domain under the ICANN section only (page_features' value)
    is_ip: bool = False
    is_private_suffix: bool = False  # a hosted platform's tenant (github.io, blogspot.com, ...)

    @property
    def tld(self) -> str:
        """The last label of the public suffix (``uk`` for ``co.uk``)."""
        return self.public_suffix.rsplit(".", 1)[-1] if self.public_suffix else ""

    @property
    def display_domain(self) -> str:
        """The site key as people read it (punycode decoded)."""
        return to_unicode(self.registered_domain)


EMPTY = HostParts("", "", "", "", "")
_HOST_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$")


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    """tldextract's bundled snapshot only: no suffix-list urls, no cache directory, no fetch."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def to_ascii(host: str) -> str:
    """IDN host -> punycode (IDNA 2008 with UTS 46 mapping; Python's IDNA 2003 codec as fallback)."""
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return host.lower()


def to_unicode(host: str) -> str:
    """Punycode labels decoded for display; anything undecodable is left as it is."""
    if "xn--" not in host:
        return host
    try:
        return idna.decode(host)
    except idna.IDNAError:
        return host


def host_of(url_or_host: str) -> str:
    """The canonical host of a url (or of a bare host, with or without port and brackets)."""
    value = (url_or_host or "").strip()
    if not value:
        return ""
    if "//" not in value:
        value = f"//{value}"
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return ""
    host = host.rstrip(".")
    if not host:
        return ""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    ascii_host = to_ascii(host)
    return ascii_host if _HOST_RE.match(ascii_host) else ""


@lru_cache(maxsize=1 << 16)
def split_host(host: str) -> HostParts:
    """Split a canonical host (see :func:`host_of`)."""
    if not host:
        return EMPTY
    try:
        ipaddress.ip_address(host)
        return HostParts(host, host, "", "", host, is_ip=True)
    except ValueError:
        pass
    ext = _extractor()
    full = ext(host, include_psl_private_domains=True)
    icann = ext(host, include_psl_private_domains=False)
    icann_domain = f"{icann.domain}.{icann.suffix}" if icann.domain and icann.suffix else host
    if not full.suffix or not full.domain:  # unknown suffix (localhost, intranet) or a bare suffix
        return HostParts(host, host, full.suffix, "", icann_domain)
    return HostParts(
        host=host,
        registered_domain=f"{full.domain}.{full.suffix}",
        public_suffix=full.suffix,
        subdomain=full.subdomain,
        icann_domain=icann_domain,
        is_private_suffix=bool(full.is_private),
    )


def parse_url(url: str) -> HostParts:
    """:func:`split_host` of a url's host; never raises (an unparseable url gives empty parts)."""
    return split_host(host_of(url))


def site_key(url: str) -> str:
    """The site a url belongs to (its registrable domain), ``""`` when the url has no host."""
    return parse_url(url).registered_domain
