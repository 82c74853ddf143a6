"""Organisation records: sites resolved from their evidence, grouped by organisation, incrementally."""

from __future__ import annotations

import json

import pandas as pd

from beambell_assets.organisations.records import (
    domain_name_candidate,
    org_id_for,
    page_evidence,
    resolve_site,
    site_evidence,
)
from beambell_assets.organisations.store import org_features_for_partition, update_organisations
from beambell_assets.storage.warehouse import Warehouse


def _page(org: str, site_name: str, schema_type: str = "NewsMediaOrganization") -> str:
    ld = json.dumps({"@context": "https://schema.org", "@type": schema_type, "name": org})
    return (
        f'<html><head><title>Story | {site_name}</title><meta property="og:site_name" content="{site_name}">'
        f'<script type="application/ld+json">{ld}</script></head><body><p>Story.</p>'
        f"<footer>© 2026 {org}. All rights reserved.</footer></body></html>"
    )


def _evidence(rows: list[tuple[str, str | None, str | None]]) -> pd.DataFrame:
    pages = pd.DataFrame(rows, columns=["url", "html", "text"])
    return site_evidence(pages["url"].tolist(), page_evidence(pages))


def test_domain_name_candidate() -> None:
    assert domain_name_candidate("bbc.co.uk") == "BBC"
    assert domain_name_candidate("horizon-escapes.com") == "Horizon Escapes"
    assert domain_name_candidate("xn--mnchen-3ya.de") == "München"
    assert domain_name_candidate("192.168.0.1") == "192.168.0.1"


def test_site_resolves_to_the_legal_name_and_clusters_variants() -> None:
    ev = _evidence(
        [
            (
                "https://www.horizonescapes.com/a",
                _page("Horizon Escapes Travel Group Ltd", "Horizon Escapes"),
                None,
            ),
            (
                "https://blog.horizonescapes.com/b",
                _page("Horizon Escapes Travel Group Ltd", "Horizon Escapes"),
                None,
            ),
        ]
    )
    assert ev["registered_domain"].tolist() == ["horizonescapes.com"]
    site = resolve_site("horizonescapes.com", ev.to_dict("records"))
    assert site.org_name == "Horizon Escapes Travel Group Ltd"
    assert site.normalised_name == "horizon escapes travel group"
    assert site.confidence == 1.0  # og:site_name, title and the domain all join the same cluster
    assert {"jsonld_organization", "copyright", "og_site_name", "title", "domain"} <= set(site.sources)
    assert site.n_pages == 2 and not site.text_only


def test_text_only_site_falls_back_to_the_domain_and_says_so() -> None:
    ev = _evidence([("https://www.cheapflightsnow.com/", None, "cheap flights hotel deals booking")])
    site = resolve_site("cheapflightsnow.com", ev.to_dict("records"))
    assert site.org_name == "Cheapflightsnow" and site.sources == {"domain": 1} and site.text_only


def test_organisations_group_sites_and_update_incrementally(warehouse_url: str) -> None:
    wh = Warehouse(warehouse_url)
    wh.migrate()
    p1 = _evidence(
        [
            ("https://www.bbc.co.uk/news/1", _page("BBC", "BBC News"), None),
            ("https://www.bbc.com/news/2", _page("BBC", "BBC News"), None),
            ("https://www.chirpspace.app/", _page("Chirp Space Inc.", "Chirp Space", "Corporation"), None),
        ]
    )
    first = update_organisations(wh, "batch-1", p1)
    orgs = wh.read("SELECT * FROM organisations ORDER BY name").set_index("name")
    assert sorted(orgs.index) == ["BBC", "Chirp Space Inc."]
    assert json.loads(orgs.at["BBC", "domains_json"]) == ["bbc.co.uk", "bbc.com"]
    assert orgs.at["BBC", "org_id"] == org_id_for("bbc") and len(first.new_orgs) == 2
    links = wh.read("SELECT registered_domain, org_id FROM organisation_domains ORDER BY 1")
    assert links["org_id"].nunique() == 2

    chirp_before = wh.read("SELECT * FROM organisations WHERE name = 'Chirp Space Inc.'")
    p2 = _evidence(
        [("https://bbc.co.uk/sport/3", _page("BBC", "BBC Sport"), None), ("https://x.gov.uk/", None, "x")]
    )
    second = update_organisations(wh, "batch-2", p2)
    assert second.sites == ["bbc.co.uk", "x.gov.uk"]
    chirp_after = wh.read("SELECT * FROM organisations WHERE name = 'Chirp Space Inc.'")
    pd.testing.assert_frame_equal(chirp_before, chirp_after)  # an untouched organisation is not rewritten
    bbc = wh.read("SELECT n_pages, n_domains, updated_partition FROM organisations WHERE name = 'BBC'").iloc[
        0
    ]
    assert (bbc["n_pages"], bbc["n_domains"], bbc["updated_partition"]) == (3, 2, "batch-2")

    before = {t: wh.count(t) for t in ("org_evidence", "organisation_domains", "organisations")}
    update_organisations(wh, "batch-2", p2)  # rerun: replaced, never duplicated
    assert {t: wh.count(t) for t in before} == before

    features = org_features_for_partition(wh, "batch-2")
    assert sorted(features["name"]) == ["BBC", "X"]
    bbc_row = features.set_index("name").loc["BBC"]
    assert bbc_row["domains"] == "bbc.co.uk bbc.com" and "newsmediaorganization" in bbc_row["schema_types"]
    assert bbc_row["page_id"] == org_id_for("bbc") and bbc_row["url"].startswith("https://bbc.")
    # the site directory view joins domains, organisations and (absent here) org-type predictions
    view = wh.read("SELECT * FROM organisation_profiles ORDER BY name")
    assert list(view["name"]) == ["BBC", "Chirp Space Inc.", "X"] and view["org_type"].isna().all()
    wh.dispose()
