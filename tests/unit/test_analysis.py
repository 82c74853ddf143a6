"""LF summary and label-matrix statistics against Snorkel's LFAnalysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import LabelingFunction, LFAnalysis, labeling_function

from beambell_assets.labeling.analysis import gold_array, label_matrix_stats, lf_summary
from beambell_assets.labeling.lf_types import ABSTAIN, KeywordLF, RegexLF, ThresholdLF

LABELS = ("Travel", "News", "Sports")


@labeling_function()
def plain(x):
    return ABSTAIN


class TwoClassLF(LabelingFunction):
    """Votes for several classes (like a model LF): ``labels``, no single ``label``."""

    kind = "model"
    label = None
    labels = (0, 2)

    def __init__(self) -> None:
        super().__init__(name="two_class", f=lambda x: ABSTAIN)


def make_lfs() -> list[LabelingFunction]:
    return [
        KeywordLF("kw_travel", ["hotel"], 0),
        RegexLF("re_news", r"news", 1),
        ThresholdLF("thr_sport", "n", ">", 3, 2),
        plain,
        TwoClassLF(),
    ]


def random_L(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    L = rng.integers(-1, 3, size=(n, 5))
    L[rng.random((n, 5)) < 0.5] = ABSTAIN
    L[:, 3] = ABSTAIN  # an LF that never votes
    return L


def test_summary_has_snorkel_columns_and_ours() -> None:
    L = random_L()
    lfs = make_lfs()
    ours = lf_summary(L, lfs, fault_counts={"plain": 4}, label_names=LABELS)
    snorkel = LFAnalysis(L, lfs).lf_summary()
    for col in ("j", "Coverage", "Overlaps", "Conflicts"):
        np.testing.assert_allclose(ours[col].to_numpy(float), snorkel[col].to_numpy(float), err_msg=col)
    assert ours["Polarity"].tolist() == [[int(v) for v in p] for p in snorkel["Polarity"]]
    assert list(ours.index) == [lf.name for lf in lfs]
    assert ours.loc["kw_travel", "kind"] == "keyword"
    assert ours.loc["kw_travel", "class"] == "Travel"
    assert ours.loc["thr_sport", "label"] == 2
    assert ours.loc["thr_sport", "describe"] == "threshold(n > 3)"
    assert ours.loc["plain", "kind"] == "plain"
    assert pd.isna(ours.loc["plain", "label"])
    assert ours.loc["plain", "errors"] == 4
    assert ours.loc["kw_travel", "errors"] == 0
    assert ours.loc["two_class", "class"] == "any of 2 classes"
    assert "Emp. Acc." not in ours.columns


def test_full_gold_matches_snorkel_where_the_lf_votes() -> None:
    L = random_L(seed=1)
    Y = np.random.default_rng(2).integers(0, 3, len(L))
    lfs = make_lfs()
    ours = lf_summary(L, lfs, Y=Y)
    snorkel = LFAnalysis(L, lfs).lf_summary(Y)
    for col in ("Correct", "Incorrect"):
        np.testing.assert_array_equal(ours[col].to_numpy(), snorkel[col].to_numpy(), err_msg=col)
    voted = ours["Correct"] + ours["Incorrect"] > 0
    np.testing.assert_allclose(ours.loc[voted, "Emp. Acc."], snorkel.loc[voted, "Emp. Acc."])
    assert np.isnan(ours.loc["plain", "Emp. Acc."])  # Snorkel says 0.0 for an LF that never voted
    assert (ours["Gold rows"] == len(L)).all()


def test_partial_gold_uses_known_rows_only() -> None:
    L = np.array(
        [
            [0, 1, -1, -1, -1],
            [0, 1, 2, -1, -1],
            [0, -1, 2, -1, 0],
            [-1, 1, -1, -1, 2],
        ]
    )
    Y = [0, -1, np.nan, 1]  # rows 1 and 2 have no gold
    s = lf_summary(L, make_lfs(), Y=Y)
    assert s.loc["kw_travel", "Correct"] == 1
    assert s.loc["kw_travel", "Incorrect"] == 0
    assert s.loc["kw_travel", "Emp. Acc."] == 1.0
    assert s.loc["re_news", "Correct"] == 1
    assert s.loc["re_news", "Incorrect"] == 1
    assert s.loc["re_news", "Emp. Acc."] == 0.5
    assert np.isnan(s.loc["thr_sport", "Emp. Acc."])  # votes only on rows without gold
    assert s.loc["two_class", "Incorrect"] == 1
    assert (s["Gold rows"] == 2).all()
    # coverage still counts every row
    assert s.loc["thr_sport", "Coverage"] == 0.5


def test_no_known_gold_and_empty_matrix() -> None:
    lfs = make_lfs()
    L = random_L(20)
    s = lf_summary(L, lfs, Y=[-1] * 20)
    assert (s["Correct"] == 0).all()
    assert s["Emp. Acc."].isna().all()
    empty = lf_summary(np.empty((0, 5), dtype=np.int64), lfs, Y=[])
    assert (empty["Coverage"] == 0).all()
    assert empty["Polarity"].tolist() == [[]] * 5


def test_shape_and_gold_validation() -> None:
    with pytest.raises(ValueError, match="columns"):
        lf_summary(random_L(10)[:, :3], make_lfs())
    with pytest.raises(ValueError, match="labels"):
        lf_summary(random_L(10), make_lfs(), Y=[0, 1])
    with pytest.raises(ValueError):
        gold_array(["Travel", 0], 2)
    assert gold_array(pd.Series([1, None], dtype="Int64"), 2).tolist() == [1, -1]


def test_label_matrix_stats_match_snorkel() -> None:
    for seed in range(5):
        L = random_L(300, seed=seed)
        stats = label_matrix_stats(L)
        a = LFAnalysis(L)
        assert stats["coverage"] == pytest.approx(a.label_coverage())
        assert stats["overlap"] == pytest.approx(a.label_overlap())
        assert stats["conflict"] == pytest.approx(a.label_conflict())
        assert stats["rows_no_vote"] == int(((L != -1).sum(axis=1) == 0).sum())
        assert stats["lfs_never_voting"] == 1
        assert stats["n_rows"] == 300 and stats["n_lfs"] == 5


def test_label_matrix_stats_small_cases() -> None:
    L = np.array([[-1, -1], [1, -1], [1, 1], [0, 1]])
    stats = label_matrix_stats(L)
    assert stats["coverage"] == 0.75
    assert stats["overlap"] == 0.5
    assert stats["conflict"] == 0.25
    assert stats["rows_no_vote"] == 1
    assert stats["votes"] == 5
    assert stats["mean_votes_per_row"] == 1.25
    empty = label_matrix_stats(np.empty((0, 3), dtype=np.int64))
    assert empty["coverage"] == 0.0 and empty["n_rows"] == 0
    assert all(isinstance(v, int | float) for v in stats.values())
