"""A fast local LF applier that gives exactly Snorkel's label matrix.

``FastLFApplier(lfs).apply(df)`` returns the same ``L`` as
``snorkel.labeling.PandasLFApplier(lfs).apply(df, fault_tolerant=True)`` (abstain = -1; an LF
that raises on a row abstains there and is counted as a fault), much faster. How each LF is
evaluated (shared keyword doc-term matrix, column forms over fields read and tokenised once per
chunk, Snorkel's per-row loop for the rest, a per-row fallback when a column form raises) is the
applier core's (:mod:`~beambell_assets.labeling.applier_core`), shared with the Beam engine.

This module is the local engine: rows are processed in chunks (memory stays bounded by the chunk
size, not the frame) and, with ``n_jobs > 1``, the chunks are spread over a process pool.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from beambell_assets.labeling.applier_core import (
    PATH_COLUMN,
    PATH_FALLBACK,
    PATH_KEYWORD,
    PATH_MEMBERSHIP,
    PATH_REGEX,
    PATH_ROW,
    PATH_THRESHOLD,
    ApplyReport,
    ChunkLabeler,
    ChunkResult,
    LFPlan,
    VoteCollector,
    build_plan,
    chunk_bounds,
    dump_plan,
    lf_kinds,
    load_plan,
)
from beambell_assets.labeling.tokens import ChunkColumns

__all__ = [
    "PATH_COLUMN",
    "PATH_FALLBACK",
    "PATH_KEYWORD",
    "PATH_MEMBERSHIP",
    "PATH_REGEX",
    "PATH_ROW",
    "PATH_THRESHOLD",
    "ApplyReport",
    "FastLFApplier",
    "apply_lfs",
    "available_cpus",
    "lf_kinds",
]


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# process-pool plumbing: the plan reaches workers once, through the pool initializer - inherited
# without pickling under the fork start method, else as :func:`dump_plan` bytes; each worker
# labels its chunks with its own ChunkLabeler (and so its own token table)
_WORKER_LABELER: ChunkLabeler | None = None


def _init_worker(plan: LFPlan | bytes) -> None:
    global _WORKER_LABELER
    _WORKER_LABELER = ChunkLabeler(load_plan(plan) if isinstance(plan, bytes) else plan)


def _worker_chunk(chunk: pd.DataFrame, start: int) -> ChunkResult:
    assert _WORKER_LABELER is not None, "worker not initialised"
    return _WORKER_LABELER.label(chunk, start)


# --------------------------------------------------------------------------- the applier


class FastLFApplier:
    """Apply Snorkel LFs to a DataFrame; the label matrix equals ``PandasLFApplier``'s.

    Parameters
    ----------
    lfs
        Any Snorkel ``LabelingFunction``\\ s (names must be unique).
    n_jobs
        Worker processes. ``None`` = the CPUs this process may use; ``1`` = in-process. A pool is
        only started when the frame has at least two chunks' worth of rows, and only if the LFs
        can reach the workers (always under the ``fork`` start method; otherwise they must
        pickle - if not, the applier runs in-process and says so in the report).
    chunk_size
        Upper bound on rows per chunk (bounds memory: texts, token ids and a chunk's doc-term
        matrix exist for one chunk per process at a time).
    min_chunk_size
        Lower bound on rows per chunk when splitting a frame into enough chunks to keep all
        workers busy.
    start_method
        Multiprocessing start method for the pool. Default: ``fork`` when the calling process has
        a single thread (fast, and the LFs need not pickle); otherwise ``forkserver`` (forking a
        multi-threaded process, e.g. inside a Dagster step, can deadlock), else ``spawn``. The
        non-fork methods send the LFs with cloudpickle.
    cardinality
        The task's number of labels: a vote outside ``0..cardinality-1`` is then an abstain and a
        fault of its LF (``ApplyReport.invalid_counts``). ``None``: votes are not checked.
    """

    def __init__(
        self,
        lfs: Sequence[LabelingFunction],
        n_jobs: int | None = None,
        chunk_size: int = 4096,
        min_chunk_size: int = 512,
        start_method: str | None = None,
        cardinality: int | None = None,
    ) -> None:
        self.lfs = list(lfs)
        self.plan = build_plan(self.lfs, cardinality)  # validates the names
        if n_jobs is not None and n_jobs < 1:
            raise ValueError("n_jobs must be >= 1 or None")
        if chunk_size < 1 or min_chunk_size < 1:
            raise ValueError("chunk sizes must be >= 1")
        self.n_jobs = available_cpus() if n_jobs is None else int(n_jobs)
        self.chunk_size = int(chunk_size)
        self.min_chunk_size = min(int(min_chunk_size), self.chunk_size)
        self.start_method = start_method  # None: chosen per apply() call, see _pick_start_method
        self.lf_paths = dict(self.plan.paths)
        self._labeler = ChunkLabeler(self.plan)  # in-process chunks; one token table across calls

    @property
    def lf_names(self) -> list[str]:
        return list(self.plan.names)

    def __repr__(self) -> str:
        return f"FastLFApplier({len(self.lfs)} LFs, n_jobs={self.n_jobs})"

    def _chunks(self, n: int, workers: int) -> list[tuple[int, int]]:
        n_chunks = math.ceil(n / self.chunk_size)
        if workers > 1:  # enough chunks to balance the pool (4 per worker), none tiny
            n_chunks = max(n_chunks, min(4 * workers, n // self.min_chunk_size))
            n_chunks = workers * math.ceil(n_chunks / workers)  # every worker gets as many
        return chunk_bounds(n, n_chunks)

    def _pick_start_method(self) -> str:
        if self.start_method is not None:
            return self.start_method
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods and threading.active_count() == 1:
            return "fork"
        return "forkserver" if "forkserver" in methods else "spawn"

    def _worker_payload(self, start_method: str) -> tuple[LFPlan | bytes | None, str | None]:
        """(what the pool initializer gets, why the LFs cannot go to worker processes)."""
        if start_method == "fork":
            return self.plan, None
        try:
            return dump_plan(self.plan), None
        except Exception as exc:
            return None, f"LFs do not pickle ({type(exc).__name__}: {exc})"[:200]

    def apply(
        self,
        df: pd.DataFrame,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, ApplyReport]:
        """Label ``df``: ``(L, report)`` with ``L`` int64 of shape (len(df), len(lfs)).

        ``progress(rows_done, rows_total)`` is called as chunks finish, if given.
        """
        t_start = time.perf_counter()
        n = len(df)
        votes = VoteCollector(self.plan, n)
        mode = "in-process"
        workers = 1
        if n and self.plan.n_lfs:
            workers = max(1, min(self.n_jobs, n // self.min_chunk_size)) if self.n_jobs > 1 else 1
            chunks = self._chunks(n, workers)
            blocker = payload = None
            use_pool = workers > 1 and len(chunks) > 1
            start_method = self._pick_start_method()
            if use_pool:
                payload, blocker = self._worker_payload(start_method)
                use_pool = blocker is None
            if blocker:
                mode = f"in-process ({blocker})"
            if use_pool:
                mode = f"process pool ({workers} workers, {start_method})"
                self._apply_pool(df, chunks, workers, start_method, payload, votes, progress)
            else:
                workers = 1
                for s, e in chunks:
                    votes.add(self._labeler.label(df.iloc[s:e], s))
                    if progress is not None:
                        progress(e, n)
        return votes.L, votes.report(time.perf_counter() - t_start, n_jobs=workers, mode=mode)

    def columns(self, df: pd.DataFrame) -> ChunkColumns:
        """``df``'s fields, to be read once by :meth:`apply_chunk` and by the caller afterwards."""
        return self._labeler.columns(df)

    def apply_chunk(self, columns: ChunkColumns) -> tuple[np.ndarray, ApplyReport]:
        """Label ``columns.df`` in this process as one chunk, reading fields through ``columns``.

        For callers that need the same fields afterwards (e.g. the streaming retrain hashes the
        text's tokens): they read them from ``columns`` (best made by :meth:`columns`, which
        tokenises into this applier's table) instead of tokenising again.
        """
        t0 = time.perf_counter()
        votes = VoteCollector(self.plan, len(columns.df))
        votes.add(self._labeler.label(columns.df, 0, columns))
        return votes.L, votes.report(time.perf_counter() - t0)

    def _apply_pool(
        self,
        df: pd.DataFrame,
        chunks: list[tuple[int, int]],
        workers: int,
        start_method: str,
        payload: LFPlan | bytes | None,
        votes: VoteCollector,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        n = len(df)
        max_in_flight = 2 * workers  # bounds the chunks pickled and waiting at any time
        ctx = multiprocessing.get_context(start_method)
        done = 0
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(payload,)
        ) as pool:
            pending: deque[tuple[int, int, Future[ChunkResult]]] = deque()
            next_chunk = 0

            def top_up() -> None:
                nonlocal next_chunk
                while next_chunk < len(chunks) and len(pending) < max_in_flight:
                    s, e = chunks[next_chunk]
                    pending.append((s, e, pool.submit(_worker_chunk, df.iloc[s:e], s)))
                    next_chunk += 1

            try:
                top_up()
                while pending:
                    s, e, fut = pending.popleft()
                    top_up()
                    votes.add(fut.result())
                    done += e - s
                    if progress is not None:
                        progress(done, n)
            except BaseException:  # an LF error Snorkel would raise too, or an interrupt
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def apply_lfs(
    df: pd.DataFrame, lfs: Sequence[LabelingFunction], n_jobs: int | None = None
) -> tuple[np.ndarray, ApplyReport]:
    """One-shot ``FastLFApplier(lfs, n_jobs).apply(df)``."""
    return FastLFApplier(lfs, n_jobs=n_jobs).apply(df)
