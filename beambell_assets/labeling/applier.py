"""A fast local LF applier that gives exactly Snorkel's label matrix.

``FastLFApplier(lfs).apply(df)`` returns the same ``L`` as
``snorkel.labeling.PandasLFApplier(lfs).apply(df, fault_tolerant=True)`` (abstain = -1; an LF
that raises on a row abstains there and is counted as a fault), much faster:

* :class:`~beambell_assets.labeling.lf_types.KeywordLF`\\ s reading the same field share one
  binary document-term matrix over the union of their keywords
  (:class:`~beambell_assets.labeling.lf_types.KeywordMatcher`); each LF's hits and vetoes are a
  sparse product.
* ``RegexLF`` / ``MembershipLF`` run over the field's column of strings; ``ThresholdLF`` compares
  the numeric column.
* Any other LF with a ``column_votes(df)`` method (e.g. a model LF) is called on whole chunks.
* Each field is read, and tokenised, once per chunk for all of these
  (:class:`~beambell_assets.labeling.lf_types.ChunkColumns`): the keyword groups and the model LFs
  share the token ids of a text field.
* Everything else - plain Snorkel ``LabelingFunction``\\ s, LFs with preprocessors, declarative
  LFs whose subclass changed the per-row rule - runs per row over pandas rows exactly as Snorkel
  does (``df.apply(f, axis=1)``), fault tolerant.

If a column form raises on a chunk, that LF is evaluated per row on that chunk instead, so a bad
value only costs the rows it is on. Rows are processed in chunks (memory stays bounded by the
chunk size, not the frame) and, with ``n_jobs > 1``, the chunks are spread over a process pool.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from beambell_assets.labeling.lf_types import (
    ABSTAIN,
    ChunkColumns,
    DeclarativeLF,
    KeywordLF,
    KeywordMatcher,
    MembershipLF,
    RegexLF,
    ThresholdLF,
    column_values,
    row_dtype,
    sharing_columns,
)

__all__ = ["ApplyReport", "FastLFApplier", "apply_lfs", "available_cpus"]

#: How each LF is evaluated (``ApplyReport.lf_paths``).
PATH_KEYWORD = "keyword"  # shared doc-term matrix
PATH_REGEX = "regex"
PATH_MEMBERSHIP = "membership"
PATH_THRESHOLD = "threshold"
PATH_COLUMN = "column_votes"  # the LF's own column form
PATH_ROW = "row"  # per row, like Snorkel
PATH_FALLBACK = "row (fallback)"  # column form raised on some chunk


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class ApplyReport:
    """What an :meth:`FastLFApplier.apply` call did.

    ``kind_seconds`` adds up the time spent in each evaluation path over all chunks and processes
    (with a process pool it can exceed the wall-clock ``seconds``).
    """

    n_rows: int
    n_lfs: int
    seconds: float
    fault_counts: dict[str, int]
    kind_seconds: dict[str, float]
    lf_paths: dict[str, str]
    fallbacks: dict[str, str] = field(default_factory=dict)
    n_jobs: int = 1
    n_chunks: int = 0
    mode: str = "in-process"

    @property
    def rows_per_second(self) -> float:
        return self.n_rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def faults(self) -> dict[str, int]:
        """Only the LFs that raised (the shape of Snorkel's ``ApplierMetadata.faults``)."""
        return {k: v for k, v in self.fault_counts.items() if v}

    @property
    def total_faults(self) -> int:
        return sum(self.fault_counts.values())

    def as_metadata(self) -> dict[str, Any]:
        """Plain JSON-able values (for Dagster metadata or logs)."""
        return {
            "rows": self.n_rows,
            "lfs": self.n_lfs,
            "seconds": round(self.seconds, 4),
            "rows_per_second": round(self.rows_per_second, 1) if self.seconds > 0 else None,
            "faults": self.faults,
            "kind_seconds": {k: round(v, 4) for k, v in self.kind_seconds.items()},
            "fallbacks": dict(self.fallbacks),
            "n_jobs": self.n_jobs,
            "chunks": self.n_chunks,
            "mode": self.mode,
        }


# --------------------------------------------------------------------------- the plan


@dataclass
class _Plan:
    """Which LF goes down which path; built once per applier, shipped to worker processes."""

    n_lfs: int
    names: list[str]
    keyword_groups: list[tuple[str, KeywordMatcher, list[int]]]  # field, matcher, L columns
    text_lfs: list[tuple[int, DeclarativeLF]]  # regex / membership (read a field's strings)
    threshold_lfs: list[tuple[int, ThresholdLF]]
    column_lfs: list[tuple[int, LabelingFunction]]  # other LFs with column_votes(df)
    row_lfs: list[tuple[int, LabelingFunction]]
    lfs: list[LabelingFunction]


def _is_pure(lf: LabelingFunction, cls: type) -> bool:
    """``lf`` is a ``cls`` whose per-row rule is ``cls``'s own, with no preprocessors."""
    if not isinstance(lf, cls):
        return False
    typ = type(lf)
    return (
        typ._vote is cls._vote  # type: ignore[attr-defined]
        and typ.votes_from_values is cls.votes_from_values  # type: ignore[attr-defined]
        and typ.column_votes is DeclarativeLF.column_votes
        and lf.column_form_is_exact()  # type: ignore[attr-defined]
    )


def _has_column_votes(lf: LabelingFunction) -> bool:
    if isinstance(lf, DeclarativeLF):
        return lf.column_form_is_exact()
    return callable(getattr(lf, "column_votes", None))


def _lf_kind(lf: LabelingFunction) -> str:
    return getattr(lf, "kind", None) or type(lf).__name__


def _build_plan(lfs: Sequence[LabelingFunction]) -> tuple[_Plan, dict[str, str]]:
    keyword_by_field: dict[str, list[tuple[int, KeywordLF]]] = defaultdict(list)
    text_lfs: list[tuple[int, DeclarativeLF]] = []
    threshold_lfs: list[tuple[int, ThresholdLF]] = []
    column_lfs: list[tuple[int, LabelingFunction]] = []
    row_lfs: list[tuple[int, LabelingFunction]] = []
    paths: dict[str, str] = {}
    for j, lf in enumerate(lfs):
        if _is_pure(lf, KeywordLF):
            keyword_by_field[lf.field].append((j, lf))  # type: ignore[attr-defined]
            paths[lf.name] = PATH_KEYWORD
        elif _is_pure(lf, RegexLF) or _is_pure(lf, MembershipLF):
            text_lfs.append((j, lf))  # type: ignore[arg-type]
            paths[lf.name] = PATH_REGEX if isinstance(lf, RegexLF) else PATH_MEMBERSHIP
        elif _is_pure(lf, ThresholdLF):
            threshold_lfs.append((j, lf))  # type: ignore[arg-type]
            paths[lf.name] = PATH_THRESHOLD
        elif _has_column_votes(lf):
            column_lfs.append((j, lf))
            paths[lf.name] = PATH_COLUMN
        else:
            row_lfs.append((j, lf))
            paths[lf.name] = PATH_ROW
    keyword_groups = [
        (fld, KeywordMatcher([lf for _, lf in members]), [j for j, _ in members])
        for fld, members in keyword_by_field.items()
    ]
    plan = _Plan(
        n_lfs=len(lfs),
        names=[lf.name for lf in lfs],
        keyword_groups=keyword_groups,
        text_lfs=text_lfs,
        threshold_lfs=threshold_lfs,
        column_lfs=column_lfs,
        row_lfs=row_lfs,
        lfs=list(lfs),
    )
    return plan, paths


# --------------------------------------------------------------------------- chunk evaluation


@dataclass
class _ChunkResult:
    start: int
    L: np.ndarray  # (rows, n_lfs); columns not evaluated here stay -1
    faults: dict[str, int]
    kind_seconds: dict[str, float]
    fallbacks: dict[str, str]


def _as_votes(votes: Any, n: int) -> np.ndarray:
    """A column form's result as int64 votes, applying Snorkel's rule (``y >= 0`` is a vote)."""
    arr = np.asarray(votes)
    if arr.shape != (n,):
        raise ValueError(f"column_votes returned shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"column_votes returned dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            arr = np.where(arr >= 0, arr, ABSTAIN)  # NaN is not >= 0: abstain, like Snorkel
    out = arr.astype(np.int64)
    out[out < 0] = ABSTAIN
    return out


def _row_pass(
    chunk: pd.DataFrame,
    pairs: Sequence[tuple[int, LabelingFunction]],
    L: np.ndarray,
    faults: dict[str, int],
) -> None:
    """Snorkel's per-row loop over ``chunk`` for ``pairs`` (LF column, LF), writing into ``L``."""
    if not pairs or len(chunk) == 0:
        return
    position = iter(range(len(chunk)))

    def label_row(x: pd.Series) -> None:
        i = next(position)
        for j, lf in pairs:
            try:
                y = lf(x)
            except Exception:
                faults[lf.name] += 1
                continue
            if y >= 0:
                L[i, j] = y

    # df.apply(axis=1) hands the LFs the same row Series Snorkel's PandasLFApplier does
    chunk.apply(label_row, axis=1)
    if next(position, None) is not None:  # pragma: no cover - pandas called us fewer times
        raise ValueError("pandas did not hand every row to the LFs (a frame without columns?)")


def _fallback_reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _run_chunk(
    plan: _Plan, chunk: pd.DataFrame, start: int, columns: ChunkColumns | None = None
) -> _ChunkResult:
    """Every LF on one chunk of rows (in a worker process or in-process)."""
    n = len(chunk)
    L = np.full((n, plan.n_lfs), ABSTAIN, dtype=np.int64)
    faults: dict[str, int] = defaultdict(int)
    secs: dict[str, float] = defaultdict(float)
    fallbacks: dict[str, str] = {}
    to_rows: list[tuple[int, LabelingFunction]] = []
    rdtype = row_dtype(chunk)
    # Each field's strings and tokens are read once for all the chunk's column forms (a read that
    # raises, e.g. on a value whose str() raises, sends each LF reading it down the per-row path).
    if columns is None:
        columns = ChunkColumns(chunk, rdtype)
    elif columns.df is not chunk:
        raise ValueError("columns must be the ChunkColumns of the frame being labelled")
    with sharing_columns(columns):
        for fld, matcher, cols in plan.keyword_groups:
            t0 = time.perf_counter()
            try:
                L[:, cols] = matcher.votes_for_tokens(columns.tokens(fld))
            except Exception as exc:
                for j in cols:
                    fallbacks[plan.names[j]] = _fallback_reason(exc)
                    to_rows.append((j, plan.lfs[j]))
            secs[PATH_KEYWORD] += time.perf_counter() - t0

        for j, lf in plan.text_lfs:
            t0 = time.perf_counter()
            try:
                L[:, j] = lf.votes_from_text(columns.strings(lf.field))  # type: ignore[attr-defined]
            except Exception as exc:
                fallbacks[lf.name] = _fallback_reason(exc)
                to_rows.append((j, lf))
            secs[lf.kind] += time.perf_counter() - t0

        for j, lf in plan.threshold_lfs:
            t0 = time.perf_counter()
            try:
                L[:, j] = _as_votes(lf.votes_from_values(column_values(chunk, lf.field, rdtype), n), n)
            except Exception as exc:
                fallbacks[lf.name] = _fallback_reason(exc)
                to_rows.append((j, lf))
            secs[PATH_THRESHOLD] += time.perf_counter() - t0

        for j, lf in plan.column_lfs:  # model LFs find ``columns`` through chunk_columns(chunk)
            t0 = time.perf_counter()
            try:
                L[:, j] = _as_votes(lf.column_votes(chunk), n)  # type: ignore[attr-defined]
            except Exception as exc:
                fallbacks[lf.name] = _fallback_reason(exc)
                to_rows.append((j, lf))
            secs[PATH_COLUMN] += time.perf_counter() - t0
    del columns  # the chunk's texts and tokens are not needed by the per-row passes

    if plan.row_lfs:
        t0 = time.perf_counter()
        _row_pass(chunk, plan.row_lfs, L, faults)
        secs[PATH_ROW] += time.perf_counter() - t0
    if to_rows:
        t0 = time.perf_counter()
        to_rows.sort(key=lambda p: p[0])
        _row_pass(chunk, to_rows, L, faults)
        secs[PATH_FALLBACK] += time.perf_counter() - t0
    return _ChunkResult(start, L, dict(faults), dict(secs), fallbacks)


# process-pool plumbing: the plan reaches workers once, through the pool initializer - inherited
# without pickling under the fork start method, else as cloudpickle bytes (so LFs made with
# ``@labeling_function``, closures and lambdas travel too)
_WORKER_PLAN: _Plan | None = None


def _dumps(obj: Any) -> bytes:
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle comes with joblib / scikit-learn
        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


def _init_worker(plan: _Plan | bytes) -> None:
    global _WORKER_PLAN
    if isinstance(plan, bytes):
        plan = pickle.loads(plan)
        # Memoising preprocessors arrive with the parent's cache, but a pickled pandas row loses
        # attributes a preprocessor set on it (``x.n_tokens = ...``): start those caches empty.
        for lf in plan.lfs:
            _reset_memo_caches(getattr(lf, "_pre", None) or [])
    _WORKER_PLAN = plan


def _reset_memo_caches(mappers: Sequence[Any], depth: int = 0) -> None:
    for mapper in mappers:
        if callable(getattr(mapper, "reset_cache", None)):
            mapper.reset_cache()
        if depth < 20:
            _reset_memo_caches(getattr(mapper, "_pre", None) or [], depth + 1)


def _worker_chunk(chunk: pd.DataFrame, start: int) -> _ChunkResult:
    assert _WORKER_PLAN is not None, "worker not initialised"
    return _run_chunk(_WORKER_PLAN, chunk, start)


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
    """

    def __init__(
        self,
        lfs: Sequence[LabelingFunction],
        n_jobs: int | None = None,
        chunk_size: int = 4096,
        min_chunk_size: int = 512,
        start_method: str | None = None,
    ) -> None:
        self.lfs = list(lfs)
        names = [lf.name for lf in self.lfs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"LF names must be unique: {dupes}")
        if n_jobs is not None and n_jobs < 1:
            raise ValueError("n_jobs must be >= 1 or None")
        if chunk_size < 1 or min_chunk_size < 1:
            raise ValueError("chunk sizes must be >= 1")
        self.n_jobs = available_cpus() if n_jobs is None else int(n_jobs)
        self.chunk_size = int(chunk_size)
        self.min_chunk_size = min(int(min_chunk_size), self.chunk_size)
        self.start_method = start_method  # None: chosen per apply() call, see _pick_start_method
        self._plan, self.lf_paths = _build_plan(self.lfs)

    @property
    def lf_names(self) -> list[str]:
        return list(self._plan.names)

    def __repr__(self) -> str:
        return f"FastLFApplier({len(self.lfs)} LFs, n_jobs={self.n_jobs})"

    def _chunks(self, n: int, workers: int) -> list[tuple[int, int]]:
        n_chunks = math.ceil(n / self.chunk_size)
        if workers > 1:  # enough chunks to balance the pool (4 per worker), none tiny
            n_chunks = max(n_chunks, min(4 * workers, n // self.min_chunk_size))
            n_chunks = workers * math.ceil(n_chunks / workers)  # every worker gets as many
        n_chunks = max(1, min(n_chunks, n))
        size = math.ceil(n / n_chunks)
        return [(s, min(s + size, n)) for s in range(0, n, size)]

    def _pick_start_method(self) -> str:
        if self.start_method is not None:
            return self.start_method
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods and threading.active_count() == 1:
            return "fork"
        return "forkserver" if "forkserver" in methods else "spawn"

    def _worker_payload(self, start_method: str) -> tuple[_Plan | bytes | None, str | None]:
        """(what the pool initializer gets, why the LFs cannot go to worker processes)."""
        if start_method == "fork":
            return self._plan, None
        try:
            return _dumps(self._plan), None
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
        plan = self._plan
        n = len(df)
        L = np.full((n, plan.n_lfs), ABSTAIN, dtype=np.int64)
        faults: dict[str, int] = dict.fromkeys(plan.names, 0)
        secs: dict[str, float] = defaultdict(float)
        fallbacks: dict[str, str] = {}
        mode = "in-process"
        n_chunks = 0
        workers = 1

        def merge(res: _ChunkResult) -> None:
            for k, v in res.faults.items():
                faults[k] += v
            for k, v in res.kind_seconds.items():
                secs[k] += v
            for k, v in res.fallbacks.items():
                fallbacks.setdefault(k, v)

        if n and plan.n_lfs:
            workers = max(1, min(self.n_jobs, n // self.min_chunk_size)) if self.n_jobs > 1 else 1
            chunks = self._chunks(n, workers)
            n_chunks = len(chunks)
            blocker = payload = None
            use_pool = workers > 1 and n_chunks > 1
            start_method = self._pick_start_method()
            if use_pool:
                payload, blocker = self._worker_payload(start_method)
                use_pool = blocker is None
            if blocker:
                mode = f"in-process ({blocker})"
            if use_pool:
                mode = f"process pool ({workers} workers, {start_method})"
                self._apply_pool(df, chunks, workers, start_method, payload, L, merge, progress)
            else:
                workers = 1
                for s, e in chunks:
                    res = _run_chunk(plan, df.iloc[s:e], s)
                    L[s:e] = res.L
                    merge(res)
                    if progress is not None:
                        progress(e, n)

        report = ApplyReport(
            n_rows=n,
            n_lfs=plan.n_lfs,
            seconds=time.perf_counter() - t_start,
            fault_counts=faults,
            kind_seconds=dict(secs),
            lf_paths={
                name: (PATH_FALLBACK if name in fallbacks else path) for name, path in self.lf_paths.items()
            },
            fallbacks=fallbacks,
            n_jobs=workers,
            n_chunks=n_chunks,
            mode=mode,
        )
        return L, report

    def apply_chunk(self, columns: ChunkColumns) -> tuple[np.ndarray, ApplyReport]:
        """Label ``columns.df`` in this process as one chunk, reading fields through ``columns``.

        For callers that need the same fields afterwards (e.g. the streaming retrain hashes the
        text's tokens): they read them from ``columns`` instead of tokenising again.
        """
        t0 = time.perf_counter()
        res = _run_chunk(self._plan, columns.df, 0, columns)
        faults = dict.fromkeys(self._plan.names, 0)
        for k, v in res.faults.items():
            faults[k] += v
        report = ApplyReport(
            n_rows=len(columns.df),
            n_lfs=self._plan.n_lfs,
            seconds=time.perf_counter() - t0,
            fault_counts=faults,
            kind_seconds=dict(res.kind_seconds),
            lf_paths={
                name: (PATH_FALLBACK if name in res.fallbacks else path)
                for name, path in self.lf_paths.items()
            },
            fallbacks=dict(res.fallbacks),
            n_chunks=1,
        )
        return res.L, report

    def _apply_pool(
        self,
        df: pd.DataFrame,
        chunks: list[tuple[int, int]],
        workers: int,
        start_method: str,
        payload: _Plan | bytes | None,
        L: np.ndarray,
        merge: Callable[[_ChunkResult], None],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        n = len(df)
        max_in_flight = 2 * workers  # bounds the chunks pickled and waiting at any time
        ctx = multiprocessing.get_context(start_method)
        done = 0
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(payload,)
        ) as pool:
            pending: deque[tuple[int, int, Future[_ChunkResult]]] = deque()
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
                    res = fut.result()
                    L[s:e] = res.L
                    merge(res)
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


def lf_kinds(lfs: Sequence[LabelingFunction]) -> dict[str, str]:
    """LF name -> kind (``keyword``, ``regex``, ..., or the class name for plain LFs)."""
    return {lf.name: _lf_kind(lf) for lf in lfs}
