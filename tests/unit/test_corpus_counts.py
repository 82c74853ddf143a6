"""One counting pass, many fits: ``CorpusCounts`` must give what fitting ``TfidfVectorizer`` gives."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

import beambell_assets.training.end_model as end_model
from beambell_assets.devtools.prediction_service import sample_pages
from beambell_assets.training.corpus_counts import CorpusCounts, NoTermsRemain
from beambell_assets.training.soft_classifier import HeadLower, fit_vectorizer

EDGE_CASES = ["", "   ", "a", "Ünïcødé café", "漢字かな交じり文", "emoji 😀🎉", "word " * 300]


def _texts(n: int = 240) -> np.ndarray:
    texts = [str(p.get("text") or p.get("html") or "") for p, _ in sample_pages(2, 150, seed=3)]
    assert len(texts) >= n
    return np.asarray(texts[:n] + EDGE_CASES, dtype=object)


VECTORIZERS = {
    "word": dict(analyzer="word", ngram_range=(1, 2), min_df=2, token_pattern=r"(?u)\b\w+\b"),
    "char": dict(analyzer="char_wb", ngram_range=(2, 5), min_df=2, preprocessor=HeadLower(3000)),
    # the max_features cut active, and float document-frequency bounds
    "word, capped": dict(analyzer="word", ngram_range=(1, 2), min_df=2, max_features=500),
    "char, float df": dict(
        analyzer="char_wb", ngram_range=(3, 4), min_df=0.02, max_df=0.5, max_features=3000
    ),
}


def _vectorizer(kind: str) -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True, dtype=np.float32, **VECTORIZERS[kind])


@pytest.mark.parametrize("kind", list(VECTORIZERS))
def test_subsets_equal_fitting_the_vectorizer_on_them(kind: str) -> None:
    texts = _texts()
    counted = CorpusCounts(_vectorizer(kind), texts.tolist())
    rng = np.random.default_rng(0)
    for _ in range(3):
        perm = rng.permutation(len(texts))
        tr, te = np.sort(perm[: len(texts) * 2 // 3]), np.sort(perm[len(texts) * 2 // 3 :])
        got_tr, got_te = counted.fit_transform(tr, te)
        real = _vectorizer(kind)
        want_tr = real.fit_transform(texts[tr].tolist())
        want_te = real.transform(texts[te].tolist())
        assert got_tr.shape == want_tr.shape and got_te.shape == want_te.shape
        np.testing.assert_allclose(got_tr.toarray(), want_tr.toarray(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got_te.toarray(), want_te.toarray(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["word", "char, float df"])
def test_the_whole_corpus_gives_a_fitted_vectorizer_like_a_real_fit(kind: str) -> None:
    texts = _texts().tolist()
    vec, X = CorpusCounts(_vectorizer(kind), texts).fitted_vectorizer()
    real = _vectorizer(kind)
    want = real.fit_transform(texts)
    assert vec.vocabulary_ == real.vocabulary_
    np.testing.assert_allclose(vec.idf_, real.idf_, rtol=1e-6)
    np.testing.assert_allclose(X.toarray(), want.toarray(), rtol=1e-6, atol=1e-7)
    new = ["fresh words about travel and football", *EDGE_CASES]
    np.testing.assert_allclose(vec.transform(new).toarray(), real.transform(new).toarray(), rtol=1e-6)
    # fit_vectorizer takes it from the counts only for the same configuration and the same rows
    assert fit_vectorizer(lambda min_df=None: _vectorizer(kind), texts, 2, [CorpusCounts(real, texts)])[0]
    other = _vectorizer(kind).set_params(ngram_range=(1, 1))
    assert not CorpusCounts(real, texts).matches(other)


def test_a_subset_with_no_common_term_raises_and_the_search_fits_the_fold_instead() -> None:
    texts = np.asarray(["alpha beta", "gamma delta", "alpha gamma", "epsilon zeta"], dtype=object)
    counted = CorpusCounts(_vectorizer("word"), texts.tolist())
    with pytest.raises(NoTermsRemain):
        counted.fit_transform(np.array([1, 3]), np.array([0]))  # no term twice in these rows
    cache: dict = {}
    folds = ({}, texts, np.array([1, 3]), np.array([0, 2]))
    Xtr, Xte = end_model.fold_matrices("word", texts[[1, 3]], texts[[0, 2]], 2, None, cache, folds)
    assert Xtr.shape[0] == 2 and Xte.shape[0] == 2 and Xtr.shape[1] > 0  # min_df=1 on the fold
    with pytest.raises(NoTermsRemain):
        CorpusCounts(_vectorizer("word").set_params(min_df=5), texts.tolist())


def test_the_search_and_the_final_model_are_unchanged_by_counting_once(monkeypatch) -> None:
    """The same table and the same fitted model as fitting every fold and the final model on text;
    counted once means one count per featurisation, and the final fit builds its vectorizers from it."""
    texts = _texts(160)
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3) * 0.3, size=len(texts))
    calls = {"counted": 0, "fitted_vectorizer": 0}
    count, fitted_vectorizer = CorpusCounts.__init__, CorpusCounts.fitted_vectorizer

    def counting(self, *args, **kwargs):
        calls["counted"] += 1
        return count(self, *args, **kwargs)

    def reusing(self):
        calls["fitted_vectorizer"] += 1
        return fitted_vectorizer(self)

    monkeypatch.setattr(CorpusCounts, "__init__", counting)
    monkeypatch.setattr(CorpusCounts, "fitted_vectorizer", reusing)
    counted = end_model.fit_end_model(texts.tolist(), probs, 3, c_grid=(10.0,), folds=3)
    assert counted.selection is not None and "corpus_counts" not in vars(counted.selection)  # not kept
    assert calls == {"counted": 2, "fitted_vectorizer": 2}  # word and char, each counted once, reused
    plain = end_model.fit_end_model(texts.tolist(), probs, 3, c_grid=(10.0,), folds=3, count_once=False)
    assert calls == {"counted": 2, "fitted_vectorizer": 2}  # the reference path never counts
    assert plain.selection is not None
    a, b = counted.selection.table, plain.selection.table
    assert list(a["candidate"]) == list(b["candidate"]) and list(a["chosen"]) == list(b["chosen"])
    np.testing.assert_allclose(a["cross_entropy"], b["cross_entropy"], rtol=1e-5)
    np.testing.assert_allclose(
        counted.model.predict_proba(texts.tolist()), plain.model.predict_proba(texts.tolist()), atol=1e-5
    )


def test_head_lower_configurations_compare_by_value() -> None:
    assert HeadLower(3000) == HeadLower(3000) and HeadLower(3000) != HeadLower(50)
    assert hash(HeadLower(7)) == hash(HeadLower(7)) and repr(HeadLower(7)) == "HeadLower(7)"
