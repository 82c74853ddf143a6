"""Durable checkpoints of the learned state, so a restart resumes with what the stream learned.

Beam keeps the learner in keyed state, which a local runner holds in memory (a cluster runner
checkpoints it itself, e.g. Flink's state backend). beambell also writes the state out every
``checkpoint_every`` pages: files under ``artifacts/stream/<task>/ckpt-<version>/`` —
``statistics.npz`` and ``online.npz`` (numpy arrays), ``online_sgd.skops`` (the SGD model, loaded
through the model store's allow-list) and ``state.json`` — and then a ``stream_checkpoints`` row,
**in the same warehouse transaction as the predictions the state covers**. The row is the commit
marker: files without a row are ignored, and a file whose SHA-256 differs from the row's manifest
is refused. No pickle anywhere: a checkpoint folder may sit on shared storage.

Restoring (:func:`restore_learner`) loads the newest checkpoint and then replays the committed
pages after it (their LF votes are in ``predictions.lf_votes``, their text in ``stream_pages``),
so the restored state covers exactly the committed pages: none is lost from learning, none counted
twice (the learner skips redelivered messages at or before its last applied position).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.serving.model_store import dump_model_bytes, load_model_bytes
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.streaming.learner import Position, StreamLearner, dumps
from beambell_assets.streaming.online_model import online_model_arrays, online_model_from_arrays
from beambell_assets.streaming.statistics import VoteStatistics

ASSET = "stream"
_FILES = ("statistics.npz", "online.npz", "online_sgd.skops", "state.json")


def _npz(arrays: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _unnpz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclass(frozen=True)
class CheckpointRef:
    task: str
    version: int
    path: str
    manifest: dict[str, str]
    last_message_id: str | None
    pages: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.manifest, sort_keys=True).encode()).hexdigest()


def write_checkpoint_files(store: ArtifactStore, learner: StreamLearner, version: int) -> CheckpointRef:
    """Write the files of checkpoint ``version`` (not yet committed: see :func:`checkpoint_row`).

    Pages the online model has not learned yet are learned first, so the checkpoint holds no
    half-applied page."""
    learner.flush_online()
    folder = f"{learner.task.name}/ckpt-{version:08d}"
    blobs = {
        "statistics.npz": _npz(learner.stats.to_arrays()),
        "online.npz": _npz(online_model_arrays(learner.online)),
        "online_sgd.skops": dump_model_bytes(learner.online.clf),
        "state.json": dumps(learner.state_json()),
    }
    for name, data in blobs.items():
        store.write_bytes(ASSET, f"{folder}/{name}", data)
    manifest = {name: hashlib.sha256(data).hexdigest() for name, data in blobs.items()}
    return CheckpointRef(
        task=learner.task.name,
        version=version,
        path=f"{ASSET}/{folder}",
        manifest=manifest,
        last_message_id=str(learner.last_applied) if learner.last_applied else None,
        pages=learner.stats.pages,
    )


def checkpoint_row(ref: CheckpointRef, summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": ref.task,
        "version": ref.version,
        "last_message_id": ref.last_message_id,
        "pages": ref.pages,
        "path": ref.path,
        "sha256": json.dumps(ref.manifest, sort_keys=True),
        "summary_json": json.dumps(summary, default=float),
        "created_at": utcnow(),
    }


def latest_checkpoint(wh: Warehouse, task: str) -> CheckpointRef | None:
    df = wh.read(
        "SELECT * FROM stream_checkpoints WHERE task = :t ORDER BY version DESC LIMIT 1", {"t": task}
    )
    if df.empty:
        return None
    row = df.iloc[0]
    return CheckpointRef(
        task=task,
        version=int(row["version"]),
        path=str(row["path"]),
        manifest=json.loads(row["sha256"]),
        last_message_id=row["last_message_id"] if isinstance(row["last_message_id"], str) else None,
        pages=int(row["pages"]),
    )


class CheckpointCorrupt(ValueError):
    """A checkpoint file is missing or differs from the committed manifest."""


def load_checkpoint(store: ArtifactStore, ref: CheckpointRef, learner: StreamLearner) -> StreamLearner:
    """Fill ``learner`` (a fresh one for the same task) from checkpoint ``ref``."""
    asset, _, folder = ref.path.partition("/")
    blobs: dict[str, bytes] = {}
    for name in _FILES:
        try:
            data = store.read_bytes(asset, f"{folder}/{name}")
        except FileNotFoundError as exc:
            raise CheckpointCorrupt(f"checkpoint {ref.path}: {name} is missing") from exc
        if hashlib.sha256(data).hexdigest() != ref.manifest.get(name):
            raise CheckpointCorrupt(f"checkpoint {ref.path}: {name} does not match its committed SHA-256")
        blobs[name] = data
    learner.restore_json(json.loads(blobs["state.json"]))
    learner.stats = VoteStatistics.from_arrays(_unnpz(blobs["statistics.npz"]))
    learner.online = online_model_from_arrays(
        _unnpz(blobs["online.npz"]), load_model_bytes(blobs["online_sgd.skops"])
    )
    return learner


def committed_tail(wh: Warehouse, stream: str, task: str, after: Position | None) -> pd.DataFrame:
    """Committed stream predictions after ``after`` in stream order: message_id, lf_votes, text."""
    df = wh.read(
        "SELECT m.message_id, m.enqueued_ms, m.seq, p.lf_votes, s.text FROM stream_messages m "
        "JOIN predictions p ON p.partition_key = 'stream' AND p.task = m.task AND p.page_id = m.page_id "
        "LEFT JOIN stream_pages s ON s.page_id = m.page_id "
        "WHERE m.stream = :s AND m.task = :t AND m.kind = 'page' AND m.outcome = 'predicted' "
        "AND (m.enqueued_ms > :ms OR (m.enqueued_ms = :ms AND m.seq > :seq)) "
        "ORDER BY m.enqueued_ms, m.seq",
        {"s": stream, "t": task, "ms": after.ms if after else -1, "seq": after.seq if after else -1},
    )
    return df


def replay_tail(learner: StreamLearner, tail: pd.DataFrame, chunk: int = 500) -> int:
    """Fold committed pages the checkpoint does not cover back into the learner (see module doc)."""
    if tail.empty:
        return 0
    index = {name: j for j, name in enumerate(learner.lf_names)}
    labels = {name: c for c, name in enumerate(learner.task.label_names)}
    L = np.full((len(tail), learner.m), -1, dtype=np.int64)
    for i, votes in enumerate(tail["lf_votes"]):
        for lf, label in json.loads(votes or "{}").items():
            if lf in index and label in labels:
                L[i, index[lf]] = labels[label]
    texts = tail["text"].fillna("").astype(str).tolist()
    for s in range(0, len(tail), chunk):
        learner.learn(L[s : s + chunk], texts[s : s + chunk])
    learner.flush_online()
    learner.last_applied = Position.parse(str(tail["message_id"].iloc[-1]))
    return len(tail)


def prune_checkpoints(store: ArtifactStore, task: str, keep: int = 3) -> int:
    """Delete the files of all but the newest ``keep`` checkpoint folders (rows stay as history)."""
    folder = store.path(ASSET, task)
    if not folder.exists():
        return 0
    versions = sorted(p for p in folder.iterdir() if p.name.startswith("ckpt-"))
    removed = 0
    for old in versions[:-keep] if keep > 0 else versions:
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
        removed += 1
    return removed
