"""What the prediction service holds between requests: the task, the served champion, its stats.

One :class:`ServiceState` per app, on ``app.state.beambell``; routes reach it through the request
(:func:`service_state`) rather than closures, so each router is a plain module. The champion is
a :class:`ModelSlot` replaced as a whole (hot swap = one reference assignment): a request takes
the slot once (:func:`serving_slot`) and finishes on that model whatever is swapped in meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fastapi import HTTPException, Request

from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.task import Task
from beambell_assets.serving.features_online import online_features
from beambell_assets.serving.model_store import load_model
from beambell_assets.serving.registry import ModelRecord, ModelRegistry
from beambell_assets.settings import Settings
from beambell_assets.storage.warehouse import Warehouse

log = logging.getLogger(__name__)

_WARMUP_PAGE = {
    "url": "https://www.example.com/news/2026/warm-up",
    "title": "Warm-up page",
    "text": "A short page the service scores once after loading a model, before serving it.",
}


@dataclass(frozen=True)
class ModelSlot:
    """One loaded champion; replaced as a whole, never mutated."""

    record: ModelRecord
    model: Any
    loaded_at: datetime

    @property
    def version(self) -> str:
        return self.record.version


@dataclass
class Scored:
    """Predictions for a list of pages, from one model."""

    version: str
    proba: np.ndarray  # (n, k)
    L: np.ndarray | None  # (n, m) LF votes, or None when not asked for
    features: Any


@dataclass
class ServiceState:
    """The task, the champion being served and what the service has done (for /v1/stats)."""

    settings: Settings
    task: Task
    reload_interval_s: float
    current: ModelSlot | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    calls: Counter[str] = field(default_factory=Counter)
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100))
    swaps: list[dict[str, Any]] = field(default_factory=list)
    last_check_at: datetime | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        self.warehouse = Warehouse(self.settings.warehouse_url)
        self.registry = ModelRegistry(self.warehouse, self.task.name)
        # a vote for a label the task lacks is no vote (it named no label in the answer)
        self.applier = FastLFApplier(list(self.task.lfs), n_jobs=1, cardinality=self.task.cardinality)
        # Snorkel preprocessors memoise per applier call and are reset between chunks: such LFs
        # must not run in two requests at once. Plain LFs are stateless and run concurrently.
        stateful = any(getattr(lf, "_pre", None) for lf in self.task.lfs)
        self._lf_lock: Any = threading.Lock() if stateful else contextlib.nullcontext()
        self._reload_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._failed: tuple[str, str] | None = None  # (version, sha) that failed to load

    # -- bookkeeping -------------------------------------------------------------------------
    def count(self, name: str) -> None:
        with self._stats_lock:
            self.calls[name] += 1

    def call_counts(self) -> dict[str, int]:
        """A copy of the per-endpoint call counts, taken under the lock the counters use."""
        with self._stats_lock:
            return dict(self.calls)

    # -- scoring ---------------------------------------------------------------------------
    def score(self, slot: ModelSlot, pages: Sequence[dict[str, Any]], with_votes: bool) -> Scored:
        """Features, LF votes and class probabilities of ``pages`` with ``slot``'s model."""
        features = online_features(pages, self.task)
        L = None
        if with_votes:
            with self._lf_lock:
                L, _ = self.applier.apply(features)
        texts = features[self.task.text_field].tolist()
        proba = np.asarray(slot.model.predict_proba(texts), dtype=float)
        return Scored(slot.version, proba, L, features)

    # -- hot swap --------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Serve the registry's champion; True when a new model was swapped in.

        Called from the poll loop and ``POST /v1/reload`` (in worker threads); one at a time.
        """
        with self._reload_lock:
            self.last_check_at = datetime.now(UTC)
            record = self.registry.champion()
            current = self.current
            if record is None:
                if current is None:
                    self.last_error = f"no champion for task {self.task.name!r} in the registry yet"
                return False  # a champion never disappears except by promotion; keep serving
            if current is not None and (record.version, record.artifact_sha256) == (
                current.version,
                current.record.artifact_sha256,
            ):
                return False
            if self._failed == (record.version, record.artifact_sha256):
                return False
            t0 = time.perf_counter()
            try:
                slot = self._load(record)
            except Exception as exc:
                self._failed = (record.version, record.artifact_sha256)
                self.last_error = f"could not load champion {record.version}: {type(exc).__name__}: {exc}"
                log.error("%s; still serving %s", self.last_error, current.version if current else "nothing")
                return False
            self.current = slot  # the swap: one reference assignment; requests hold their own
            self.last_error = None
            self.swaps.append(
                {
                    "version": slot.version,
                    "previous": current.version if current else None,
                    "at": slot.loaded_at.isoformat(),
                    "load_seconds": round(time.perf_counter() - t0, 3),
                }
            )
            log.info("serving model %s (was %s)", slot.version, current.version if current else None)
            return True

    def _load(self, record: ModelRecord) -> ModelSlot:
        model = load_model(record.artifact_path, expected_sha256=record.artifact_sha256)
        k = getattr(model, "n_classes_", None)
        if k is not None and int(k) != self.task.cardinality:
            raise ValueError(f"model has {k} classes, task {self.task.name!r} has {self.task.cardinality}")
        slot = ModelSlot(record, model, datetime.now(UTC))
        scored = self.score(slot, [_WARMUP_PAGE], with_votes=True)  # warm caches off the request path
        if scored.proba.shape != (1, self.task.cardinality):
            raise ValueError(f"model returned probabilities of shape {scored.proba.shape}")
        return slot

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval_s)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as exc:  # registry unreachable: keep serving, try again next time
                self.last_error = f"registry check failed: {type(exc).__name__}: {exc}"
                log.warning(self.last_error)


def service_state(request: Request) -> ServiceState:
    """The app's state (``create_app`` puts it on ``app.state.beambell``)."""
    return request.app.state.beambell


def serving_slot(state: ServiceState) -> ModelSlot:
    """The champion this request runs on, taken once; 503 with the reason while there is none."""
    slot = state.current  # taken once: this request finishes on this model
    if slot is None:
        raise HTTPException(status_code=503, detail=state.last_error or "no model loaded yet")
    return slot
