"""Warehouse side of domain profiles: replace a partition's partials, recompute touched domains.

One transaction per partition: the partition's ``domain_partials`` rows are replaced (a rerun
never duplicates), then every domain the partition holds now *or held before* is recomputed from
all of its partials (a domain the rerun no longer holds loses that evidence, and its profile goes
when no partial is left). Profiles of other domains are not read or written.

Two runs updating the same domain at once are serialised: PostgreSQL by an advisory lock, SQLite
by taking the write lock before the first read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from snorkel.labeling import LabelingFunction
from sqlalchemy.engine import Connection

from beambell_assets.domains.profiles import DEFAULT_DOMAIN_LF_WEIGHT, combine
from beambell_assets.domains.suffix import to_unicode
from beambell_assets.storage.warehouse import Warehouse, utcnow

_CHUNK = 500
#: Advisory-lock ids (PostgreSQL) for the domain and organisation updates.
DOMAIN_LOCK, ORG_LOCK = 726_361, 726_362


def write_lock(conn: Connection, dialect: str, lock_id: int, table: str) -> None:
    """Serialise concurrent updaters for the rest of the transaction."""
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:i)"), {"i": lock_id})
    else:  # SQLite: a write statement (even one matching nothing) takes the database write lock
        conn.execute(sa.text(f"DELETE FROM {table} WHERE 1 = 0"))


def rows_where_in(
    conn: Connection, table: sa.Table, column: str, values: Iterable[str]
) -> list[dict[str, Any]]:
    """Rows whose ``column`` is one of ``values`` (queried in chunks)."""
    values = sorted(set(values))
    out: list[dict[str, Any]] = []
    for i in range(0, len(values), _CHUNK):
        result = conn.execute(sa.select(table).where(table.c[column].in_(values[i : i + _CHUNK])))
        out += [dict(r._mapping) for r in result]
    return out


def delete_where_in(conn: Connection, table: sa.Table, column: str, values: Iterable[str]) -> None:
    values = sorted(set(values))
    for i in range(0, len(values), _CHUNK):
        conn.execute(table.delete().where(table.c[column].in_(values[i : i + _CHUNK])))


@dataclass(frozen=True)
class DomainUpdate:
    """What one partition's update did to ``domain_profiles``."""

    partition_key: str
    touched: list[str]
    new: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recategorised: list[str] = field(default_factory=list)
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)


def update_domain_profiles(
    wh: Warehouse,
    partition_key: str,
    partials: pd.DataFrame,
    page_task: str,
    lfs: Sequence[LabelingFunction],
    label_names: Sequence[str],
    domain_lf_weight: float = DEFAULT_DOMAIN_LF_WEIGHT,
) -> DomainUpdate:
    """Replace the partition's partials and recompute the profiles of the domains it touches."""
    t_partials, t_profiles = wh.table("domain_partials"), wh.table("domain_profiles")
    now = utcnow()
    with wh.engine.begin() as conn:
        write_lock(conn, wh.dialect, DOMAIN_LOCK, "domain_profiles")
        old = {
            r[0]
            for r in conn.execute(
                sa.select(t_partials.c.registered_domain).where(t_partials.c.partition_key == partition_key)
            )
        }
        rows = partials.assign(page_task=page_task, computed_at=now)
        wh.replace_partition("domain_partials", partition_key, rows, conn=conn)
        touched = sorted(old | set(partials["registered_domain"]))
        by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows_where_in(conn, t_partials, "registered_domain", touched):
            by_domain[r["registered_domain"]].append(r)
        before = {
            r["registered_domain"]: r["category"]
            for r in rows_where_in(conn, t_profiles, "registered_domain", touched)
        }
        profiles = [
            {
                **combine(d, by_domain[d], lfs, label_names, domain_lf_weight),
                "display_domain": to_unicode(d),
                "page_task": page_task,
                "updated_partition": partition_key,
                "updated_at": now,
            }
            for d in touched
            if by_domain.get(d)
        ]
        delete_where_in(conn, t_profiles, "registered_domain", touched)
        wh.insert("domain_profiles", profiles, conn=conn)
    frame = pd.DataFrame(profiles)
    kept = set(frame["registered_domain"]) if len(frame) else set()
    return DomainUpdate(
        partition_key=partition_key,
        touched=touched,
        new=sorted(kept - set(before)),
        removed=sorted(set(before) - kept),
        recategorised=sorted(
            d
            for d in kept & set(before)
            if before[d] != frame.set_index("registered_domain").at[d, "category"]
        ),
        profiles=frame,
    )


def domain_categories(wh: Warehouse, domains: Iterable[str]) -> dict[str, str | None]:
    """``registered_domain -> category`` for the given domains (absent ones are left out)."""
    with wh.engine.connect() as conn:
        rows = rows_where_in(conn, wh.table("domain_profiles"), "registered_domain", domains)
    return {r["registered_domain"]: r["category"] for r in rows}
