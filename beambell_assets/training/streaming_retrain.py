"""A full retrain over more pages than fit in memory: L, label model, training set, classifier.

The asset graph retrains on a window it can hold; this is the same sequence for windows of
millions of pages, streamed from Parquet files of page features (the ``page_features`` schema,
one row group = one chunk):

1. **Label matrix + term counts, one pass over the text** (a process pool, one chunk per task):
   each worker reads its row group, applies the LFs with :class:`FastLFApplier` (in-process, so
   ``L`` equals Snorkel's), hashes the tokens the LFs already made of the text into term counts
   (:mod:`~beambell_assets.training.hashed_features`) and writes them to ``work_dir``. Only
   ``L`` (int8) and the chunk's document frequencies come back: the text is never held whole.
2. **Label model** on ``L`` (85 LFs x 1M pages is 85 MB as int8): Snorkel's ``LabelModel`` via
   :func:`fit_label_model`, whose fit only depends on the (m·k)^2 overlap matrix.
3. **Training set**: pages where some LF voted, with the label model's probabilities (float32).
4. **Classifier**: :class:`StreamingSoftClassifier`; workers turn each chunk's counts into tf-idf
   rows (idf from the summed document frequencies) while this process runs SGD on the previous
   chunk; chunks are visited in a seeded random order.

Memory is bounded by the chunk size times the workers, plus ``L`` and the probabilities (about
150 bytes a page); time grows linearly with the pages.
"""

from __future__ import annotations

import multiprocessing
import pickle
import resource
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

from beambell_assets.labeling.applier import FastLFApplier, available_cpus
from beambell_assets.labeling.task import Task
from beambell_assets.training.hashed_features import DEFAULT_N_FEATURES, TokenHasher, idf_from_counts, tfidf
from beambell_assets.training.label_model import LabelModelFit, fit_label_model
from beambell_assets.training.streaming_classifier import StreamingSoftClassifier

__all__ = ["StreamingRetrainResult", "streaming_retrain"]

ABSTAIN = -1


@dataclass(frozen=True)
class _Chunk:
    index: int
    path: str
    row_group: int
    rows: int


@dataclass
class StreamingRetrainResult:
    """What a streaming retrain produced and what each stage cost."""

    n_pages: int
    n_chunks: int
    label_model: LabelModelFit
    classifier: StreamingSoftClassifier
    n_training_rows: int  # pages some LF voted on
    stage_seconds: dict[str, float]
    stage_cpu_seconds: dict[str, float]  # this process plus finished workers
    lf_faults: dict[str, int]
    extra_columns: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. a reference label

    @property
    def seconds(self) -> float:
        return sum(self.stage_seconds.values())

    def summary(self) -> dict[str, Any]:
        return {
            "pages": self.n_pages,
            "chunks": self.n_chunks,
            "training_rows": self.n_training_rows,
            "label_model": self.label_model.method,
            "coverage": round(self.label_model.coverage, 4),
            "classifier_expanded_rows": int(self.classifier.expanded_rows_),
            "seconds": {k: round(v, 2) for k, v in self.stage_seconds.items()},
            "lf_faults": {k: v for k, v in self.lf_faults.items() if v},
        }


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def plan_chunks(paths: Sequence[str | Path]) -> list[_Chunk]:
    """One chunk per Parquet row group, in file order."""
    chunks: list[_Chunk] = []
    for path in paths:
        meta = pq.ParquetFile(path).metadata
        for rg in range(meta.num_row_groups):
            chunks.append(_Chunk(len(chunks), str(path), rg, meta.row_group(rg).num_rows))
    return chunks


# --------------------------------------------------------------------------- worker side

_WORKER: dict[str, Any] = {}


def _init_worker(payload: bytes) -> None:
    state = pickle.loads(payload)
    _WORKER.update(state)
    _WORKER["applier"] = FastLFApplier(state["lfs"], n_jobs=1, cardinality=state["cardinality"])
    _WORKER["hasher"] = TokenHasher(state["n_features"])


