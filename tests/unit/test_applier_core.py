"""The applier core the local, Beam and streaming engines share: plan, chunk labelling, reassembly."""

from __future__ import annotations

import itertools
import pickle
import random
import sys
import types

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import LabelingFunction, PandasLFApplier, labeling_function
from snorkel.preprocess import preprocessor

from beambell_assets.labeling.applier_core import (
    PATH_COLUMN,
    PATH_FALLBACK,
    PATH_KEYWORD,
    PATH_MEMBERSHIP,
    PATH_REGEX,
    PATH_ROW,
    PATH_THRESHOLD,
    ChunkLabeler,
    VoteCollector,
    build_plan,
    chunk_bounds,
    dump_plan,
    load_plan,
    takes_columns,
)
from beambell_assets.labeling.lf_types import ABSTAIN, KeywordLF, MembershipLF, RegexLF, ThresholdLF
from beambell_assets.labeling.model_lfs import PrototypeLF
from beambell_assets.labeling.tokens import ChunkColumns

PROTOS = {
    0: "recipe oven bake sugar dessert dinner kitchen cook",
    1: "football league match goal team coach player season",
}


@labeling_function()
def shouts(x):
    if "boom" in str(x.text):
        raise RuntimeError("boom")
    return 1 if str(x.text).isupper() else ABSTAIN


class WrongColumnLF(LabelingFunction):
    """A plain LF with a column form that returns the wrong shape: falls back per row."""

    def __init__(self) -> None:
        super().__init__("wrong_column", f=lambda x: 0 if "goal" in str(x.text) else ABSTAIN)

    def column_votes(self, df):
        return np.zeros(len(df) + 1, dtype=np.int64)


def lfs() -> list[LabelingFunction]:
    return [
        KeywordLF("kw_food", ["oven", "dessert"], 0),
        KeywordLF("kw_sport", ["league match", "goal"], 1, min_hits=1),
        RegexLF("re_score", r"\b\d+-\d+\b", 1),
        MembershipLF("tld", "tld", ["fr", "de"], 0),
        ThresholdLF("long", "n", ">", 3, 1),
        PrototypeLF("proto", PROTOS, fields=("text",), min_tokens=1, min_similarity=0.05),
        shouts,
        WrongColumnLF(),
    ]


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    words = ["oven", "dessert", "league", "match", "goal", "team", "3-1", "BOOM", "boom", "the", "Cook"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 8))) for _ in range(n)]
    texts[::7] = [t.upper() for t in texts[::7]]
    return pd.DataFrame(
        {
            "text": texts,
            "tld": [rng.choice(["fr", "com", "DE", None]) for _ in range(n)],
            "n": [rng.choice([1, 5, None]) for _ in range(n)],
        },
        index=[f"r{i}" for i in range(n)],
    )


def snorkel(lf_list, df):
    L, meta = PandasLFApplier(lf_list).apply(df, progress_bar=False, fault_tolerant=True, return_meta=True)
    return L, {k: v for k, v in meta.faults.items() if v}


def test_chunk_bounds_cover_every_row_once_in_order() -> None:
    for n in [1, 2, 7, 100, 101]:
        for k in [0, 1, 3, 8, 200]:
            bounds = chunk_bounds(n, k)
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
            assert all(e > s for s, e in bounds)
            assert 1 <= len(bounds) <= max(1, min(k, n))
    assert chunk_bounds(0, 4) == []


def test_plan_sorts_lfs_into_paths_and_rejects_duplicate_names() -> None:
    plan = build_plan(lfs())
    assert plan.paths == {
        "kw_food": PATH_KEYWORD,
        "kw_sport": PATH_KEYWORD,
        "re_score": PATH_REGEX,
        "tld": PATH_MEMBERSHIP,
        "long": PATH_THRESHOLD,
        "proto": PATH_COLUMN,
        "shouts": PATH_ROW,
        "wrong_column": PATH_COLUMN,
    }
    assert len(plan.keyword_groups) == 1  # one field: one shared matcher
    assert [(lf.name, shared) for _, lf, shared in plan.column_lfs] == [
        ("proto", True),
        ("wrong_column", False),
    ]
    with pytest.raises(ValueError, match="unique"):
        build_plan([*lfs(), KeywordLF("kw_food", ["x"], 0)])


def test_takes_columns_only_when_votes_for_columns_is_at_least_as_deep_as_column_votes() -> None:
    class OwnFrameForm(PrototypeLF):
        def column_votes(self, df):
            return np.full(len(df), 1, dtype=np.int64)

    class OwnColumnsForm(OwnFrameForm):
        def votes_for_columns(self, columns):
            return np.full(len(columns), 0, dtype=np.int64)

    assert takes_columns(PrototypeLF("p", PROTOS))
    own_frame = OwnFrameForm("f", PROTOS)
    assert not takes_columns(own_frame)
    assert takes_columns(OwnColumnsForm("c", PROTOS))
    assert not takes_columns(WrongColumnLF()) and not takes_columns(shouts)
    df = frame(5)
    L = ChunkLabeler(build_plan([own_frame])).label(df).L
    assert L[:, 0].tolist() == [1] * len(df)  # the subclass's own column form is the one called


