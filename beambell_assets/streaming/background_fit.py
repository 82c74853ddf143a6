"""Snorkel refits off the stream's path: one worker process that fits from a statistics snapshot.

Snorkel's ``LabelModel`` fitted from the statistics costs seconds for a large label space (500
epochs of a dense d x d loss, d = voting LFs x classes: 1,056 and 3.8 s for the web task here). Fitted
inline, every page queued behind it waits that long: that was the stream's p99. The learner
instead snapshots the statistics at the refit page, hands the fit to this worker and adopts the
result a fixed number of pages later (``LearnerConfig.snorkel_lag``). Which model scores a page
then depends only on the page count, never on timing: a replay after a restart, or a learner
without a worker, computes the same fit from the same snapshot and gets the same state.

A process, not a thread: Snorkel reseeds the process-wide Python, NumPy and torch RNGs while it
fits, and its loop would compete with the stream for the GIL. The worker is spawned (no fork of a
process holding Redis and database connections) and exits when its parent dies, ``kill -9``
included.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from beambell_assets.streaming.statistics import VoteStatistics

log = logging.getLogger(__name__)


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _init_worker(parent: int) -> None:
    """One thread for BLAS and torch (the stream has the other core), import and warm Snorkel."""
    threading.Thread(target=_exit_with_parent, args=(parent,), name="exit-with-parent", daemon=True).start()
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    import torch

    torch.set_num_threads(1)
    # A first fit pays torch's lazy imports (its optimiser pulls in the compiler stack): seconds.
    from beambell_assets.streaming.label_models import fit_snorkel

    warm = VoteStatistics(3, 2).update(np.array([[0, 0, 1], [1, 1, 0], [0, -1, 0], [1, 1, 1]]))
    fit_snorkel(warm, n_epochs=2)


def fit_snorkel_timed(
    stats: VoteStatistics, prior: np.ndarray, seed: int, n_epochs: int
) -> tuple[Any, float]:
    """Snorkel's fit from ``stats`` and the seconds it took (what the worker runs)."""
    from beambell_assets.streaming.label_models import fit_snorkel

    started = time.perf_counter()
    model = fit_snorkel(stats, prior, seed=seed, n_epochs=n_epochs)
    return model, time.perf_counter() - started


class SnorkelFitter:
    """A one-process pool for Snorkel fits; started once per pipeline worker, not part of state."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> SnorkelFitter:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
            self._pool.submit(int, 0)  # start the worker (and its warm-up) now, not at the first fit
        return self

    def submit(self, stats: VoteStatistics, prior: np.ndarray, seed: int, n_epochs: int) -> Future | None:
        """The fit as a future, or None when the worker cannot take it (the caller fits inline)."""
        for attempt in (1, 2):  # a pool whose worker died is broken: replace it once
            try:
                return self.start()._pool.submit(fit_snorkel_timed, stats, prior, seed, n_epochs)  # type: ignore[union-attr]
            except Exception:
                self.close()
                if attempt == 2:
                    log.exception("the Snorkel worker cannot take a fit; it will be fitted inline")
        return None

    def worker_pid(self) -> int:
        """The worker process's id (starting it if need be)."""
        return self.start()._pool.submit(os.getpid).result()  # type: ignore[union-attr]

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class PendingFit:
    """A Snorkel fit started at page ``started_at`` from ``snapshot``, to take effect at ``adopt_at``.

    Kept in the learner's state. Pickled (Beam state) it keeps the snapshot, or the model once
    known, never the future: whoever unpickles it can still produce the same model.
    """

    def __init__(
        self,
        started_at: int,
        adopt_at: int,
        snapshot: VoteStatistics | None,
        prior: np.ndarray,
        future: Future | None = None,
        model: Any = None,
    ) -> None:
        self.started_at, self.adopt_at = started_at, adopt_at
        self.snapshot, self.prior = snapshot, prior
        self.future, self.model = future, model
        self.fit_seconds: float | None = None
        self.waited_seconds = 0.0
        self.where = "worker" if future is not None else "inline"

    def result(self, seed: int, n_epochs: int) -> Any:
        """The fitted model: the worker's (waiting for it if need be), else fitted here."""
        if self.model is None and self.future is not None:
            waited = time.perf_counter()
            try:
                self.model, self.fit_seconds = self.future.result()
            except Exception:
                log.exception("the Snorkel worker's fit failed; fitting inline")
                self.where = "inline"
            self.waited_seconds = time.perf_counter() - waited
            self.future = None
        if self.model is None:
            assert self.snapshot is not None, "a pending fit without its snapshot"
            self.model, self.fit_seconds = fit_snorkel_timed(self.snapshot, self.prior, seed, n_epochs)
            self.where = "inline"
        self.snapshot = None
        return self.model

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        future = state.pop("future")
        if self.model is None and future is not None and future.done() and future.exception() is None:
            state["model"], state["fit_seconds"] = future.result()
            state["snapshot"] = None
        state["future"] = None
        return state
