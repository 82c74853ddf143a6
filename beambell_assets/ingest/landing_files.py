"""What was read of each landing file: size, mtime and content hash per ingest (``landing_files``).

A writer that cannot rename may pause mid-file; the landing sensor's settle rule (the same size on
``landing_settle_ticks`` consecutive ticks) makes that unlikely to be read half-way, and this record
makes it detectable when it happens anyway: the sensor compares each ingested file with its last
recorded fingerprint and re-ingests a changed file as a new version of its batch (a run that
replaces the partition's rows), logging it loudly. A file that changes *while* it is read fails
the step with :class:`LandingFileChanged`, an ``OSError`` the step's retry policy retries.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from beambell_assets.ingest.readers import unsafe_path_reason
from beambell_assets.storage.warehouse import Warehouse, utcnow

_CHUNK = 1 << 20


class LandingFileChanged(OSError):
    """The file's size or mtime changed while it was being read: transient, retry the step."""


@dataclass(frozen=True)
class Fingerprint:
    size_bytes: int
    mtime_ns: int
    sha256: str

    def same_stat(self, other: Fingerprint | tuple[int, int]) -> bool:
        size, mtime = (other.size_bytes, other.mtime_ns) if isinstance(other, Fingerprint) else other
        return (self.size_bytes, self.mtime_ns) == (size, mtime)


def file_stat(path: Path) -> tuple[int, int]:
    """(size, mtime_ns) of the entry itself (a link is not followed)."""
    st = os.lstat(path)
    return st.st_size, st.st_mtime_ns


def fingerprint(path: Path, root: Path) -> Fingerprint:
    """Size, mtime and SHA-256 of a landing file; a link out of ``root`` is described, not read."""
    if unsafe_path_reason(path, root):
        size, mtime = file_stat(path)
        return Fingerprint(size, mtime, hashlib.sha256(b"unsafe:" + os.fsencode(path.name)).hexdigest())
    st = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return Fingerprint(st.st_size, st.st_mtime_ns, digest.hexdigest())


def check_unchanged(path: Path, root: Path, before: Fingerprint) -> None:
    """Raise :class:`LandingFileChanged` if ``path`` is no longer what ``before`` described."""
    if unsafe_path_reason(path, root):
        now = file_stat(path)
    else:
        st = path.stat()
        now = (st.st_size, st.st_mtime_ns)
    if not before.same_stat(now):
        detail = f"{before.size_bytes} -> {now[0]} bytes"
        raise LandingFileChanged(f"{path.name} changed while it was read ({detail}); retrying")


def record_ingest(wh: Warehouse, conn: Any, key: str, fp: Fingerprint, rows_read: int) -> int:
    """Append this ingest of ``key`` to ``landing_files`` (in ``conn``); returns its version."""
    t = wh.table("landing_files")
    last = conn.execute(sa.select(sa.func.max(t.c.version)).where(t.c.partition_key == key)).scalar()
    version = int(last or 0) + 1
    conn.execute(
        t.insert(),
        {
            "partition_key": key,
            "version": version,
            "size_bytes": fp.size_bytes,
            "mtime_ns": fp.mtime_ns,
            "sha256": fp.sha256,
            "rows_read": rows_read,
            "ingested_at": utcnow(),
        },
    )
    return version


def last_ingests(wh: Warehouse) -> dict[str, tuple[Fingerprint, int]]:
    """Partition key -> (fingerprint, version) of its latest ingest."""
    rows = wh.read(
        "SELECT l.partition_key, l.size_bytes, l.mtime_ns, l.sha256, l.version FROM landing_files l "
        "JOIN (SELECT partition_key, MAX(version) AS v FROM landing_files GROUP BY partition_key) m "
        "ON l.partition_key = m.partition_key AND l.version = m.v"
    )
    return {
        str(r.partition_key): (Fingerprint(int(r.size_bytes), int(r.mtime_ns), str(r.sha256)), int(r.version))
        for r in rows.itertuples()
    }