def test_chunks_labelled_out_of_order_reassemble_to_snorkels_matrix() -> None:
    lf_list = lfs()
    df = frame(60)
    expected, expected_faults = snorkel(lf_list, df)
    plan = build_plan(lf_list)
    labeler = ChunkLabeler(plan)
    votes = VoteCollector(plan, len(df))
    for s, e in reversed(chunk_bounds(len(df), 7)):
        votes.add(labeler.label(df.iloc[s:e], s))
    np.testing.assert_array_equal(votes.L, expected)
    assert votes.rows_added == len(df) and votes.chunks_added == 7
    report = votes.report(1.0, n_jobs=3, mode="test")
    assert report.faults == expected_faults == {"shouts": int(df["text"].str.contains("boom").sum())}
    assert report.lf_paths["wrong_column"] == PATH_FALLBACK and "wrong_column" in report.fallbacks
    assert report.lf_paths["proto"] == PATH_COLUMN
    assert (report.n_rows, report.n_chunks, report.n_jobs, report.mode) == (len(df), 7, 3, "test")
    assert set(report.kind_seconds) >= {PATH_KEYWORD, PATH_ROW, PATH_FALLBACK, PATH_COLUMN}


def test_a_labeler_keeps_its_token_table_across_chunks_and_renews_it_when_full() -> None:
    lf_list = lfs()
    df = frame(40, seed=3)
    expected, _ = snorkel(lf_list, df)
    labeler = ChunkLabeler(build_plan(lf_list), max_tokens=4)
    tables, got = set(), []
    for s, e in chunk_bounds(len(df), 8):
        columns = labeler.columns(df.iloc[s:e])
        tables.add(id(columns.table))
        got.append(labeler.label(columns.df, s, columns).L)
        assert ("tokens", "text") in columns._memo  # the LFs read the text through these columns
    np.testing.assert_array_equal(np.vstack(got), expected)
    assert 1 < len(tables) <= 8, "a full table is replaced, the others are kept"
    roomy = ChunkLabeler(build_plan(lf_list))
    assert roomy.columns(df).table is roomy.columns(df.iloc[:3]).table
    with pytest.raises(ValueError, match="ChunkColumns of the frame"):
        roomy.label(df, 0, ChunkColumns(df.iloc[:3]))


@preprocessor(memoize=True)
def count_words(x):
    x.n_words = len(str(x.text).split())
    return x


def test_a_plan_travels_as_bytes_with_fresh_preprocessor_caches() -> None:
    many = labeling_function(name="many_words", pre=[count_words])(lambda x: 1 if x.n_words > 3 else ABSTAIN)
    lf_list = [*lfs(), many]
    df = frame(30, seed=5)
    expected, _ = snorkel(lf_list, df)
    plan = build_plan(lf_list)
    ChunkLabeler(plan).label(df)  # fills the memo cache in this process
    assert count_words._cache
    copy = load_plan(dump_plan(plan))
    assert [lf.name for lf in copy.lfs] == plan.names and copy.paths == plan.paths
    assert not copy.lfs[-1]._pre[0]._cache
    np.testing.assert_array_equal(ChunkLabeler(copy).label(df).L, expected)
    with pytest.raises(TypeError, match="not an LF plan"):
        load_plan(pickle.dumps({"lfs": []}))


def test_lfs_of_a_task_loaded_from_a_file_travel_by_value() -> None:
    """``load_task`` puts a file's module in sys.modules as ``beambell_user_task_<hash>``, which
    a worker cannot import: its functions must be pickled with their code."""
    name = "beambell_user_task_core_test"
    module = types.ModuleType(name)
    exec(  # a task file's source, as load_task would run it
        "from snorkel.labeling import labeling_function\n"
        "def mentions_goal(text):\n"  # a module-level helper: pickled by reference unless by value
        "    return 'goal' in text\n"
        "@labeling_function()\n"
        "def has_goal(x):\n"
        "    return 1 if mentions_goal(str(x.text)) else -1\n",
        module.__dict__,
    )
    sys.modules[name] = module
    try:
        data = dump_plan(build_plan([module.has_goal]))
    finally:
        del sys.modules[name]
    copy = load_plan(data)  # the module is gone, as in a worker
    df = frame(20, seed=2)
    expected = np.where(df["text"].str.contains("goal"), 1, ABSTAIN)
    np.testing.assert_array_equal(ChunkLabeler(copy).label(df).L[:, 0], expected)
