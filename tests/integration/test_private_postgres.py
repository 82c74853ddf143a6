"""The fault tests' private PostgreSQL: a real server from the machine's binaries that starts,
restarts (cutting connections) and leaves nothing behind, also when it fails to start."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from beambell_assets.devtools.postgres import PrivatePostgres

pytestmark = pytest.mark.integration


def test_starts_restarts_and_removes_its_folder() -> None:
    server = PrivatePostgres().start()
    try:
        engine = sa.create_engine(server.admin_url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
            assert server.restart() < 60
            with pytest.raises(sa.exc.OperationalError):  # the restart cut this connection
                conn.execute(sa.text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        engine.dispose()
    finally:
        server.stop()
    assert not server.data.exists()


def test_a_server_that_fails_to_start_leaves_no_folder() -> None:
    server = PrivatePostgres()
    assert server.data.is_dir()
    # an initdb that fails, where the postgres user (runuser, as root) can run it
    broken = Path(tempfile.mkdtemp(prefix="beambell-broken-initdb-"))
    try:
        broken.chmod(0o755)
        (broken / "initdb").write_text("#!/bin/sh\necho 'initdb: cannot create directory' >&2\nexit 1\n")
        (broken / "initdb").chmod(0o755)
        server.bin = broken
        with pytest.raises(RuntimeError, match=r"initdb failed .*cannot create directory"):
            server.start()
    finally:
        shutil.rmtree(broken)
    assert not server.data.exists()
