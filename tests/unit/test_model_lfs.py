"""Model-based LFs: votes, abstentions, and the column form equal to the per-row form exactly."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from snorkel.labeling import LabelingFunction, PandasLFApplier

from beambell_assets.labeling.lf_types import ABSTAIN, DeclarativeLF
from beambell_assets.labeling.model_lfs import ModelLF, PrototypeLF, SeedNaiveBayesLF, analyze
from beambell_assets.labeling.task import make_task
from beambell_assets.labeling.tasks.web_content import MODEL_LFS

PROTOS = {
    0: "cooking recipes: ingredients, bake in the oven, tablespoons of sugar, dinner and dessert",
    1: "football and basketball: the team won the match, players, coach, league, season, goals",
    2: "software and computers: install the app, programming code, laptops, servers and the cloud",
}

TEXTS = [
    "Preheat the oven and whisk two tablespoons of sugar into the dessert batter. Easy dinner recipes.",
    "The team won the league match; the coach praised the players after three goals this season.",
    "Install the app on your laptop, write programming code and deploy to cloud servers.",
    "",  # nothing to go on
    "hello world",  # no vocabulary term
    "recipes football software",  # one word of each: no clear winner
    "bake bake bake oven dinner team",  # mostly food
]


def _lfs() -> list[ModelLF]:
    return [PrototypeLF("proto", PROTOS, fields=("title", "text")), SeedNaiveBayesLF("nb", PROTOS)]


def _frame(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": [None, "Match report", np.nan, pd.NA, "", "Mixed", "Kitchen"][: len(texts)],
            "text": texts,
            "description": [np.nan] * len(texts),
            "n_links": np.arange(len(texts), dtype=float),
        }
    )


@pytest.mark.parametrize("lf", _lfs(), ids=lambda lf: lf.name)
def test_votes_and_abstains(lf: ModelLF) -> None:
    votes = lf.column_votes(_frame(TEXTS))
    assert votes.dtype == np.int64
    assert votes[:3].tolist() == [0, 1, 2]
    assert votes[3] == ABSTAIN and votes[4] == ABSTAIN
    assert votes[5] == ABSTAIN  # a tie is not a vote


@pytest.mark.parametrize("lf", _lfs(), ids=lambda lf: lf.name)
def test_multiclass_lf_shape(lf: ModelLF) -> None:
    assert isinstance(lf, LabelingFunction) and isinstance(lf, DeclarativeLF)
    assert lf.label is None  # one LF, many classes
    assert lf.labels == (0, 1, 2)
    assert lf.column_form_is_exact()
    # The task validator accepts it (it only range-checks a non-None ``label``).
    task = make_task("t", ["food", "sports", "tech"], [lf])
    assert task.cardinality == 3


@pytest.mark.parametrize("lf", _lfs(), ids=lambda lf: lf.name)
def test_column_votes_equal_per_row_votes(lf: ModelLF) -> None:
    df = _frame(TEXTS)
    per_row = np.array([lf(row) for row in df.itertuples(index=False)])
    snorkel = PandasLFApplier([lf]).apply(df, progress_bar=False)[:, 0]
    np.testing.assert_array_equal(lf.column_votes(df), per_row)
    np.testing.assert_array_equal(lf.column_votes(df), snorkel)
    # Any chunking of the frame gives the same votes (a batch never changes a row's vote).
    chunks = np.concatenate([lf.column_votes(df.iloc[i : i + 2]) for i in range(0, len(df), 2)])
    np.testing.assert_array_equal(chunks, per_row)


def test_default_task_model_lfs_column_form_matches_snorkel_on_many_pages() -> None:
    rng = np.random.default_rng(0)
    words = (
        "hotel flight travel booking news politics match league photo camera lens recipe oven software "
        "laptop forum thread shop cart checkout porn game xbox court attorney university students workout "
        "gym streaming episodes friends chat company investors the and of a to Hello WORLD 2024 x"
    )
    words = words.split()
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 40))) for _ in range(300)]
    df = pd.DataFrame(
        {
            "text": texts,
            "title": [t[:30] if i % 3 else None for i, t in enumerate(texts)],
            "description": [np.nan] * len(texts),
            "og_site_name": [None] * len(texts),
        }
    )
    L = PandasLFApplier(MODEL_LFS).apply(df, progress_bar=False)
    for j, lf in enumerate(MODEL_LFS):
        np.testing.assert_array_equal(lf.column_votes(df), L[:, j], err_msg=lf.name)
    assert (L != ABSTAIN).any(axis=0).all(), "each model LF votes somewhere"


def test_missing_fields_and_empty_frames() -> None:
    lf = PrototypeLF("proto", PROTOS)  # reads title, description, text
    df = pd.DataFrame({"other": [1, 2]})
    assert lf.column_votes(df).tolist() == [ABSTAIN, ABSTAIN]
    assert lf.column_votes(df.iloc[:0]).shape == (0,)


def test_pickle_round_trip_keeps_votes() -> None:
    df = _frame(TEXTS)
    for lf in _lfs():
        clone = pickle.loads(pickle.dumps(lf))
        np.testing.assert_array_equal(clone.column_votes(df), lf.column_votes(df))


def test_fast_applier_uses_the_column_form_and_agrees() -> None:
    applier_mod = pytest.importorskip("beambell_assets.labeling.applier")
    lfs = _lfs()
    df = _frame(TEXTS)
    applier = applier_mod.FastLFApplier(lfs, n_jobs=1)
    out = applier.apply(df)
    L = out[0] if isinstance(out, tuple) else out
    np.testing.assert_array_equal(L, PandasLFApplier(lfs).apply(df, progress_bar=False))
    assert set(applier.lf_paths.values()) == {"column_votes"}


def test_analyzer_folds_plurals_and_drops_stop_words() -> None:
    toks = analyze("The hotels and the Recipes of cities")
    assert "hotel" in toks and "recipe" in toks and "city" in toks
    assert "the" not in toks and "and" not in toks
    assert "hotel recipe" in toks  # bigrams after stop-word removal


def test_bad_prototypes_are_rejected() -> None:
    with pytest.raises(ValueError):
        PrototypeLF("p", {0: "only one class"})
    with pytest.raises(ValueError):
        PrototypeLF("p", {0: "the and of", 1: "football"})  # no usable tokens
    with pytest.raises(ValueError):
        SeedNaiveBayesLF("nb", PROTOS, fields=())


def _assert_same_matrix(got, expected) -> None:
    assert type(got) is type(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    for attr in ("data", "indices", "indptr"):
        a, b = getattr(got, attr), getattr(expected, attr)
        assert a.dtype == b.dtype and np.array_equal(a, b), attr


def _sklearn_counts(vec, texts):
    """sklearn's own count matrix (a TfidfVectorizer's counts come from CountVectorizer.transform)."""
    return CountVectorizer.transform(vec, texts)


def test_fast_count_matrix_equals_sklearn_transform() -> None:
    """``count_matrix`` (the fast path both LF forms use) builds sklearn's exact matrix, and a
    slot's token table stays bounded without changing any result."""
    from beambell_assets.labeling import model_lfs
    from beambell_assets.labeling.tokens import TokenTableSlot, tokenize

    texts = [*TEXTS, "Hotels hotels HOTELS's cities cities 2024 x of the", "recipes recipe, bus bus"]
    for lf in [*_lfs(), *MODEL_LFS]:
        vec = lf.vectorizer
        expected = _sklearn_counts(vec, texts)
        for _ in range(2):  # cold, then warm lookup tables
            _assert_same_matrix(model_lfs.count_matrix(vec, texts), expected)
    assert model_lfs.analyze("Hotels and recipes") == ["hotel", "recipe", "hotel recipe"]
    slot = TokenTableSlot(max_tokens=5)
    tables = set()
    for lf in [*_lfs(), *MODEL_LFS]:
        for t in texts:
            got = model_lfs.count_matrix(lf.vectorizer, [t], slot.current())
            _assert_same_matrix(got, _sklearn_counts(lf.vectorizer, [t]))
            tables.add(id(slot.current()))
    assert len(tables) > 1, "a full table is replaced"
    # a table grows past the cap by at most one batch's new tokens
    assert len(slot.current()) <= 5 + max(len(set(tokenize(t))) for t in texts)


