"""The streaming full retrain equals the in-memory steps it replaces, chunk by chunk.

Pages: the project's own sample pages (no shared data needed), written as Parquet files of page
features with small row groups so several chunks cross two worker processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beambell_assets.demo.sample import generate_sample
from beambell_assets.ingest.features import build_page_features
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.training.hashed_features import TokenHasher, document_frequencies
from beambell_assets.training.label_model import fit_label_model
from beambell_assets.training.streaming_retrain import plan_chunks, streaming_retrain


def sample_features() -> pd.DataFrame:
    rows = []
    for batch in generate_sample(n_batches=3, pages_per_batch=150, seed=3):
        for r in batch.records:
            if r.expected_reason is None and isinstance(r.fields.get("text"), str):
                rows.append(
                    {
                        "page_id": r.fields["id"],
                        "partition_key": batch.file_name,
                        "url": r.fields.get("url"),
                        "title": r.fields.get("title"),
                        "text": r.fields["text"],
                        "label": r.label,
                    }
                )
    feats = build_page_features(pd.DataFrame(rows))
    feats["source_label"] = [TASK.label_names.index(c) for c in feats["label"]]
    return feats.reset_index(drop=True)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, list[Path]]:
    feats = sample_features()
    out = tmp_path_factory.mktemp("pages")
    half = len(feats) // 2
    paths = []
    for i, part in enumerate((feats.iloc[:half], feats.iloc[half:])):
        path = out / f"pages-{i}.parquet"
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), path, row_group_size=37)
        paths.append(path)
    return feats, paths


def test_streaming_retrain_matches_the_in_memory_steps(pages, tmp_path: Path) -> None:
    feats, paths = pages
    chunks = plan_chunks(paths)
    assert len(chunks) >= 6 and sum(c.rows for c in chunks) == len(feats)
    work = tmp_path / "work"
    res = streaming_retrain(paths, TASK, n_jobs=2, work_dir=work, extra_columns=("source_label",), epochs=3)

    # every page in, once, in file order
    assert res.n_pages == len(feats)
    np.testing.assert_array_equal(res.extra_columns["source_label"], feats["source_label"].to_numpy())

    # L equals the applier's on the whole frame (which equals Snorkel's: tests/unit/test_applier.py)
    frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    L, _ = FastLFApplier(TASK.lfs, n_jobs=1).apply(frame)
    fit = fit_label_model(L, TASK.cardinality, seed=0)
    np.testing.assert_array_equal(res.label_model.covered, fit.covered)
    np.testing.assert_allclose(res.label_model.probs, fit.probs, atol=1e-6)  # float32 kept
    assert res.n_training_rows == int(fit.covered.sum()) > 0.8 * len(feats)

    # the summed document frequencies are the whole window's
    hasher = TokenHasher(res.classifier.n_features)
    df_all = document_frequencies(hasher.counts(frame["text"].tolist()))
    from beambell_assets.training.hashed_features import idf_from_counts

    np.testing.assert_array_equal(res.classifier.idf_, idf_from_counts(df_all, len(frame)))
    assert res.classifier.rows_seen_ == 3 * res.n_training_rows

    # it learned: far above chance on its own pages' true categories
    pred = res.classifier.predict(frame["text"].tolist())
    assert (pred == frame["source_label"].to_numpy()).mean() > 0.8
    assert set(res.stage_seconds) == {"label_matrix", "label_model", "training_set", "classifier"}
    assert sorted(p.name for p in work.iterdir()) == sorted(
        ["idf.npy", *(f"counts-{c.index:06d}.npz" for c in chunks)]
    )


def test_no_pages_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.Table.from_pandas(sample_features().iloc[:0], preserve_index=False), path)
    with pytest.raises(ValueError, match="no pages"):
        streaming_retrain([path], TASK, n_jobs=1)


def test_a_vote_for_a_label_the_task_lacks_is_an_abstain_and_a_fault(pages) -> None:
    from snorkel.labeling import labeling_function

    from beambell_assets.labeling.task import make_task

    @labeling_function()
    def lf_label_nine_of_two(x) -> int:  # a two-class task has no label 9
        return 9 if "the" in str(x.text).lower().split() else -1

    _, paths = pages
    base = [lf for lf in TASK.lfs if lf.name in TASK.lf_names[:6]]
    task = make_task("two", ["a", "b"], [*(_two_class(lf) for lf in base), lf_label_nine_of_two])
    res = streaming_retrain(paths[:1], task, n_jobs=1)
    frame = pd.read_parquet(paths[0])
    fired = sum("the" in str(t).lower().split() for t in frame["text"])
    assert fired > 0 and res.lf_faults["lf_label_nine_of_two"] == fired
    assert res.label_model.probs.shape == (len(frame), 2)


def _two_class(lf):
    """``lf`` folded onto a two-class task: its even labels -> 0, odd -> 1."""
    from snorkel.labeling import LabelingFunction

    def folded(x, _f=lf) -> int:
        vote = _f(x)
        return -1 if vote < 0 else vote % 2

    return LabelingFunction(f"two_{lf.name}", folded)
