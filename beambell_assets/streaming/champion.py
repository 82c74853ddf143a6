"""Follow the registry's champion from a long-running process: poll, load off the hot path, swap.

A background thread asks the registry every ``poll_s`` seconds which model is champion; a new one
is loaded (skops, allow-listed, SHA-256 checked) and warmed up in that thread, then swapped in with
one reference assignment, so the stream never waits for a load and scores with a promotion within
``poll_s`` + load time. A model that fails to load is not retried until the registry changes; the
previous champion keeps scoring. A registry that cannot be reached is retried on the next poll.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from beambell_assets.labeling.task import Task
from beambell_assets.serving.model_store import load_model
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.streaming.learner import Champion
from beambell_assets.training.end_model import end_model_spec

log = logging.getLogger(__name__)


class ChampionWatcher:
    def __init__(self, warehouse_url: str, task: Task, poll_s: float = 2.0) -> None:
        self.task = task
        self.poll_s = poll_s
        self.registry = ModelRegistry(Warehouse(warehouse_url), task.name)
        self.current: Champion | None = None
        self.swaps: list[dict[str, Any]] = []
        self.last_error: str | None = None
        self._failed: tuple[str, str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One poll: True when a new champion was swapped in."""
        try:
            record = self.registry.champion()
        except Exception as exc:  # registry unreachable: keep scoring with what we have
            error = f"registry check failed: {type(exc).__name__}: {exc}"
            if error != self.last_error:
                log.warning(error)
            self.last_error = error
            return False
        if record is None or (self.current is not None and self.current.version == record.version):
            return False
        if self._failed == (record.version, record.artifact_sha256):
            return False
        t0 = time.perf_counter()
        try:
            model = load_model(record.artifact_path, expected_sha256=record.artifact_sha256)
            probs = model.predict_proba(["warm up"])
            if getattr(probs, "shape", (0, 0))[1] != self.task.cardinality:
                raise ValueError(
                    f"model gives {probs.shape[1]} classes, the task has {self.task.cardinality}"
                )
        except Exception as exc:
            self._failed = (record.version, record.artifact_sha256)
            self.last_error = f"could not load champion {record.version}: {type(exc).__name__}: {exc}"
            log.error(self.last_error)
            return False
        previous = self.current.version if self.current else None
        self.current = Champion(record.version, model, end_model_spec(record.metrics))
        self.last_error = None
        self.swaps.append(
            {
                "version": record.version,
                "previous": previous,
                "at": time.time(),
                "load_seconds": round(time.perf_counter() - t0, 3),
            }
        )
        log.info("stream scores with champion %s (was %s)", record.version, previous)
        return True

    def start(self) -> ChampionWatcher:
        if self._thread is None:
            self.registry.wh.migrate()  # a fresh home: the registry table must exist before it is read
            self.check()
            self._thread = threading.Thread(target=self._run, name="champion-watcher", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check()

    def stop(self) -> None:
        self._stop.set()
