"""The applier core: what every LF engine shares, as Snorkel's ``labeling/apply/core.py`` serves
its pandas, Dask and Spark appliers.

An engine (the local :class:`~beambell_assets.labeling.applier.FastLFApplier` and its process
pool, the Beam pipeline, the stream's page preparer through the local applier) only decides where
chunks of rows go; the labelling itself is here, so every engine gives the same ``L``, the same as
``snorkel.labeling.PandasLFApplier(lfs).apply(df, fault_tolerant=True)``:

* :func:`build_plan` sorts the LFs once into evaluation paths (:class:`LFPlan`, picklable; ship it
  to workers with :func:`dump_plan` / :func:`load_plan`);
* a :class:`ChunkLabeler` runs a plan on one chunk at a time in one process
  (:meth:`ChunkLabeler.label` -> :class:`ChunkResult`); it owns the token table the chunks' fields
  are tokenised into and hands each chunk's :class:`~beambell_assets.labeling.tokens.ChunkColumns`
  to the LFs that read shared columns (``votes_for_columns``);
* a :class:`VoteCollector` puts the chunks' results back in row order and makes the
  :class:`ApplyReport`; :func:`chunk_bounds` splits a frame's rows.

The paths: :class:`~beambell_assets.labeling.lf_types.KeywordLF`\\ s reading the same field share
one document-term matrix; ``RegexLF`` / ``MembershipLF`` run over the field's strings,
``ThresholdLF`` over the numeric column; any other LF with a column form runs on the whole chunk;
everything else (plain Snorkel LFs, LFs with preprocessors, declarative LFs whose subclass changed
the per-row rule) runs per row over pandas rows exactly as Snorkel does, fault tolerant. A column
form that raises on a chunk sends that LF down the per-row path on that chunk.

One deliberate difference: a vote that is not a number (``None`` from an LF that forgot its
``return ABSTAIN``, a label name) is a fault of that LF on that row (an abstain, counted), where
Snorkel stops the whole apply with ``TypeError: '>=' not supported``, naming no LF. Given the task's
``cardinality`` (``build_plan``), a vote for a label the task does not have is such a fault too,
counted also in ``ApplyReport.invalid_counts``: left in, it failed the label model, the stream's
learner or the service far from its cause.
"""

from __future__ import annotations

import math
import pickle
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from beambell_assets.labeling.fields import column_values
from beambell_assets.labeling.lf_types import (
    ABSTAIN,
    DeclarativeLF,
    KeywordLF,
    KeywordMatcher,
    MembershipLF,
    RegexLF,
    ThresholdLF,
    defining_class,
)
from beambell_assets.labeling.tokens import TOKEN_TABLE_MAX, ChunkColumns, TokenTableSlot
from beambell_assets.labeling.votes import drop_invalid_votes

__all__ = [
    "ABSTAIN",
    "PATH_COLUMN",
    "PATH_FALLBACK",
    "PATH_KEYWORD",
    "PATH_MEMBERSHIP",
    "PATH_REGEX",
    "PATH_ROW",
    "PATH_THRESHOLD",
    "ApplyReport",
    "ChunkLabeler",
    "ChunkResult",
    "LFPlan",
    "VoteCollector",
    "build_plan",
    "chunk_bounds",
    "dump_plan",
    "lf_kinds",
    "load_plan",
    "takes_columns",
]

#: How each LF is evaluated (``ApplyReport.lf_paths``).
PATH_KEYWORD = "keyword"  # shared doc-term matrix
PATH_REGEX = "regex"
PATH_MEMBERSHIP = "membership"
PATH_THRESHOLD = "threshold"
PATH_COLUMN = "column_votes"  # the LF's own column form
PATH_ROW = "row"  # per row, like Snorkel
PATH_FALLBACK = "row (fallback)"  # column form raised on some chunk


