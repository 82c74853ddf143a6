"""Batch scoring with the champion model as an Apache Beam pipeline.

Same output as :func:`beambell_assets.serving.scoring.score_pages` (tested: same labels, same
probabilities): the texts are prepared exactly as there (``fillna("").astype(str)``), staged as a
Parquet column per chunk, and each worker calls the model's ``predict_proba`` on its chunk. The
driver then takes the arg-max and assembles the frame in page order with ``page_id``/``url`` from
the input. The model travels to workers in skops format and is loaded there through the same
allow-list (``serving/model_store.py``: ``dump_model_bytes`` / ``load_model_bytes``) - never pickled.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from beambell_assets.beam.lf_pipeline import _join, _read_bytes, _Staging, _write_bytes
from beambell_assets.labeling.task import Task
from beambell_assets.serving.model_store import dump_model_bytes, load_model_bytes
from beambell_assets.serving.scoring import prediction_rows, score_pages

__all__ = ["ScoreChunkFn", "score_pages_beam"]


class ScoreChunkFn(beam.DoFn):
    """One element = one staged chunk of texts; writes ``predict_proba`` as ``.npz``."""

    def __init__(self, model_blob: bytes, out_dir: str) -> None:
        self.model_blob = model_blob
        self.out_dir = out_dir
        self._model: Any = None

    def setup(self) -> None:
        self._model = load_model_bytes(self.model_blob)

    def process(self, element: tuple[int, str]) -> Iterator[int]:
        start, path = element
        texts = pq.read_table(io.BytesIO(_read_bytes(path))).column("text").to_pylist()
        proba = np.asarray(self._model.predict_proba(texts), dtype=np.float64)
        buf = io.BytesIO()
        np.savez(buf, proba=proba, start=np.int64(start))
        _write_bytes(_join(self.out_dir, f"{start:015d}.npz"), buf.getvalue())
        yield len(texts)


def score_pages_beam(
    model: Any,
    features: pd.DataFrame,
    task: Task,
    model_version: str,
    options: Any = None,
    chunk_size: int = 8192,
    staging_dir: str | None = None,
) -> pd.DataFrame:
    """``score_pages(model, features, task, model_version)``, computed by a Beam pipeline."""
    if features.empty:
        return score_pages(model, features, task, model_version)
    if options is None:
        from beambell_assets.beam.options import pipeline_options

        options = pipeline_options()
    texts = features[task.text_field].fillna("").astype(str).tolist()
    n = len(texts)
    n_chunks = max(math.ceil(n / chunk_size), min(4, math.ceil(n / 256)))
    size = math.ceil(n / n_chunks)
    with _Staging(staging_dir) as stage:
        elements = []
        for s in range(0, n, size):
            buf = io.BytesIO()
            pq.write_table(pa.table({"text": pa.array(texts[s : s + size], type=pa.string())}), buf)
            path = _join(stage.inputs, f"{s:015d}.parquet")
            _write_bytes(path, buf.getvalue())
            elements.append((s, path))
        pipeline = beam.Pipeline(options=options)
        _ = (
            pipeline
            | "Chunks" >> beam.Create(elements)
            | "Spread" >> beam.Reshuffle()
            | "Score" >> beam.ParDo(ScoreChunkFn(dump_model_bytes(model), stage.outputs))
        )
        state = pipeline.run().wait_until_finish()
        if str(state) not in ("DONE", "PipelineState.DONE"):
            raise RuntimeError(f"Beam scoring pipeline ended in state {state}")
        proba: np.ndarray | None = None
        covered = 0
        for path in stage.list_outputs():
            with np.load(io.BytesIO(_read_bytes(path)), allow_pickle=False) as part:
                s, block = int(part["start"]), part["proba"]
            if proba is None:
                proba = np.empty((n, block.shape[1]), dtype=np.float64)
            proba[s : s + len(block)] = block
            covered += len(block)
    if proba is None or covered != n:
        raise RuntimeError(f"Beam scoring pipeline returned scores for {covered} of {n} pages")
    return prediction_rows(features, proba, task, model_version)
