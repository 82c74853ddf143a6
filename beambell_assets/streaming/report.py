"""What the stream did and what it learned, as plain numbers and tables (for the UI and the CLI).

:func:`stream_activity` reads the warehouse: messages committed, predictions by predictor and model
version, quarantine reasons, end-to-end latency (Redis' own enqueue time to the commit) and
throughput over a recent window. :func:`learned_state` reads the newest checkpoint and scores the
stream's online model and the batch champion on the *same* evaluation-side gold pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.labeling.task import Task
from beambell_assets.serving.model_store import load_model
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.streaming.checkpoint import latest_checkpoint, load_checkpoint
from beambell_assets.streaming.learner import StreamLearner
from beambell_assets.streaming.restore import gold_with_text
from beambell_assets.streaming.sink import STREAM_PARTITION
from beambell_assets.training.evaluation import evaluate
from beambell_assets.training.splits import gold_roles


def stream_activity(wh: Warehouse, stream: str, task: str, window_s: float = 3600.0) -> dict[str, Any]:
    since = utcnow() - timedelta(seconds=window_s)
    outcomes = wh.read(
        "SELECT kind, outcome, COUNT(*) AS n FROM stream_messages WHERE task = :t GROUP BY kind, outcome",
        {"t": task},
    )
    recent = wh.read(
        "SELECT enqueued_ms, committed_at FROM stream_messages WHERE stream = :s AND committed_at >= :since",
        {"s": stream, "since": since},
    )
    predictors = wh.read(
        "SELECT predictor, model_version, COUNT(*) AS pages FROM predictions "
        "WHERE partition_key = :p AND task = :t GROUP BY predictor, model_version ORDER BY pages DESC",
        {"p": STREAM_PARTITION, "t": task},
    )
    reasons = wh.read(
        "SELECT reason, COUNT(*) AS n FROM quarantine WHERE partition_key = :p AND source_file LIKE :f "
        "GROUP BY reason ORDER BY n DESC",
        {"p": STREAM_PARTITION, "f": f"{stream}#%"},
    )
    out: dict[str, Any] = {
        "messages": int(outcomes["n"].sum()) if len(outcomes) else 0,
        "outcomes": outcomes,
        "predictors": predictors,
        "quarantine_reasons": reasons,
        "window_s": window_s,
        "messages_in_window": len(recent),
    }
    if len(recent):
        committed = pd.to_datetime(recent["committed_at"])
        enqueued = pd.to_datetime(recent["enqueued_ms"].astype("int64"), unit="ms")
        latency = (committed - enqueued).dt.total_seconds().to_numpy()
        span = max((committed.max() - committed.min()).total_seconds(), 1.0)
        out.update(
            latency_p50_s=float(np.percentile(latency, 50)),
            latency_p95_s=float(np.percentile(latency, 95)),
            latency_p99_s=float(np.percentile(latency, 99)),
            throughput_pages_per_s=len(recent) / span,
            last_commit=str(committed.max()),
        )
    return out


def learned_state(wh: Warehouse, store: ArtifactStore, task: Task) -> dict[str, Any]:
    """The newest checkpoint's summary, LF weights, and online model vs champion on eval gold."""
    ref = latest_checkpoint(wh, task.name)
    if ref is None:
        return {"checkpoint": None}
    learner = load_checkpoint(store, ref, StreamLearner(task))
    lm = learner.label_model
    weights = pd.DataFrame(
        {
            "lf": learner.lf_names,
            "weight": lm.lf_weights if len(lm.lf_weights) else np.nan,
            "coverage": learner.stats.lf_coverage(),
        }
    ).sort_values("weight", ascending=False, na_position="last")
    out: dict[str, Any] = {
        "checkpoint": ref.version,
        "checkpoint_pages": ref.pages,
        "summary": learner.summary(),
        "lf_weights": weights,
        "comparison": compare_on_gold(wh, task, learner),
    }
    return out


def compare_on_gold(wh: Warehouse, task: Task, learner: StreamLearner) -> pd.DataFrame:
    """Online model, label model and champion on the evaluation-side gold pages (same rows)."""
    gold = gold_with_text(wh, task)
    if gold.empty:
        return pd.DataFrame(columns=["model", "version", "n_gold", "accuracy", "macro_f1"])
    roles = gold_roles(gold)
    ev = gold[roles.reindex(gold["page_id"].astype(str)).to_numpy() == "eval"]
    ev = ev[ev["label"].isin(task.label_names)]
    texts = ev["text"].fillna("").astype(str).tolist()
    y = np.array([task.label_index(v) for v in ev["label"]], dtype=np.int64)
    rows = []
    candidates: list[tuple[str, str, Any]] = []
    if learner.online.fitted:
        candidates.append(("online_model", learner.online.version, learner.online.predict_proba))
    champion = ModelRegistry(wh, task.name).champion()
    if champion is not None:
        model = load_model(champion.artifact_path, expected_sha256=champion.artifact_sha256)
        candidates.append(("champion", champion.version, model.predict_proba))
    for name, version, predict in candidates:
        if not texts:
            continue
        res = evaluate(y, np.asarray(predict(texts)).argmax(axis=1), list(task.label_names))
        rows.append(
            {
                "model": name,
                "version": version,
                "n_gold": len(y),
                "accuracy": res["accuracy"],
                "macro_f1": res["macro_f1"],
            }
        )
    return pd.DataFrame(rows, columns=["model", "version", "n_gold", "accuracy", "macro_f1"])