@dataclass
class ApplyReport:
    """What an apply call did.

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
    #: per LF, votes for a label outside the plan's cardinality (made abstains; in fault_counts too)
    invalid_counts: dict[str, int] = field(default_factory=dict)
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
class LFPlan:
    """Which LF goes down which path; built once per applier (:func:`build_plan`), shipped to
    worker processes."""

    n_lfs: int
    names: list[str]
    keyword_groups: list[tuple[str, KeywordMatcher, list[int]]]  # field, matcher, L columns
    text_lfs: list[tuple[int, DeclarativeLF]]  # regex / membership (read a field's strings)
    threshold_lfs: list[tuple[int, ThresholdLF]]
    column_lfs: list[tuple[int, LabelingFunction, bool]]  # other column forms; takes_columns(lf)
    row_lfs: list[tuple[int, LabelingFunction]]
    lfs: list[LabelingFunction]
    paths: dict[str, str]  # LF name -> PATH_*
    cardinality: int | None = None  # the task's labels: a vote outside 0..cardinality-1 is a fault


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


def takes_columns(lf: LabelingFunction) -> bool:
    """Whether an LF's column form takes a chunk's shared columns: it has ``votes_for_columns``,
    defined at least as deep in its class hierarchy as its ``column_votes`` (a subclass that only
    changed ``column_votes`` is called through ``column_votes``)."""
    if not callable(getattr(lf, "votes_for_columns", None)):
        return False
    by_columns = defining_class(type(lf), "votes_for_columns")
    by_frame = defining_class(type(lf), "column_votes")
    if by_columns is None:  # set on the instance
        return True
    return by_frame is None or issubclass(by_columns, by_frame)


def lf_kinds(lfs: Sequence[LabelingFunction]) -> dict[str, str]:
    """LF name -> kind (``keyword``, ``regex``, ..., or the class name for plain LFs)."""
    return {lf.name: getattr(lf, "kind", None) or type(lf).__name__ for lf in lfs}


def build_plan(lfs: Sequence[LabelingFunction], cardinality: int | None = None) -> LFPlan:
    """Sort ``lfs`` into evaluation paths; LF names must be unique (as Snorkel requires).
    ``cardinality``: the task's number of labels, when votes must be checked against it."""
    names = [lf.name for lf in lfs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"LF names must be unique: {dupes}")
    keyword_by_field: dict[str, list[tuple[int, KeywordLF]]] = defaultdict(list)
    text_lfs: list[tuple[int, DeclarativeLF]] = []
    threshold_lfs: list[tuple[int, ThresholdLF]] = []
    column_lfs: list[tuple[int, LabelingFunction, bool]] = []
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
            column_lfs.append((j, lf, takes_columns(lf)))
            paths[lf.name] = PATH_COLUMN
        else:
            row_lfs.append((j, lf))
            paths[lf.name] = PATH_ROW
    keyword_groups = [
        (fld, KeywordMatcher([lf for _, lf in members]), [j for j, _ in members])
        for fld, members in keyword_by_field.items()
    ]
    return LFPlan(
        n_lfs=len(lfs),
        names=names,
        keyword_groups=keyword_groups,
        text_lfs=text_lfs,
        threshold_lfs=threshold_lfs,
        column_lfs=column_lfs,
        row_lfs=row_lfs,
        lfs=list(lfs),
        paths=paths,
        cardinality=cardinality,
    )


def dump_plan(plan: LFPlan) -> bytes:
    """The plan as bytes for another process (cloudpickle, so LFs made with
    ``@labeling_function``, closures and lambdas travel too).

    Task modules loaded from a file (``load_task``) travel by value: a worker cannot import
    ``beambell_user_task_<hash>``, which only exists in this process's ``sys.modules``.
    """
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle comes with joblib / scikit-learn / Beam
        return pickle.dumps(plan)
    by_value = [
        m for name, m in list(sys.modules.items()) if name.startswith("beambell_user_task_") and m is not None
    ]
    for m in by_value:
        cloudpickle.register_pickle_by_value(m)
    try:
        return cloudpickle.dumps(plan)
    finally:
        for m in by_value:
            cloudpickle.unregister_pickle_by_value(m)


