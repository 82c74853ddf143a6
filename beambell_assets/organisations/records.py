"""From page evidence to organisation records: per site per partition, per site, per organisation.

1. :func:`site_evidence` sums one partition's page evidence per site (registrable domain): name
   sightings by source, schema.org types, a few snippets. These partials are what the warehouse
   keeps per ``(partition_key, registered_domain)``, so a new partition only adds rows.
2. :func:`resolve_site` merges a site's partials, adds the domain name as the weakest candidate,
   clusters names that are the same organisation written differently ("Horizon Escapes" /
   "Horizon Escapes Travel Group Ltd" / ``horizonescapes``) and picks the heaviest cluster.
3. :func:`organisation_records` groups sites by normalised organisation name: the organisation
   owns every site it was found behind (``bbc.com`` and ``bbc.co.uk``).
4. :func:`org_features` is one row per organisation for the org-type task.

An organisation's id is a hash of its normalised name, so it is stable across runs and partitions.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from beambell_assets.domains.suffix import parse_url, split_host, to_unicode
from beambell_assets.organisations.extract import (
    LEGAL_SOURCES,
    SOURCE_WEIGHTS,
    PageOrgEvidence,
    extract_page,
)
from beambell_assets.organisations.normalise import clean_display, normalise_name, same_organisation

MAX_NAMES_PER_SITE = 30
MAX_SNIPPETS = 8
SITE_EVIDENCE_COLUMNS = [
    "registered_domain",
    "n_pages",
    "n_html_pages",
    "candidates_json",
    "schema_types_json",
    "snippets_json",
]


def org_id_for(normalised_name: str) -> str:
    return hashlib.sha1(normalised_name.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- 1. per partition


def page_evidence(pages: pd.DataFrame) -> list[PageOrgEvidence]:
    """:func:`extract_page` for each row of a frame with ``html``/``text``/``title`` (any may be absent)."""

    def col(name: str) -> list[Any]:
        return pages[name].tolist() if name in pages.columns else [None] * len(pages)

    return [
        extract_page(_str(h), _str(t), _str(ti))
        for h, t, ti in zip(col("html"), col("text"), col("title"), strict=True)
    ]


def site_evidence(urls: Sequence[str], evidence: Sequence[PageOrgEvidence]) -> pd.DataFrame:
    """One row per site of a partition's pages (``SITE_EVIDENCE_COLUMNS``, JSON as text)."""
    by_site: dict[str, dict[str, Any]] = {}
    for url, ev in zip(urls, evidence, strict=True):
        site = parse_url(url).registered_domain
        if not site:
            continue
        acc = by_site.setdefault(
            site,
            {"n_pages": 0, "n_html_pages": 0, "names": defaultdict(Counter), "types": Counter(), "snips": []},
        )
        acc["n_pages"] += 1
        acc["n_html_pages"] += int(ev.from_html)
        for c in ev.candidates:
            acc["names"][c.name][c.source] += 1
        acc["types"].update(ev.schema_types)
        for s in ev.snippets:
            if s not in acc["snips"] and len(acc["snips"]) < MAX_SNIPPETS:
                acc["snips"].append(s)
    rows = [
        {
            "registered_domain": site,
            "n_pages": acc["n_pages"],
            "n_html_pages": acc["n_html_pages"],
            "candidates_json": json.dumps(_top_names(acc["names"]), sort_keys=True),
            "schema_types_json": json.dumps(dict(acc["types"]), sort_keys=True),
            "snippets_json": json.dumps(acc["snips"]),
        }
        for site, acc in sorted(by_site.items())
    ]
    return pd.DataFrame(rows, columns=SITE_EVIDENCE_COLUMNS)


