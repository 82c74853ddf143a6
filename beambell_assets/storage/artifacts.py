"""Artifacts (frames, label matrices, models, reports) under one root that may be object storage.

Layout: ``<root>/<asset>/<partition>.parquet`` for partitioned frames and
``<root>/<asset>/<name>.<ext>`` otherwise. The root is a ``UPath`` so ``s3://…`` or ``gs://…`` work
with the matching fsspec package installed; locally, every write goes to a temporary file that is
renamed into place, so a killed run never leaves a half-written artifact behind.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from upath import UPath


class ArtifactStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = UPath(root)

    def path(self, asset: str, name: str) -> UPath:
        return self.root / asset / name

    def _is_local(self) -> bool:
        return self.root.protocol in ("", "file", "local")

    def write_bytes(self, asset: str, name: str, data: bytes) -> UPath:
        target = self.path(asset, name)
        if self._is_local():
            local = Path(str(target.path))
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex}.tmp")
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
        return sorted(p.name[: -len(".parquet")] for p in folder.iterdir() if p.name.endswith(".parquet"))

    # -- json -----------------------------------------------------------------
    def write_json(self, asset: str, name: str, obj: Any) -> UPath:
        return self.write_bytes(asset, f"{name}.json", json.dumps(obj, indent=2, default=str).encode())

    def read_json(self, asset: str, name: str) -> Any:
        return json.loads(self.read_bytes(asset, f"{name}.json"))