def load_plan(data: bytes) -> LFPlan:
    """A plan from :func:`dump_plan`, ready to run in this process.

    Memoising preprocessors arrive with the sender's cache, but a pickled pandas row loses
    attributes a preprocessor set on it (``x.n_tokens = ...``): those caches start empty.
    """
    plan = pickle.loads(data)
    if not isinstance(plan, LFPlan):
        raise TypeError(f"not an LF plan: {type(plan).__name__}")
    for lf in plan.lfs:
        _reset_memo_caches(getattr(lf, "_pre", None) or [])
    return plan


def _reset_memo_caches(mappers: Sequence[Any], depth: int = 0) -> None:
    for mapper in mappers:
        if callable(getattr(mapper, "reset_cache", None)):
            mapper.reset_cache()
        if depth < 20:
            _reset_memo_caches(getattr(mapper, "_pre", None) or [], depth + 1)


def chunk_bounds(n: int, n_chunks: int) -> list[tuple[int, int]]:
    """``(start, end)`` of at most ``n_chunks`` (at least one, none empty) equal runs of ``n`` rows."""
    if n <= 0:
        return []
    n_chunks = max(1, min(n_chunks, n))
    size = math.ceil(n / n_chunks)
    return [(s, min(s + size, n)) for s in range(0, n, size)]


# --------------------------------------------------------------------------- one chunk


@dataclass
class ChunkResult:
    """The votes of one chunk of rows, starting at row ``start`` of the whole frame."""

    start: int
    L: np.ndarray  # (rows, n_lfs); columns not evaluated here stay -1
    faults: dict[str, int]
    kind_seconds: dict[str, float]
    fallbacks: dict[str, str]
    invalid: dict[str, int] = field(default_factory=dict)  # votes for labels the task lacks, per LF


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
                if y >= 0:  # inside the try: a None or str vote (a forgotten ``return ABSTAIN``)
                    L[i, j] = y  # is that LF's fault on this row, where Snorkel raises TypeError
            except Exception:
                faults[lf.name] += 1

    # df.apply(axis=1) hands the LFs the same row Series Snorkel's PandasLFApplier does
    chunk.apply(label_row, axis=1)
    if next(position, None) is not None:  # pragma: no cover - pandas called us fewer times
        raise ValueError("pandas did not hand every row to the LFs (a frame without columns?)")


