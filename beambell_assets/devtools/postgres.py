"""PostgreSQL for tests: throw-away databases on the local server, Dagster-instance env, and a
private server the fault tests can restart.

Tests need real databases (the instance's run/event-log/schedule storage and the warehouse) that
never collide with each other or with a developer's data: each gets its own database on the local
server, found from ``BEAMBELL_TEST_PG_URL`` (an admin SQLAlchemy URL, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``).

The fault tests restart PostgreSQL mid-write. Restarting the machine's server would cut every other
test's connections, so those tests had to wait for each other (once ~2 min of a CI run); they run
on a :class:`PrivatePostgres` instead: the same PostgreSQL binaries, its own data directory and
port, started, restarted and removed by the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from beambell_assets.devtools.local_dagster import free_port
from beambell_assets.settings import test_pg_admin_url

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_POSTGRES_YAML = REPO_ROOT / "dagster.postgres.yaml"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


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


def _bin_dir() -> Path:
    """The folder of the server's own binaries (``initdb``, ``pg_ctl``): Debian keeps them off PATH."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(str(shutil.which("initdb"))).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed here")


class PrivatePostgres:
    """A PostgreSQL server of its own: ``initdb`` into a temporary folder, trust auth, a free port.

    Run as the ``postgres`` user when we are root (the server refuses root). Durability settings are
    off (``fsync``, ``synchronous_commit``): a restart is a clean shutdown and start, which cuts every
    connection and aborts open transactions just the same, and nothing here must survive a crash.
    """

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="beambell-pg-"))
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.data, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str, timeout: float = 90.0) -> None:
        """``pg_ctl`` with the server's output to its log file: a started server keeps the descriptors
        it inherits, so a pipe would never reach EOF."""
        log = self.data / "server.log"
        command = [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w"]
        with tempfile.TemporaryFile() as out:
            code = subprocess.run(
                [*command, "-t", str(int(timeout)), *args], stdout=out, stderr=out, timeout=timeout + 10
            ).returncode
            out.seek(0)
            said = out.read().decode(errors="replace")
        if code != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl {args[-1]} failed ({code}): {said}\n{tail}")

    def start(self) -> PrivatePostgres:
        """``initdb`` and start; a server that fails to come up is stopped and its folder removed."""
        try:
            initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
            out = subprocess.run(
                [*self._as, *initdb, "-E", "UTF8", "--locale=C", "--no-sync"], capture_output=True, text=True
            )
            if out.returncode != 0:
                raise RuntimeError(f"initdb failed ({out.returncode}): {out.stderr[-2000:]}")
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            self._pg_ctl("-o", options, "start")
            wait_until_accepting(timeout=60.0, url=self.admin_url)
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, timeout: float = 90.0) -> float:
        """Restart (fast shutdown: every connection is cut); returns the seconds it was unavailable."""
        t0 = time.monotonic()
        self._pg_ctl("-m", "fast", "restart", timeout=timeout)  # the options of the last start
        wait_until_accepting(timeout=timeout, url=self.admin_url)
        return time.monotonic() - t0

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its data directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("-m", "immediate", "stop", timeout=60.0)
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