def _top_names(names: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    ranked = sorted(names.items(), key=lambda kv: (-_weight(kv[1]), kv[0]))
    return {name: dict(sources) for name, sources in ranked[:MAX_NAMES_PER_SITE]}


def _weight(sources: Mapping[str, int]) -> float:
    return sum(SOURCE_WEIGHTS.get(s, 0.0) * n for s, n in sources.items())


# --------------------------------------------------------------------------- 2. per site


@dataclass
class _Cluster:
    key: str  # normalised name of the longest variant
    variants: dict[str, Counter[str]] = field(default_factory=dict)  # display -> source counts

    @property
    def weight(self) -> float:
        return sum(_weight(s) for s in self.variants.values())

    def sources(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for s in self.variants.values():
            total.update(s)
        return total

    def display(self) -> str:
        """A legal name when one was seen (JSON-LD, copyright), else the most-seen variant."""

        def rank(item: tuple[str, Counter[str]]) -> tuple[bool, float, int, str]:
            name, sources = item
            return (bool(LEGAL_SOURCES & set(sources)), _weight(sources), len(name), name)

        return max(self.variants.items(), key=rank)[0]


@dataclass(frozen=True)
class SiteOrg:
    """The organisation behind one site, with the evidence for it."""

    registered_domain: str
    org_name: str
    normalised_name: str
    confidence: float  # share of all name evidence that agrees with the chosen name
    n_pages: int
    n_html_pages: int
    sources: dict[str, int]
    schema_types: dict[str, int]
    snippets: list[str]
    public_suffix: str
    is_private_suffix: bool

    @property
    def org_id(self) -> str:
        return org_id_for(self.normalised_name)

    @property
    def text_only(self) -> bool:
        return self.n_html_pages == 0

    def as_row(self) -> dict[str, Any]:
        return {
            "registered_domain": self.registered_domain,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "normalised_name": self.normalised_name,
            "confidence": self.confidence,
            "n_pages": self.n_pages,
            "n_html_pages": self.n_html_pages,
            "text_only": int(self.text_only),
            "sources_json": json.dumps(self.sources, sort_keys=True),
            "schema_types_json": json.dumps(self.schema_types, sort_keys=True),
            "snippets_json": json.dumps(self.snippets),
            "public_suffix": self.public_suffix,
            "is_private_suffix": int(self.is_private_suffix),
        }


def domain_name_candidate(registered_domain: str) -> str:
    """A readable name from the domain itself: ``bbc.co.uk`` -> ``BBC``, ``horizon-escapes.com`` ->
    ``Horizon Escapes``; an IP address stays as it is."""
    parts = split_host(registered_domain)
    if parts.is_ip or not parts.public_suffix:
        return registered_domain
    label = to_unicode(registered_domain[: -len(parts.public_suffix) - 1].rsplit(".", 1)[-1])
    words = label.replace("-", " ").replace("_", " ").split()
    return label.upper() if len(label) <= 4 and label.isalpha() else " ".join(w.capitalize() for w in words)


def resolve_site(registered_domain: str, partials: Iterable[Mapping[str, Any]]) -> SiteOrg:
    """Merge a site's partial evidence rows (``SITE_EVIDENCE_COLUMNS``) into its organisation."""
    names: dict[str, Counter[str]] = defaultdict(Counter)
    types: Counter[str] = Counter()
    snippets: list[str] = []
    n_pages = n_html = 0
    for row in partials:
        n_pages += int(row["n_pages"])
        n_html += int(row["n_html_pages"])
        for name, sources in json.loads(row["candidates_json"] or "{}").items():
            names[name].update(sources)
        types.update(json.loads(row["schema_types_json"] or "{}"))
        for s in json.loads(row["snippets_json"] or "[]"):
            if s not in snippets and len(snippets) < MAX_SNIPPETS:
                snippets.append(s)
    names[domain_name_candidate(registered_domain)]["domain"] += 1
    clusters = cluster_names(names)
    best = max(clusters, key=lambda c: (c.weight, c.key))
    total = sum(c.weight for c in clusters)
    display = clean_display(best.display())
    parts = split_host(registered_domain)
    return SiteOrg(
        registered_domain=registered_domain,
        org_name=display,
        normalised_name=normalise_name(display) or best.key,
        confidence=round(best.weight / total, 4) if total else 0.0,
        n_pages=n_pages,
        n_html_pages=n_html,
        sources=dict(best.sources()),
        schema_types=dict(types),
        snippets=snippets,
        public_suffix=parts.public_suffix,
        is_private_suffix=parts.is_private_suffix,
    )


def cluster_names(names: Mapping[str, Counter[str]]) -> list[_Cluster]:
    """Group name variants that are one organisation (see ``normalise.same_organisation``).

    Longer names are placed first, so a short variant joins the longest name it is the start of.
    """
    keyed = sorted(
        ((normalise_name(n), n) for n in names), key=lambda kn: (-len(kn[0].split()), -len(kn[0]), kn[1])
    )
    clusters: list[_Cluster] = []
    for key, name in keyed:
        if not key:
            continue
        home = next((c for c in clusters if same_organisation(key, c.key)), None)
        if home is None:
            home = _Cluster(key)
            clusters.append(home)
        home.variants[name] = Counter(names[name])
    return clusters


# --------------------------------------------------------------------------- 3. per organisation


def organisation_records(site_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per ``org_id`` of ``site_rows`` (rows of :meth:`SiteOrg.as_row`)."""
    out = []
    for org_id, group in site_rows.groupby("org_id", sort=True):
        g = group.sort_values(["n_pages", "registered_domain"], ascending=[False, True])
        sources: Counter[str] = Counter()
        types: Counter[str] = Counter()
        snippets: list[str] = []
        for r in g.itertuples():
            sources.update(json.loads(r.sources_json))
            types.update(json.loads(r.schema_types_json))
            snippets += [s for s in json.loads(r.snippets_json) if s not in snippets][
                : MAX_SNIPPETS - len(snippets)
            ]
        legal = [r for r in g.itertuples() if LEGAL_SOURCES & set(json.loads(r.sources_json))]
        name_row = max(legal or list(g.itertuples()), key=lambda r: (r.n_pages, r.confidence))
        domains = sorted(g["registered_domain"])
        out.append(
            {
                "org_id": org_id,
                "name": name_row.org_name,
                "normalised_name": name_row.normalised_name,
                "primary_domain": g["registered_domain"].iloc[0],
                "n_domains": len(domains),
                "domains_json": json.dumps(domains),
                "n_pages": int(g["n_pages"].sum()),
                "confidence": float((g["confidence"] * g["n_pages"]).sum() / max(1, g["n_pages"].sum())),
                "text_only": int(g["text_only"].astype(int).all()),
                "sources_json": json.dumps(dict(sources), sort_keys=True),
                "schema_types_json": json.dumps(dict(types), sort_keys=True),
                "evidence_json": json.dumps(
                    {
                        "sources": dict(sources),
                        "schema_types": dict(types),
                        "snippets": snippets,
                        "note": "text only: no HTML metadata, names from text lines and the domain"
                        if g["text_only"].astype(int).all()
                        else "",
                    }
                ),
            }
        )
    return pd.DataFrame(out, columns=ORGANISATION_COLUMNS)


ORGANISATION_COLUMNS = [
    "org_id",
    "name",
    "normalised_name",
    "primary_domain",
    "n_domains",
    "domains_json",
    "n_pages",
    "confidence",
    "text_only",
    "sources_json",
    "schema_types_json",
    "evidence_json",
]


# --------------------------------------------------------------------------- 4. org-type features


def category_slug(category: str | None) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in (category or "").lower()).strip("_")


def org_features(
    orgs: pd.DataFrame, site_rows: pd.DataFrame, domain_categories: Mapping[str, str | None]
) -> pd.DataFrame:
    """One feature row per organisation for the org-type task (``page_id`` is the ``org_id``).

    ``site_rows``: the organisations' sites (:meth:`SiteOrg.as_row`); ``domain_categories``: the
    page-content category of each site from the domain profiles.
    """
    rows = []
    sites = site_rows.groupby("org_id")
    for o in orgs.itertuples():
        g = sites.get_group(o.org_id) if o.org_id in sites.groups else site_rows.iloc[0:0]
        domains = sorted(g["registered_domain"]) if len(g) else json.loads(o.domains_json)
        evidence = json.loads(o.evidence_json)
        types = json.loads(o.schema_types_json)
        sources = json.loads(o.sources_json)
        cats = sorted({category_slug(domain_categories.get(d)) for d in domains} - {""})
        rows.append(
            {
                "page_id": o.org_id,
                "url": f"https://{o.primary_domain}/",
                "name": o.name,
                "normalised_name": o.normalised_name,
                "domains": " ".join(domains),
                "suffixes": " ".join(sorted({split_host(d).public_suffix for d in domains} - {""})),
                "platform_tenant": int(any(split_host(d).is_private_suffix for d in domains)),
                "schema_types": " ".join(sorted(types)),
                "name_sources": " ".join(sorted(sources)),
                "domain_categories": " ".join(cats),
                "text": " ".join([o.name, *evidence.get("snippets", [])]),
                "n_domains": int(o.n_domains),
                "n_pages": int(o.n_pages),
                "text_only": int(o.text_only),
            }
        )
    return pd.DataFrame(rows, columns=ORG_FEATURE_COLUMNS)


ORG_FEATURE_COLUMNS = [
    "page_id",
    "url",
    "name",
    "normalised_name",
    "domains",
    "suffixes",
    "platform_tenant",
    "schema_types",
    "name_sources",
    "domain_categories",
    "text",
    "n_domains",
    "n_pages",
    "text_only",
]


def _str(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)