def _label_chunk(chunk: _Chunk) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, dict[str, int], dict]:
    """Stage 1 on one chunk: (index, L int8, df columns, df counts, faults, extra columns)."""
    df = pq.ParquetFile(chunk.path).read_row_group(chunk.row_group).to_pandas()
    applier: FastLFApplier = _WORKER["applier"]
    columns = applier.columns(df)  # tokenised into the applier's table, which the hasher reuses
    L, report = applier.apply_chunk(columns)  # a label the task lacks: an abstain, a fault
    hasher: TokenHasher = _WORKER["hasher"]
    if _WORKER["text_field"] in df:  # the LFs' own tokens of the text: tokenised once per page
        counts = hasher.counts_of_tokens(columns.tokens(_WORKER["text_field"]))
    else:
        counts = hasher.counts([""] * len(df))
    del columns
    _save_csr(Path(_WORKER["work_dir"]) / f"counts-{chunk.index:06d}.npz", counts)
    cols, dfc = np.unique(counts.indices, return_counts=True)
    extra = {c: df[c].to_numpy() for c in _WORKER["extra_columns"] if c in df}
    return chunk.index, L.astype(np.int8), cols.astype(np.int32), dfc.astype(np.int32), report.faults, extra


def _features_chunk(index: int, rows: np.ndarray) -> tuple[int, sp.csr_matrix]:
    """Stage 4 prep on one chunk: tf-idf rows of the chunk's training rows."""
    wdir = Path(_WORKER["work_dir"])
    if "idf" not in _WORKER:
        _WORKER["idf"] = np.load(wdir / "idf.npy")
    counts = _load_csr(wdir / f"counts-{index:06d}.npz")
    return index, tfidf(counts[rows], _WORKER["idf"])


def _save_csr(path: Path, x: sp.csr_matrix) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, data=x.data, indices=x.indices, indptr=x.indptr, shape=np.asarray(x.shape))
    tmp.replace(path)


def _load_csr(path: Path) -> sp.csr_matrix:
    with np.load(path) as z:
        return sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))


# --------------------------------------------------------------------------- driver


