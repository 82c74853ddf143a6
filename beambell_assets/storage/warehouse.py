"""The warehouse: pages, quarantine, LF stats, gold labels, the model registry and predictions.

One SQLAlchemy URL picks the engine (SQLite file by default, PostgreSQL in production). The schema
is the versioned SQL in ``sql/migrations`` (applied in order, each recorded in
``schema_migrations``), so the same DDL serves both engines and a database can be upgraded in place.

Writes are partition-scoped and transactional: :meth:`Warehouse.replace_partition` deletes a
partition's rows and inserts the new ones in one transaction, so a retried or re-run partition
never duplicates rows and a killed run leaves the previous rows intact.

Connections are checked before use (``pool_pre_ping``), so a pool survives a server restart, and
the operations that own their transaction and are idempotent (partition replaces, upserts, reads,
migrations) are run again when the connection is lost or refused (:func:`retry_transient`); a
transaction an asset holds itself fails and is retried by the step's ``RetryPolicy``.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from beambell_assets.settings import TEST_PAUSE_ENV, sql_dir_override, test_pause_file

_MIGRATION_NAME = re.compile(r"^(\d{4})_[\w-]+\.sql$")
T = TypeVar("T")

#: Waits between attempts of a transaction that lost its connection: 0.5 + 1 + 2 + 4 + 8 s covers a
#: PostgreSQL restart or fail-over.
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Test-only hook: see :func:`_test_pause`.
PAUSE_ENV = TEST_PAUSE_ENV


def migrations_dir() -> Path:
    """``sql/migrations`` at the project root (override with ``BEAMBELL_SQL_DIR``)."""
    override = sql_dir_override()
    if override is not None:
        return override
    return Path(__file__).resolve().parents[2] / "sql" / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _split_statements(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _clean(value: Any) -> Any:
    """NaN/NA -> None and numpy scalars -> Python, so both drivers accept the value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def is_transient(exc: BaseException) -> bool:
    """A lost or refused connection (server restart, fail-over, network), not a bad statement."""
    if isinstance(exc, sa.exc.OperationalError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def retry_transient(fn: Callable[[], T], delays: Sequence[float] = RETRY_DELAYS_S) -> T:
    """Run ``fn`` (one whole transaction) again after a transient error; re-raise after the last try.

    Only for idempotent work: the failed attempt's transaction was rolled back (or never
    committed), so running it again gives the same end state.
    """
    for delay in delays:
        try:
            return fn()
        except sa.exc.DBAPIError as exc:
            if not is_transient(exc):
                raise
            time.sleep(delay)
    return fn()


def _test_pause(table: str, partition_key: str) -> None:
    """Test-only: hold a partition write's open transaction so a test can kill us or restart the DB.

    Off unless ``BEAMBELL_TEST_PAUSE_FILE`` names a file that exists and holds ``table`` (optionally
    ``table partition_key``). Then this writes ``<file>.<pid>.paused`` (holding the partition key) and
    waits while the file exists (at most 600 s). Deleting the file releases every paused writer.
    The cap only guards against a test that never releases: at 120 s a database-restart test whose
    restart waited that long for the other test workers to let go of the server saw the write commit
    before the restart (no retry to observe; CI, 2026-12-06).
    """
    path = test_pause_file()
    if not path:
        return
    armed = Path(path)
    try:
        wanted = armed.read_text(encoding="utf-8").split()
    except OSError:
        return
    if not wanted or wanted[0] != table or (len(wanted) > 1 and wanted[1] != partition_key):
        return
    Path(f"{path}.{os.getpid()}.paused").write_text(partition_key, encoding="utf-8")
    deadline = time.monotonic() + 600
    while armed.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class Warehouse:
    """A thin, explicit layer over the warehouse database."""

    def __init__(self, url: str) -> None:
        self.url = url

    @cached_property
    def engine(self) -> Engine:
        if self.url.startswith("sqlite"):
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(self.url, connect_args={"timeout": 60})

            @sa.event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cur.execute("PRAGMA busy_timeout=60000")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

            return engine
        return sa.create_engine(self.url, pool_pre_ping=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------------ schema
    def applied_migrations(self) -> list[str]:
        def _do() -> list[str]:
            with self.engine.connect() as conn:
                if not sa.inspect(conn).has_table("schema_migrations"):
                    return []
                rows = conn.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version"))
                return [r[0] for r in rows]

        return retry_transient(_do)

    def migrate(self, directory: Path | None = None) -> list[str]:
        """Apply pending migrations in order; returns the versions applied now."""
        directory = directory or migrations_dir()
        files = sorted(p for p in directory.glob("*.sql") if _MIGRATION_NAME.match(p.name))
        if not files:
            raise FileNotFoundError(f"no migrations found in {directory}")
        applied_now = retry_transient(lambda: self._migrate(files))
        self.__dict__.pop("_tables", None)
        return applied_now

    def _migrate(self, files: Sequence[Path]) -> list[str]:
        applied_now: list[str] = []
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version TEXT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
                )
            )
            if self.dialect == "postgresql":
                # Two processes migrating at once: the second waits, then sees the work done.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(726354)"))
            done = {r[0] for r in conn.execute(sa.text("SELECT version FROM schema_migrations"))}
            for path in files:
                version = path.name[:4]
                if version in done:
                    continue
                for statement in _split_statements(path.read_text(encoding="utf-8")):
                    conn.execute(sa.text(statement))
                conn.execute(
                    sa.text("INSERT INTO schema_migrations VALUES (:v, :n, :t)"),
                    {"v": version, "n": path.name, "t": utcnow()},
                )
                applied_now.append(version)
        return applied_now

    @cached_property
    def _tables(self) -> dict[str, sa.Table]:
        meta = sa.MetaData()
        meta.reflect(bind=self.engine)
        return dict(meta.tables)

    def table(self, name: str) -> sa.Table:
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"warehouse has no table {name!r}: run migrate() first") from None

    # ------------------------------------------------------------------ writes
    def _rows(self, table: sa.Table, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        cols = set(table.columns.keys())
        return [{k: _clean(v) for k, v in r.items() if k in cols} for r in records]

    def replace_partition(
        self,
        table: str,
        partition_key: str,
        rows: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        where: Mapping[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> int:
        """Atomically replace every row of ``partition_key`` (and ``where``) with ``rows``."""
        records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
        t = self.table(table)
        cond = t.c.partition_key == partition_key
        for col, val in (where or {}).items():
            cond = cond & (t.c[col] == val)
        payload = self._rows(t, ({**r, "partition_key": partition_key, **(where or {})} for r in records))

        def _do(c: Connection) -> None:
            c.execute(t.delete().where(cond))
            for start in range(0, len(payload), 5000):
                c.execute(t.insert(), payload[start : start + 5000])
            _test_pause(table, partition_key)

        if conn is not None:  # the caller's transaction: it decides what to retry
            _do(conn)
        else:
            retry_transient(lambda: self._in_transaction(_do))
        return len(payload)

    def _in_transaction(self, fn: Callable[[Connection], None]) -> None:
        with self.engine.begin() as c:
            fn(c)

    def upsert(self, table: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
        """Insert or replace rows by primary ``key`` (portable: delete-then-insert in one transaction)."""
        t = self.table(table)
        payload = self._rows(t, rows)

        def _do(c: Connection) -> None:
            for r in payload:
                cond = sa.and_(*(t.c[k] == r[k] for k in key))
                c.execute(t.delete().where(cond))
            if payload:
                c.execute(t.insert(), payload)

        retry_transient(lambda: self._in_transaction(_do))
        return len(payload)

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]], conn: Connection | None = None) -> int:
        t = self.table(table)
        payload = self._rows(t, rows)
        if not payload:
            return 0
        if conn is not None:
            conn.execute(t.insert(), payload)
        else:
            with self.engine.begin() as c:
                c.execute(t.insert(), payload)
        return len(payload)

    # ------------------------------------------------------------------ reads
    def read(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        def _do() -> pd.DataFrame:
            with self.engine.connect() as conn:
                result = conn.execute(sa.text(sql), dict(params or {}))
                return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

        return retry_transient(_do)

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        def _do() -> Any:
            with self.engine.connect() as conn:
                return conn.execute(sa.text(sql), dict(params or {})).scalar()

        return retry_transient(_do)

    def count(self, table: str, partition_key: str | None = None) -> int:
        t = self.table(table)
        q = sa.select(sa.func.count()).select_from(t)
        if partition_key is not None:
            q = q.where(t.c.partition_key == partition_key)

        def _do() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(q).scalar() or 0)

        return retry_transient(_do)

    def content_hashes_before(self, partition_key: str) -> frozenset[str]:
        """Content accepted in earlier partitions (keys sort by landing time).

        Only *earlier* batches count, so re-running or backfilling a partition gives the same
        accept/quarantine split whatever was loaded after it.
        """
        df = self.read(
            "SELECT DISTINCT content_hash FROM pages WHERE partition_key < :k", {"k": partition_key}
        )
        return frozenset(df["content_hash"].tolist()) if len(df) else frozenset()

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
