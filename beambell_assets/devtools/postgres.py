"""The local PostgreSQL server for tests: throw-away databases, Dagster-instance env, restarts.

Tests need real databases (the instance's run/event-log/schedule storage and the warehouse) that
never collide with each other or with a developer's data, and the fault tests need to restart the
server mid-run and be sure it is back before they finish, so nothing else on the machine sees it
down for longer than the restart itself.

The server is found from ``BEAMBELL_TEST_PG_URL`` (an admin SQLAlchemy URL, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); restarts use
``BEAMBELL_PG_RESTART_CMD`` if set, else ``pg_ctlcluster <version> main restart`` (Debian/Ubuntu).
"""

from __future__ import annotations

import fcntl
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from beambell_assets.settings import pg_restart_command, test_pg_admin_url

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_POSTGRES_YAML = REPO_ROOT / "dagster.postgres.yaml"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: One machine-wide lock between the tests that use the server (shared) and a restart (exclusive):
#: test files run concurrently (pytest-xdist), and a restart cuts every connection on the server.
SERVER_LOCK = Path(tempfile.gettempdir()) / "beambell-postgres-server.lock"


@contextmanager
def server_lock(exclusive: bool = False) -> Iterator[None]:
    """Hold the server: many users at once (shared), or alone for a restart (exclusive)."""
    with open(SERVER_LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def admin_url() -> str:
    """The URL tests administer the server with (must be allowed to CREATE/DROP DATABASE)."""
    return test_pg_admin_url(DEFAULT_ADMIN_URL)


def _url_for(name: str, admin: str | None = None) -> str:
    return sa.make_url(admin or admin_url()).set(database=name).render_as_string(hide_password=False)


def create_database(name: str | None = None, admin: str | None = None) -> str:
    """Create an empty database (a unique ``beambell_test_*`` name by default); returns its URL."""
    name = name or f"beambell_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin or admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return _url_for(name, admin)


def drop_database(url: str, admin: str | None = None) -> None:
    """Drop the database ``url`` names, disconnecting whoever still uses it."""
    name = sa.make_url(url).database
    engine = sa.create_engine(admin or admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@contextmanager
def temp_database(admin: str | None = None) -> Iterator[str]:
    """A fresh database for the ``with`` block, dropped afterwards (even if the server restarted)."""
    url = create_database(admin=admin)
    try:
        yield url
    finally:
        wait_until_accepting(timeout=60.0, url=admin)
        drop_database(url, admin)


def instance_env(url: str) -> dict[str, str]:
    """The ``BEAMBELL_PG_*`` variables ``dagster.postgres.yaml`` reads, for the database ``url``."""
    u = sa.make_url(url)
    return {
        "BEAMBELL_PG_HOST": u.host or "127.0.0.1",
        "BEAMBELL_PG_PORT": str(u.port or 5432),
        "BEAMBELL_PG_USER": u.username or "postgres",
        "BEAMBELL_PG_PASSWORD": u.password or "",
        "BEAMBELL_PG_DB": u.database or "",
    }


def install_instance_config(dagster_home: Path) -> Path:
    """Put the repo's ``dagster.postgres.yaml`` into ``dagster_home`` as its ``dagster.yaml``."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    shutil.copyfile(DAGSTER_POSTGRES_YAML, target)
    return target


def accepting_connections(url: str | None = None) -> bool:
    """True if the server answers ``SELECT 1`` right now."""
    engine = sa.create_engine(url or admin_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT 1")).scalar() == 1
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def wait_until_accepting(timeout: float = 60.0, url: str | None = None) -> None:
    """Block until the server accepts connections; raise ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not accepting_connections(url):
        if time.monotonic() > deadline:
            raise TimeoutError(f"PostgreSQL not accepting connections after {timeout:.0f} s")
        time.sleep(0.2)


def _cluster_command(action: str) -> list[str]:
    custom = pg_restart_command()
    if custom and action == "restart":
        return shlex.split(custom)
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*") if p.is_dir())
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise RuntimeError("no pg_ctlcluster here: set BEAMBELL_PG_RESTART_CMD to restart PostgreSQL")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]


def restart_server(timeout: float = 90.0) -> float:
    """Restart the server (every connection is cut) and wait until it accepts connections again.

    Returns the seconds it was unavailable for us. If the restart command fails, the server is
    started so it is never left down.
    """
    with server_lock(exclusive=True):  # waits until no other test uses the server
        return _restart(timeout)


def _restart(timeout: float) -> float:
    t0 = time.monotonic()
    try:
        subprocess.run(_cluster_command("restart"), check=True, capture_output=True, timeout=timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        if not accepting_connections():
            subprocess.run(_cluster_command("start"), check=False, capture_output=True, timeout=timeout)
        raise
    finally:
        wait_until_accepting(timeout)
    return time.monotonic() - t0