def _bounded(
    pool: ProcessPoolExecutor, calls: Iterator[tuple[Callable, tuple]], in_flight: int
) -> Iterator[Any]:
    """Submit ``calls`` keeping at most ``in_flight`` pending; yield results in submission order."""
    pending: deque[Future] = deque()
    for fn, args in calls:
        pending.append(pool.submit(fn, *args))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def streaming_retrain(
    paths: Sequence[str | Path],
    task: Task,
    *,
    n_jobs: int | None = None,
    work_dir: str | Path | None = None,
    text_field: str = "text",
    n_features: int = DEFAULT_N_FEATURES,
    epochs: int = 1,
    alpha: float = 1e-6,
    min_prob: float = 0.05,
    seed: int = 0,
    extra_columns: Sequence[str] = (),
    progress: Callable[[str, int, int], None] | None = None,
) -> StreamingRetrainResult:
    """Retrain from Parquet files of page features; see the module docstring.

    ``min_prob``: soft-label mass below it is dropped before row expansion (5 %: 1.4 SGD rows a
    page on the default task instead of 2.7 at 1 %). ``extra_columns`` are read back per page
    (e.g. a reference label for a quality check); they are not used for training. ``work_dir``
    holds the term counts (about 2.5 KB a page) and is removed at the end unless given.
    """
    chunks = plan_chunks(paths)
    n = sum(c.rows for c in chunks)
    if n == 0:
        raise ValueError("no pages in the given files")
    workers = max(1, min(n_jobs or available_cpus(), len(chunks)))
    own_dir = work_dir is None
    wdir = Path(tempfile.mkdtemp(prefix="beambell-retrain-")) if own_dir else Path(work_dir)
    wdir.mkdir(parents=True, exist_ok=True)
    import cloudpickle

    payload = cloudpickle.dumps(
        {
            "lfs": list(task.lfs),
            "cardinality": task.cardinality,
            "n_features": n_features,
            "work_dir": str(wdir),
            "text_field": text_field,
            "extra_columns": tuple(extra_columns),
        }
    )
    secs: dict[str, float] = {}
    cpu: dict[str, float] = {}
    ctx = multiprocessing.get_context("forkserver")
    try:
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(payload,))
        with pool:
            # 1. L + term counts
            if progress:
                progress("label_matrix", 0, n)
            t0, c0 = time.perf_counter(), _cpu_seconds()
            L_parts: list[np.ndarray | None] = [None] * len(chunks)
            extras: dict[str, list[np.ndarray]] = {c: [np.empty(0)] * len(chunks) for c in extra_columns}
            dfreq = np.zeros(n_features, dtype=np.int64)
            faults: dict[str, int] = dict.fromkeys((lf.name for lf in task.lfs), 0)
            done = 0
            calls = ((_label_chunk, (c,)) for c in chunks)
            for idx, L_c, cols, dfc, f, extra in _bounded(pool, calls, 2 * workers):
                L_parts[idx] = L_c
                np.add.at(dfreq, cols, dfc)
                for k, v in f.items():
                    faults[k] += v
                for c, values in extra.items():
                    extras[c][idx] = values
                done += len(L_c)
                if progress:
                    progress("label_matrix", done, n)
            L = np.concatenate(L_parts)  # type: ignore[arg-type]
            del L_parts
            secs["label_matrix"], cpu["label_matrix"] = time.perf_counter() - t0, _cpu_seconds() - c0

            # 2. label model
            if progress:
                progress("label_model", 0, n)
            t0, c0 = time.perf_counter(), _cpu_seconds()
            fit = fit_label_model(L, task.cardinality, seed=seed, label_names=list(task.label_names))
            secs["label_model"], cpu["label_model"] = time.perf_counter() - t0, _cpu_seconds() - c0

            # 3. training set: covered rows and their probabilities, per chunk
            if progress:
                progress("training_set", 0, n)
            t0, c0 = time.perf_counter(), _cpu_seconds()
            covered = fit.covered
            probs = fit.probs.astype(np.float32)
            fit.probs = probs  # the float64 copies are n x k x 8 bytes each: keep float32 only
            fit.mv_probs = fit.mv_probs.astype(np.float32)
            bounds = np.cumsum([0] + [c.rows for c in chunks])
            train_rows = [np.flatnonzero(covered[bounds[i] : bounds[i + 1]]) for i in range(len(chunks))]
            n_train = int(covered.sum())
            secs["training_set"], cpu["training_set"] = time.perf_counter() - t0, _cpu_seconds() - c0

            # 4. classifier
            if progress:
                progress("classifier", 0, n_train * int(epochs))
            t0, c0 = time.perf_counter(), _cpu_seconds()
            idf = idf_from_counts(dfreq, n)
            np.save(wdir / "idf.npy", idf)  # workers load it once (a 4 MB file beats a barrier)
            clf = StreamingSoftClassifier(
                task.cardinality,
                n_features=n_features,
                alpha=alpha,
                min_prob=min_prob,
                epochs=epochs,
                random_state=seed,
                n_jobs=workers,  # the pool only prepares features now: SGD may use the cores
            ).start(idf)
            rng = np.random.default_rng(seed)
            seen = 0
            for _epoch in range(int(epochs)):
                order = [i for i in rng.permutation(len(chunks)) if len(train_rows[i])]
                calls = ((_features_chunk, (int(i), train_rows[i])) for i in order)
                for idx, X in _bounded(pool, calls, 2 * workers):
                    P = probs[bounds[idx] + train_rows[idx]]
                    clf.partial_fit_features(X, P)
                    seen += X.shape[0]
                    if progress:
                        progress("classifier", seen, n_train * int(epochs))
            secs["classifier"], cpu["classifier"] = time.perf_counter() - t0, _cpu_seconds() - c0
    finally:
        if own_dir:
            shutil.rmtree(wdir, ignore_errors=True)
    return StreamingRetrainResult(
        n_pages=n,
        n_chunks=len(chunks),
        label_model=fit,
        classifier=clf,
        n_training_rows=n_train,
        stage_seconds=secs,
        stage_cpu_seconds=cpu,
        lf_faults=faults,
        extra_columns={c: np.concatenate(v) if v else np.empty(0) for c, v in extras.items()},
    )
