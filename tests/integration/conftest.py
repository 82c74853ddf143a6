"""Integration set-up shared by the test files: a home with its ``Settings``, a Dagster instance, a
landed sample scrape, and the sample graph materialized once per test run.

:data:`SAMPLE` is landed and ingested once per run (:func:`ingested_home`), then trained and scored
once (:func:`graph_home`): with ``pytest-xdist`` the first worker that needs a snapshot builds it
under a file lock in the run's shared temporary folder, and every other worker reuses it. Tests that
only read a snapshot use it in place; a test that writes asks :func:`home_copy` for its own copy, so
no test sees another test's writes (helpers: ``beambell_assets/devtools/sample_home.py``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from beambell_assets.devtools.sample_home import (
    SAMPLE,
    Home,
    home_settings,
    materialize_ingest,
    materialize_train_and_score,
)
from beambell_assets.settings import Settings


def _shared_snapshot(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Home]) -> Home:
    """Built once per test run, whichever xdist worker asks first (the others wait, then reuse it)."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by its workers
    home, marker = root / f"shared-{name}", root / f"shared-{name}.json"
    with open(root / f".shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = Home.load(marker)
        if found is None:
            shutil.rmtree(home, ignore_errors=True)  # a build that failed half-way
            found = build(home)
            found.save(marker)
    return found


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """``make_settings(name="home", **overrides)``: ``Settings`` on ``tmp_path / name``."""

    def make(name: str = "home", **overrides: object) -> Settings:
        return home_settings(tmp_path / name, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    """An ephemeral (in-memory) Dagster instance, disposed after the test."""
    with DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def landed_sample(settings: Settings) -> Home:
    """:data:`SAMPLE` landed (with its gold) in ``settings``' home, nothing materialized yet."""
    return Home(settings, tuple(SAMPLE.land(settings)))


@pytest.fixture(scope="session")
def ingested_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """READ ONLY, shared: :data:`SAMPLE` landed and ingested (raw_pages, page_features, lf_votes per
    partition); no model yet. Use :func:`home_copy` to write."""

    def build(home: Path) -> Home:
        settings = home_settings(home)
        snapshot = Home(settings, tuple(SAMPLE.land(settings)))
        with snapshot.instance() as inst:
            materialize_ingest(snapshot, inst)
        return snapshot

    return _shared_snapshot(tmp_path_factory, "ingested", build)


@pytest.fixture(scope="session")
def graph_home(tmp_path_factory: pytest.TempPathFactory, ingested_home: Home) -> Home:
    """READ ONLY, shared: :func:`ingested_home` then the train job (a champion is deployed) and the
    predictions of every partition. Use :func:`home_copy` to write."""

    def build(home: Path) -> Home:
        snapshot = ingested_home.copy(home)
        with snapshot.instance() as inst:
            materialize_train_and_score(snapshot, inst)
        return snapshot

    return _shared_snapshot(tmp_path_factory, "graph", build)


@pytest.fixture
def home_copy(tmp_path: Path) -> Callable[[Home], Home]:
    """``home_copy(snapshot)``: this test's own writable copy of a shared snapshot."""
    made: list[int] = []

    def copy(snapshot: Home) -> Home:
        made.append(len(made))
        return snapshot.copy(tmp_path / f"home-copy-{len(made)}")

    return copy