def test_count_matrix_on_random_unicode_text() -> None:
    """Stop words, numbers and one-letter tokens between words (dropped before bigrams are formed),
    out-of-vocabulary words (which separate their neighbours), odd case and unicode."""
    import random

    from beambell_assets.labeling import model_lfs

    rng = random.Random(5)
    vec = MODEL_LFS[0].vectorizer
    vocab = [t for t in vec.vocabulary_ if " " not in t]
    bigrams = [t for t in vec.vocabulary_ if " " in t]
    pieces = [*rng.sample(vocab, 40), *rng.sample(bigrams, 40), "the", "of", "2024", "x", "zzyzx"]
    pieces += ["HOTELS", "Hotels", "İstanbul", "straße", "ß", "Σ", "ΣΑΣ", "東京", "-", ",", "\n", "_"]
    texts = [" ".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(300)]
    for lf in MODEL_LFS:
        expected = _sklearn_counts(lf.vectorizer, texts)
        _assert_same_matrix(model_lfs.count_matrix(lf.vectorizer, texts), expected)
        assert expected.nnz > 0


def test_model_lfs_share_one_count_matrix_per_applier_chunk() -> None:
    """Model LFs with one vocabulary and the same fields count a chunk once; votes do not change."""
    from beambell_assets.labeling import model_lfs
    from beambell_assets.labeling.applier import FastLFApplier
    from beambell_assets.labeling.applier_core import takes_columns
    from beambell_assets.labeling.tokens import ChunkColumns

    lfs = [PrototypeLF("p", PROTOS), SeedNaiveBayesLF("nb", PROTOS), PrototypeLF("p2", PROTOS)]
    df = _frame(TEXTS)
    expected = [lf.column_votes(df) for lf in lfs]
    calls = []
    real = model_lfs._counts

    def counting(tables, col):
        calls.append(tables)
        return real(tables, col)

    model_lfs._counts = counting
    try:
        assert all(takes_columns(lf) for lf in lfs)
        columns = ChunkColumns(df)
        got = [lf.votes_for_columns(columns) for lf in lfs]
        assert len(calls) == 1, "one count matrix for the three LFs"
        got_alone = [lf.column_votes(df) for lf in lfs]  # each reads df on its own: nothing shared
        assert len(calls) == 4
        L, _ = FastLFApplier(lfs, n_jobs=1, chunk_size=3).apply(df)  # the applier hands them a chunk's
        assert len(calls) == 4 + -(-len(df) // 3), "one count matrix per chunk"
    finally:
        model_lfs._counts = real
    for j, (a, b, c) in enumerate(zip(expected, got, got_alone, strict=True)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(a, L[:, j])


def test_subclass_with_its_own_batch_function_keeps_it_in_the_column_form() -> None:
    class Biased(PrototypeLF):
        def votes_for_texts(self, texts):  # type: ignore[no-untyped-def]
            votes = super().votes_for_texts(texts)
            return np.where(votes == ABSTAIN, 2, votes)

    lf = Biased("biased", PROTOS)
    df = _frame(TEXTS)
    per_row = np.array([lf(row) for row in df.itertuples(index=False)])
    np.testing.assert_array_equal(lf.column_votes(df), per_row)
    assert (per_row == 2).sum() > 1
