"""Beam's staging folder carries data, never code (issue #12 defect 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from beambell_assets.beam import lf_pipeline
from beambell_assets.beam.lf_pipeline import ApplyChunkFn, BeamLFApplier
from beambell_assets.beam.options import pipeline_options
from beambell_assets.devtools.prediction_service import sample_pages
from beambell_assets.ingest.features import build_page_features
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.serving.features_online import raw_frame

pytestmark = pytest.mark.integration


def test_staged_chunks_are_arrow_ipc_and_give_the_same_L(monkeypatch: pytest.MonkeyPatch) -> None:
    features = build_page_features(raw_frame([p for p, _ in sample_pages(seed=3)]))
    features.loc[features.index[:5], "title"] = None  # missing values survive the round trip
    staged: dict[str, bytes] = {}
    real_write = lf_pipeline._write_bytes

    def spy(path: str, data: bytes) -> None:
        staged[path] = data
        real_write(path, data)

    monkeypatch.setattr(lf_pipeline, "_write_bytes", spy)  # the driver stages the inputs itself
    options = pipeline_options("DirectRunner", direct_num_workers=1, direct_running_mode="in_memory")
    L_beam, report = BeamLFApplier(TASK.lfs, options=options, chunk_size=32).apply(features)
    inputs = {p: d for p, d in staged.items() if "/inputs/" in p.replace("\\", "/") or p.endswith(".arrow")}
    assert inputs and report.n_chunks == len(inputs)
    for path, data in inputs.items():
        assert not data.startswith(b"\x80"), f"{path} is a pickle"
        assert data[:6] == b"ARROW1", path
        pa.ipc.open_file(pa.BufferReader(data)).read_all()  # plain Arrow data
    L_local, _ = FastLFApplier(TASK.lfs).apply(features)
    np.testing.assert_array_equal(L_beam, L_local)


def test_a_worker_refuses_a_staged_pickle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pickle

    evil = tmp_path / "chunk.pkl"
    evil.write_bytes(pickle.dumps(pd.DataFrame({"text": ["x"]})))
    fn = ApplyChunkFn(b"", str(tmp_path / "out"), chunk_size=8)
    with pytest.raises(ValueError, match="unknown kind"):
        list(fn.process((0, "pickle", str(evil))))
