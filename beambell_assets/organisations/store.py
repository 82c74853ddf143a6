"""Warehouse side of organisations: a partition's name evidence in, touched organisations recomputed.

Like ``domains/store.py``: in one transaction the partition's ``org_evidence`` rows are replaced,
the sites it holds (now or before) are resolved again from all their evidence
(``organisation_domains``), and only the organisations those sites belonged to before or belong
to now are rebuilt (``organisations``); an organisation left without sites is deleted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from beambell_assets.domains.store import (
    ORG_LOCK,
    delete_where_in,
    domain_categories,
    rows_where_in,
    write_lock,
)
from beambell_assets.organisations.records import (
    ORG_FEATURE_COLUMNS,
    org_features,
    organisation_records,
    resolve_site,
)
from beambell_assets.storage.warehouse import Warehouse, utcnow


@dataclass(frozen=True)
class OrgUpdate:
    partition_key: str
    sites: list[str]
    org_ids: list[str]
    new_orgs: list[str] = field(default_factory=list)
    removed_orgs: list[str] = field(default_factory=list)
    organisations: pd.DataFrame = field(default_factory=pd.DataFrame)


def update_organisations(wh: Warehouse, partition_key: str, evidence: pd.DataFrame) -> OrgUpdate:
    """Replace the partition's ``org_evidence`` (rows of ``records.site_evidence``); recompute."""
    t_ev, t_sites, t_orgs = (wh.table(n) for n in ("org_evidence", "organisation_domains", "organisations"))
    now = utcnow()
    with wh.engine.begin() as conn:
        write_lock(conn, wh.dialect, ORG_LOCK, "organisations")
        old = {
            r[0]
            for r in conn.execute(
                sa.select(t_ev.c.registered_domain).where(t_ev.c.partition_key == partition_key)
            )
        }
        wh.replace_partition("org_evidence", partition_key, evidence.assign(computed_at=now), conn=conn)
        sites = sorted(old | set(evidence["registered_domain"]))
        partials: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows_where_in(conn, t_ev, "registered_domain", sites):
            partials[r["registered_domain"]].append(r)
        old_orgs = {r["org_id"] for r in rows_where_in(conn, t_sites, "registered_domain", sites)}
        site_rows = [
            {**resolve_site(d, partials[d]).as_row(), "updated_partition": partition_key, "updated_at": now}
            for d in sites
            if partials.get(d)
        ]
        delete_where_in(conn, t_sites, "registered_domain", sites)
        wh.insert("organisation_domains", site_rows, conn=conn)
        org_ids = sorted(old_orgs | {r["org_id"] for r in site_rows})
        existing = {r["org_id"] for r in rows_where_in(conn, t_orgs, "org_id", org_ids)}
        members = pd.DataFrame(rows_where_in(conn, t_sites, "org_id", org_ids))
        orgs = (
            organisation_records(members).assign(updated_partition=partition_key, updated_at=now)
            if len(members)
            else pd.DataFrame()
        )
        delete_where_in(conn, t_orgs, "org_id", org_ids)
        wh.insert("organisations", orgs.to_dict("records"), conn=conn)
    kept = set(orgs["org_id"]) if len(orgs) else set()
    return OrgUpdate(
        partition_key=partition_key,
        sites=sites,
        org_ids=sorted(kept),
        new_orgs=sorted(kept - existing),
        removed_orgs=sorted(existing - kept),
        organisations=orgs,
    )


def org_features_for_partition(wh: Warehouse, partition_key: str) -> pd.DataFrame:
    """Org-type features of the organisations behind the sites a partition holds (current state)."""
    with wh.engine.connect() as conn:
        sites = [
            r[0]
            for r in conn.execute(
                sa.text("SELECT registered_domain FROM org_evidence WHERE partition_key = :k"),
                {"k": partition_key},
            )
        ]
        org_ids = {
            r["org_id"]
            for r in rows_where_in(conn, wh.table("organisation_domains"), "registered_domain", sites)
        }
        orgs = pd.DataFrame(rows_where_in(conn, wh.table("organisations"), "org_id", org_ids))
        members = pd.DataFrame(rows_where_in(conn, wh.table("organisation_domains"), "org_id", org_ids))
    if orgs.empty:
        return pd.DataFrame(columns=ORG_FEATURE_COLUMNS)
    categories = domain_categories(wh, members["registered_domain"])
    return org_features(orgs.sort_values("org_id"), members, categories).reset_index(drop=True)
