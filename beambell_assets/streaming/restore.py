"""Rebuild the learner when a pipeline starts: checkpoint, committed tail, then the warehouse's gold.

Order matters: the newest valid checkpoint gives the state at its last applied message; the
committed pages after it are replayed (:func:`~beambell_assets.streaming.checkpoint.replay_tail`);
finally the gold labels are re-read from ``gold_labels`` (the source of truth: labels synced while
the stream was down are learned now) and the stateful LFs are refitted from them. A checkpoint whose
files are missing or corrupt is skipped for the one before it; with none, the stream starts fresh
and the tail replay covers every committed page.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from beambell_assets.labeling.task import Task
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.streaming.checkpoint import (
    CheckpointCorrupt,
    CheckpointRef,
    committed_tail,
    load_checkpoint,
    replay_tail,
)
from beambell_assets.streaming.learner import LearnerConfig, StreamLearner

log = logging.getLogger(__name__)


def _checkpoints(wh: Warehouse, task: str) -> list[CheckpointRef]:
    import json

    df = wh.read("SELECT * FROM stream_checkpoints WHERE task = :t ORDER BY version DESC", {"t": task})
    return [
        CheckpointRef(
            task=task,
            version=int(r["version"]),
            path=str(r["path"]),
            manifest=json.loads(r["sha256"]),
            last_message_id=r["last_message_id"] if isinstance(r["last_message_id"], str) else None,
            pages=int(r["pages"]),
        )
        for r in df.to_dict("records")
    ]


def gold_with_text(wh: Warehouse, task: Task) -> pd.DataFrame:
    """Every gold label of the task with its page's text (stream page first, else batch page)."""
    return wh.read(
        "SELECT g.page_id, COALESCE(s.text, p.text) AS text, g.label, g.source FROM gold_labels g "
        "LEFT JOIN stream_pages s ON s.page_id = g.page_id "
        "LEFT JOIN (SELECT page_id, MAX(text) AS text FROM pages GROUP BY page_id) p "
        "ON p.page_id = g.page_id "
        "WHERE g.task = :t AND COALESCE(s.text, p.text) IS NOT NULL",
        {"t": task.name},
    )


def restore_learner(
    wh: Warehouse, store: ArtifactStore, task: Task, stream: str, config: LearnerConfig | None = None
) -> tuple[StreamLearner, dict[str, Any]]:
    wh.migrate()
    report: dict[str, Any] = {"checkpoint": None, "skipped": []}
    learner = StreamLearner(task, config)
    for ref in _checkpoints(wh, task.name):
        try:
            learner = load_checkpoint(store, ref, StreamLearner(task, config))
        except (CheckpointCorrupt, ValueError) as exc:
            log.warning("stream checkpoint %s unusable: %s", ref.path, exc)
            report["skipped"].append(f"{ref.version}: {exc}")
            learner = StreamLearner(task, config)
            continue
        report["checkpoint"] = ref.version
        break
    report["replayed"] = replay_tail(learner, committed_tail(wh, stream, task.name, learner.last_applied))
    learner.load_gold(gold_with_text(wh, task))
    report["gold"] = len(learner.gold)
    report["last_applied"] = str(learner.last_applied) if learner.last_applied else None
    return learner, report
