"""Artifacts (frames, label matrices, models, reports) under one root that may be object storage.

Layout: ``<root>/<asset>/<partition>.parquet`` for partitioned frames and
``<root>/<asset>/<name>.<ext>`` otherwise. The root is a ``UPath`` so ``s3://…`` or ``gs://…`` work
with the matching fsspec package installed; locally, every write goes to a temporary file that is
renamed into place, so a killed run never leaves a half-written artifact behind.

Names come from partition keys, that is from landing file names, which may be as long as the file
system allows (255 bytes): a name component longer than ``MAX_NAME_BYTES`` is stored under a name
derived from its hash (``~h-<sha256>.<ext>``) with a ``.name`` sidecar holding the real name, so
``frame_keys`` still answers the real keys and temp-file decorations never overflow the limit.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from upath import UPath

#: Longest name component stored as given (file systems allow 255 bytes; object stores ~1024).
MAX_NAME_BYTES = 200
_HASHED = "~h-"
_SIDECAR = ".name"


def storable_name(name: str) -> str:
    """``name`` with every too-long component (or one that looks hashed) replaced by its hash."""
    return "/".join(_storable_component(part) for part in name.split("/"))


def _storable_component(part: str) -> str:
    raw = part.encode("utf-8", "surrogateescape")
    if len(raw) <= MAX_NAME_BYTES and not part.startswith(_HASHED):
        return part
    stem, dot, ext = part.rpartition(".")
    suffix = f".{ext}" if dot and stem and 0 < len(ext) <= 16 and ext.isascii() and ext.isalnum() else ""
    return f"{_HASHED}{hashlib.sha256(raw).hexdigest()[:40]}{suffix}"


class ArtifactStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = UPath(root)

    def path(self, asset: str, name: str) -> UPath:
        return self.root / asset / storable_name(name)

    def _is_local(self) -> bool:
        return self.root.protocol in ("", "file", "local")

    def write_bytes(self, asset: str, name: str, data: bytes) -> UPath:
        target = self.path(asset, name)
        if target.name != name.rsplit("/", 1)[-1]:  # hashed: remember the real name beside it
            real = name.rsplit("/", 1)[-1].encode("utf-8", "surrogateescape")
            self._write(target.with_name(target.name + _SIDECAR), real)
        return self._write(target, data)

    def _write(self, target: UPath, data: bytes) -> UPath:
        if self._is_local():
            local = Path(str(target.path))
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{uuid.uuid4().hex}.tmp")  # never longer than a name allows
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, local)
            finally:
                tmp.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return target

    def read_bytes(self, asset: str, name: str) -> bytes:
        target = self.path(asset, name)
        if not target.exists():
            raise FileNotFoundError(f"artifact {asset}/{name} not found under {self.root}")
        return target.read_bytes()

    def exists(self, asset: str, name: str) -> bool:
        return self.path(asset, name).exists()

    # -- frames ---------------------------------------------------------------
    def write_frame(self, asset: str, key: str, df: pd.DataFrame) -> UPath:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return self.write_bytes(asset, f"{key}.parquet", buf.getvalue())

    def read_frame(self, asset: str, key: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.read_bytes(asset, f"{key}.parquet")), columns=columns)

    def frame_keys(self, asset: str) -> list[str]:
        folder = self.root / asset
        if not folder.exists():
            return []
        names = [self._real_name(p) for p in folder.iterdir() if p.name.endswith(".parquet")]
        return sorted(n[: -len(".parquet")] for n in names)

    @staticmethod
    def _real_name(stored: UPath) -> str:
        if not stored.name.startswith(_HASHED):
            return stored.name
        sidecar = stored.with_name(stored.name + _SIDECAR)
        return sidecar.read_bytes().decode("utf-8", "surrogateescape") if sidecar.exists() else stored.name

    # -- json -----------------------------------------------------------------
    def write_json(self, asset: str, name: str, obj: Any) -> UPath:
        return self.write_bytes(asset, f"{name}.json", json.dumps(obj, indent=2, default=str).encode())

    def read_json(self, asset: str, name: str) -> Any:
        return json.loads(self.read_bytes(asset, f"{name}.json"))
