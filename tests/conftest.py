"""Shared fixtures: the real dev data (skips when absent), temporary warehouses on SQLite and PostgreSQL.

Also the suite's order: the fast unit test files first (about a minute and a half on three
workers: a broken unit shows before the servers start), then the integration files longest first
(by the durations the last run on this machine recorded, else by the checked-in
``tests/file-durations.json`` of a fresh-clone CI run, else by their marks), so that with
``-n 3 --dist loadfile --no-loadscope-reorder`` the slow independent files start together.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
DEV_CSV = SHARED_DATA / "website_classification_dev.csv"
PG_ADMIN_URL = os.environ.get("BEAMBELL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def dev_csv() -> Path:
    if not DEV_CSV.exists():
        pytest.skip(f"needs the shared dev data at {DEV_CSV} (present in CI; absent in a user's clone)")
    return DEV_CSV


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"needs the shared data folder {SHARED_DATA} (present in CI; absent in a user's clone)")
    return SHARED_DATA


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the real local server, dropped afterwards."""
    name = f"beambell_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield from _database(admin, name)


def _database(admin: sa.Engine, name: str) -> Iterator[str]:
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - CI starts the server
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("pg_url")


# --- order: longest test files first --------------------------------------------------------------

#: Seconds per test file (setup + call + teardown), written by the last run on this machine; outside
#: the checkout (like the Label Studio virtualenv), so every clone on the machine uses it.
DURATIONS_FILE = Path(
    os.environ.get("BEAMBELL_TEST_DURATIONS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "beambell" / "test-durations.json"
)
#: Checked in: a fresh-clone CI run's per-file seconds, the order on a machine with no record yet
#: (a new file not in it falls back to its marks). Refresh with ``cp ~/.cache/beambell/test-durations.json
#: tests/file-durations.json`` after a full run when files are added or get much slower.
SEED_DURATIONS_FILE = Path(__file__).with_name("file-durations.json")
#: Without recorded durations: a guess from the marks (seconds per test).
_GUESS_S = {"slow": 60.0, "integration": 10.0, "unit": 0.3}
_ran_s: dict[str, float] = defaultdict(float)


def _read_durations(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _load_durations() -> dict[str, float]:
    """This machine's record over the checked-in seed (files deleted since are harmless)."""
    return {**_read_durations(SEED_DURATIONS_FILE), **_read_durations(DURATIONS_FILE)}


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # type: ignore[no-untyped-def]
    """pytest-xdist, on the controller: every worker orders by the same snapshot of the durations
    (reading the file in each worker could differ if another run writes it meanwhile, and workers
    that collect different orders abort the run)."""
    node.workerinput["beambell_file_durations"] = _load_durations()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput = getattr(config, "workerinput", None)
    known = workerinput["beambell_file_durations"] if workerinput is not None else _load_durations()
    guess: dict[str, float] = defaultdict(float)
    for item in items:
        kind = next((m for m in ("slow", "integration") if item.get_closest_marker(m)), "unit")
        guess[_file_of(item.nodeid)] += _GUESS_S[kind]
    first_seen = {f: i for i, f in reversed(list(enumerate(_file_of(it.nodeid) for it in items)))}

    def cost(item: pytest.Item) -> tuple[bool, float, int]:
        f = _file_of(item.nodeid)
        return (not f.startswith("tests/unit/"), -known.get(f, guess[f]), first_seen[f])

    items.sort(key=cost)  # stable: a file's tests keep their order


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _ran_s[_file_of(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record this run's per-file durations (on the controller only; merged into earlier ones)."""
    if hasattr(session.config, "workerinput") or not _ran_s or exitstatus not in (0, 1):
        return
    merged = {**_load_durations(), **{f: round(s, 2) for f, s in _ran_s.items()}}
    try:
        DURATIONS_FILE.parent.mkdir(parents=True, exist_ok=True)
        tmp = DURATIONS_FILE.with_name(f".{DURATIONS_FILE.name}.{os.getpid()}")
        tmp.write_text(json.dumps(dict(sorted(merged.items())), indent=1))
        tmp.replace(DURATIONS_FILE)
    except OSError:  # a read-only home: the order falls back to the marks next time
        pass
