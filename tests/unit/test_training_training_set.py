"""build_training_set(): abstain-only rows dropped, probabilities as typed columns, gold overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import filter_unlabeled_dataframe

from beambell_assets.training.training_set import (
    build_training_set,
    prob_columns,
    probs_of,
    summarize_training_set,
)


@pytest.fixture
def features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "page_id": ["p0", "p1", "p2", "p3", "p4"],
            "partition_key": ["2025-01-01", "2025-01-01", "2025-01-02", "2025-01-02", "2025-01-02"],
            "url": ["https://a.example/"] * 5,
            "text": ["cheap hotel deals", "football scores", None, "election news", "nothing here"],
            "title": ["t0", "t1", "t2", "t3", "t4"],
        }
    )


L = np.array([[0, -1, 0], [-1, 1, -1], [2, -1, -1], [-1, -1, -1], [-1, -1, -1]])
PROBS = np.array(
    [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]]
)


def test_filters_abstain_only_rows_like_snorkel(features):
    ts = build_training_set(features, L, PROBS, "text")
    expected_df, expected_probs = filter_unlabeled_dataframe(features, PROBS, L)
    frame = ts.frame
    assert list(frame["page_id"]) == list(expected_df["page_id"])
    np.testing.assert_allclose(probs_of(frame), expected_probs)
    assert (ts.n_input, ts.n_kept, ts.n_filtered, ts.n_gold_overrides) == (5, 3, 2, 0)
    assert ts.counts()["n_filtered_abstain"] == 2


def test_schema(features):
    frame = build_training_set(features, L, PROBS, "text").frame
    assert list(frame.columns) == [
        "page_id",
        "partition_key",
        "text",
        *prob_columns(3),
        "weak_label",
        "weak_confidence",
        "n_votes",
        "label_source",
    ]
    assert frame["text"].tolist() == ["cheap hotel deals", "football scores", ""]  # None -> ""
    assert frame["weak_label"].tolist() == [0, 1, 2]
    assert frame["weak_label"].dtype == np.int64
    np.testing.assert_allclose(frame["weak_confidence"], [0.8, 0.7, 0.4])
    assert frame["n_votes"].tolist() == [2, 1, 1]
    assert set(frame["label_source"]) == {"weak"}
    assert frame["partition_key"].tolist() == ["2025-01-01", "2025-01-01", "2025-01-02"]


def test_parquet_round_trip(features, tmp_path):
    frame = build_training_set(features, L, PROBS, "text").frame
    path = tmp_path / "ts.parquet"
    frame.to_parquet(path)
    back = pd.read_parquet(path)
    np.testing.assert_allclose(probs_of(back), probs_of(frame))
    assert back["weak_label"].tolist() == frame["weak_label"].tolist()
    assert summarize_training_set(back)["weak_label_counts"] == [1, 1, 1]


def test_text_field_and_missing_partition_key(features):
    ts = build_training_set(features.drop(columns=["partition_key"]), L, PROBS, "title")
    assert ts.frame["text"].tolist() == ["t0", "t1", "t2"]
    assert ts.frame["partition_key"].isna().all()


def test_unnormalised_probabilities_are_renormalised(features):
    frame = build_training_set(features, L, PROBS * 3, "text").frame
    np.testing.assert_allclose(probs_of(frame).sum(axis=1), 1.0)


def test_vote_counts_instead_of_matrix(features):
    a = build_training_set(features, L, PROBS, "text").frame
    b = build_training_set(features, (L != -1).sum(axis=1), PROBS, "text").frame
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="negative"):
        build_training_set(features, np.array([1, -1, 0, 0, 0]), PROBS, "text")


def test_gold_overrides_weak_labels_and_keeps_uncovered_gold_rows(features):
    gold = np.array([1, -1, -1, 2, -1])
    ts = build_training_set(features, L, PROBS, "text", gold=gold)
    frame = ts.frame.set_index("page_id")
    assert list(frame.index) == ["p0", "p1", "p2", "p3"]
    np.testing.assert_allclose(probs_of(frame.reset_index()).round(6)[[0, 3]], [[0, 1, 0], [0, 0, 1]])
    assert frame.loc["p0", "weak_label"] == 1 and frame.loc["p0", "label_source"] == "gold"
    assert frame.loc["p3", "label_source"] == "gold" and frame.loc["p3", "n_votes"] == 0
    assert frame.loc["p1", "label_source"] == "weak"
    assert (ts.n_kept, ts.n_filtered, ts.n_gold_overrides) == (4, 1, 2)


def test_nothing_to_keep(features):
    ts = build_training_set(features, np.full((5, 3), -1), PROBS, "text")
    assert ts.n_kept == 0 and len(ts.frame) == 0
    assert prob_columns(3)[0] in ts.frame.columns
    assert summarize_training_set(ts.frame) == {"n_rows": 0}


def test_empty_input():
    empty = pd.DataFrame({"page_id": [], "text": []})
    ts = build_training_set(empty, np.zeros((0, 2), dtype=int), np.zeros((0, 3)), "text")
    assert ts.n_input == 0 and ts.frame.empty


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"L": L[:4]}, "L must have 5 rows"),
        ({"probs": PROBS[:4]}, "probs must have 5 rows"),
        ({"probs": PROBS[:, :1]}, "two class columns"),
        ({"probs": -PROBS}, "non-negative"),
        ({"text_field": "body"}, "lacks column"),
        ({"gold": np.array([0, 1])}, "gold must have shape"),
        ({"gold": np.array([0, 1, 9, -1, -1])}, "outside"),
    ],
)
def test_bad_inputs(features, kwargs, match):
    args = {"L": L, "probs": PROBS, "text_field": "text", **kwargs}
    with pytest.raises(ValueError, match=match):
        build_training_set(features, **args)


def test_probs_of_needs_complete_columns():
    with pytest.raises(ValueError, match="prob_0"):
        probs_of(pd.DataFrame({"prob_0": [1.0], "prob_2": [0.0]}))