def _fallback_reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class ChunkLabeler:
    """Runs an :class:`LFPlan` on chunks of rows, one at a time, in this process.

    It owns the token table its chunks are tokenised into (kept across chunks, so each distinct
    token is looked up once per LF group; a fresh one once it passes ``max_tokens``, or in a
    forked child). Not for pickling: make one per process (worker initialiser, ``DoFn.setup``).
    """

    def __init__(self, plan: LFPlan, max_tokens: int = TOKEN_TABLE_MAX) -> None:
        self.plan = plan
        self._tokens = TokenTableSlot(max_tokens)

    def columns(self, df: pd.DataFrame, dtype: Any = None) -> ChunkColumns:
        """``df``'s :class:`~beambell_assets.labeling.tokens.ChunkColumns`, tokenised into this
        labeler's table (pass them to :meth:`label`, then read the same fields from them)."""
        return ChunkColumns(df, dtype, table=self._tokens.current())

    def label(self, chunk: pd.DataFrame, start: int = 0, columns: ChunkColumns | None = None) -> ChunkResult:
        """Every LF on ``chunk`` (rows ``start``.. of the whole frame).

        Each field's strings and tokens are read once, through ``columns`` (default: new ones),
        for all the chunk's column forms; a read that raises (e.g. on a value whose str() raises)
        sends each LF reading it down the per-row path.
        """
        plan = self.plan
        n = len(chunk)
        L = np.full((n, plan.n_lfs), ABSTAIN, dtype=np.int64)
        faults: dict[str, int] = defaultdict(int)
        secs: dict[str, float] = defaultdict(float)
        fallbacks: dict[str, str] = {}
        to_rows: list[tuple[int, LabelingFunction]] = []
        if columns is None:
            columns = self.columns(chunk)
        elif columns.df is not chunk:
            raise ValueError("columns must be the ChunkColumns of the frame being labelled")

        def fall_back(j: int, exc: Exception) -> None:
            fallbacks[plan.names[j]] = _fallback_reason(exc)
            to_rows.append((j, plan.lfs[j]))

        for fld, matcher, cols in plan.keyword_groups:
            t0 = time.perf_counter()
            try:
                L[:, cols] = matcher.votes_for_tokens(columns.tokens(fld))
            except Exception as exc:
                for j in cols:
                    fall_back(j, exc)
            secs[PATH_KEYWORD] += time.perf_counter() - t0

        for j, lf in plan.text_lfs:
            t0 = time.perf_counter()
            try:
                L[:, j] = lf.votes_from_text(columns.strings(lf.field))  # type: ignore[attr-defined]
            except Exception as exc:
                fall_back(j, exc)
            secs[lf.kind] += time.perf_counter() - t0

        for j, lf in plan.threshold_lfs:
            t0 = time.perf_counter()
            try:
                L[:, j] = _as_votes(lf.votes_from_values(column_values(chunk, lf.field, columns.dtype), n), n)
            except Exception as exc:
                fall_back(j, exc)
            secs[PATH_THRESHOLD] += time.perf_counter() - t0

        for j, lf, shared in plan.column_lfs:
            t0 = time.perf_counter()
            try:
                votes = lf.votes_for_columns(columns) if shared else lf.column_votes(chunk)  # type: ignore[attr-defined]
                L[:, j] = _as_votes(votes, n)
            except Exception as exc:
                fall_back(j, exc)
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
        invalid = {} if plan.cardinality is None else drop_invalid_votes(L, plan.names, plan.cardinality)
        for name, count in invalid.items():
            faults[name] += count
        return ChunkResult(start, L, dict(faults), dict(secs), fallbacks, invalid)


# --------------------------------------------------------------------------- the whole frame


class VoteCollector:
    """Chunk results -> the frame's ``L`` (row order, whatever order chunks finish in) and report."""

    def __init__(self, plan: LFPlan, n_rows: int) -> None:
        self.plan = plan
        self.L = np.full((n_rows, plan.n_lfs), ABSTAIN, dtype=np.int64)
        self.fault_counts: dict[str, int] = dict.fromkeys(plan.names, 0)
        self.invalid_counts: dict[str, int] = {}
        self.kind_seconds: dict[str, float] = defaultdict(float)
        self.fallbacks: dict[str, str] = {}
        self.rows_added = 0
        self.chunks_added = 0

    def add(self, res: ChunkResult) -> None:
        self.L[res.start : res.start + len(res.L)] = res.L
        self.rows_added += len(res.L)
        self.chunks_added += 1
        for k, v in res.faults.items():
            self.fault_counts[k] += v
        for k, v in res.invalid.items():
            self.invalid_counts[k] = self.invalid_counts.get(k, 0) + v
        for k, v in res.kind_seconds.items():
            self.kind_seconds[k] += v
        for k, v in res.fallbacks.items():
            self.fallbacks.setdefault(k, v)

    def report(self, seconds: float, n_jobs: int = 1, mode: str = "in-process") -> ApplyReport:
        """The :class:`ApplyReport` of the chunks added so far; an LF that fell back on some
        chunk has path :data:`PATH_FALLBACK`."""
        return ApplyReport(
            n_rows=len(self.L),
            n_lfs=self.plan.n_lfs,
            seconds=seconds,
            fault_counts=dict(self.fault_counts),
            kind_seconds=dict(self.kind_seconds),
            lf_paths={
                name: (PATH_FALLBACK if name in self.fallbacks else path)
                for name, path in self.plan.paths.items()
            },
            fallbacks=dict(self.fallbacks),
            invalid_counts=dict(self.invalid_counts),
            n_jobs=n_jobs,
            n_chunks=self.chunks_added,
            mode=mode,
        )
