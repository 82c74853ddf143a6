"""Hashed tf-idf features and the streaming soft-label classifier."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.utils import murmurhash3_32

from beambell_assets.labeling.lf_types import tokenize
from beambell_assets.labeling.model_lfs import STOP_WORDS
from beambell_assets.training.hashed_features import (
    TokenHasher,
    document_frequencies,
    idf_from_counts,
    tfidf,
)
from beambell_assets.training.streaming_classifier import StreamingSoftClassifier

TEXTS = [
    "Book cheap flights and hotels: 3 nights in Lisbon, flights from London!",
    "The match ended 2-1; the home team won the league title.",
    "",
    "Ünïcode TEXT with the the the repeated repeated words, a b c 12345",
    "hotels hotels hotels beach resort resort",
]


def reference_counts(texts: list[str], n_features: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for r, text in enumerate(texts):
        kept = [t for t in tokenize(text) if len(t) > 1 and t not in STOP_WORDS and not t.isdigit()]
        for col, c in Counter(murmurhash3_32(t, seed=0, positive=True) % n_features for t in kept).items():
            rows.append(r)
            cols.append(col)
            vals.append(c)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), n_features), dtype=np.float32)


@pytest.mark.parametrize("n_features", [2**20, 16])  # 16: many collisions, counts must still add
def test_counts_match_a_plain_reference(n_features: int) -> None:
    got = TokenHasher(n_features).counts(TEXTS)
    want = reference_counts(TEXTS, n_features)
    assert got.shape == want.shape
    assert (got != want).nnz == 0
    assert got.has_canonical_format
    assert got[2].nnz == 0  # the empty page


def test_counts_are_the_same_after_pickling_and_in_a_fresh_token_table() -> None:
    from beambell_assets.labeling.tokens import TokenTable, token_column

    a = TokenHasher(1024)
    first = a.counts(TEXTS)
    b = pickle.loads(pickle.dumps(a))
    assert b.token_table is not a.token_table  # a cache, not carried along
    assert (b.counts(TEXTS) != first).nnz == 0
    fresh = token_column(TEXTS[::-1], TokenTable())  # ids renumbered, as in another process
    assert (a.counts_of_tokens(fresh) != first[::-1]).nnz == 0
    assert (a.counts(TEXTS[::-1]) != first[::-1]).nnz == 0


def test_tfidf_equals_sklearn_transformer_with_summed_chunk_frequencies() -> None:
    hasher = TokenHasher(2**12)
    counts = hasher.counts(TEXTS)
    df = document_frequencies(hasher.counts(TEXTS[:2])) + document_frequencies(hasher.counts(TEXTS[2:]))
    assert np.array_equal(df, document_frequencies(counts))
    ours = tfidf(counts, idf_from_counts(df, len(TEXTS)))
    ref = TfidfTransformer(sublinear_tf=True, smooth_idf=True).fit(counts)
    want = ref.transform(counts)
    np.testing.assert_allclose(ours.toarray(), want.toarray(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(idf_from_counts(df, len(TEXTS))[df > 0], ref.idf_[df > 0], rtol=1e-6)


TOPICS = {
    0: "flight hotel beach resort booking holiday trip passport luggage airline",
    1: "match goal league score striker referee season coach stadium tournament",
    2: "recipe oven flour sugar butter bake dinner sauce garlic onion",
}


def topic_pages(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    filler = ["page", "home", "contact", "about", "privacy", "terms", "news", "menu", "login", "search"]
    texts = []
    for c in y:
        words = list(rng.choice(TOPICS[int(c)].split(), 6)) + list(rng.choice(filler, 10))
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, y


def test_classifier_learns_from_soft_labels_and_keeps_the_class_space() -> None:
    texts, y = topic_pages(600, seed=1)
    probs = np.full((len(y), 5), 0.05)  # 5 classes; 3 and 4 never dominate
    probs[np.arange(len(y)), y] = 0.8
    clf = StreamingSoftClassifier(5, n_features=2**16, epochs=3).fit(texts, probs)
    test_texts, test_y = topic_pages(300, seed=2)
    proba = clf.predict_proba(test_texts)
    assert proba.shape == (300, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)  # float32 features
    assert (clf.predict(test_texts) == test_y).mean() > 0.9  # chance is 1/3
    assert clf.expanded_rows_ > clf.rows_seen_  # soft rows were expanded, not argmaxed


def test_streaming_partial_fit_equals_fit_on_the_same_batches() -> None:
    texts, y = topic_pages(200, seed=3)
    a = StreamingSoftClassifier(3, n_features=2**12, epochs=1, batch_size=50, random_state=7).fit(texts, y)
    counts = TokenHasher(2**12).counts(texts)
    b = StreamingSoftClassifier(3, n_features=2**12, random_state=7).start(
        idf_from_counts(document_frequencies(counts), len(texts))
    )
    X = tfidf(counts, b.idf_)
    order = np.random.default_rng(7).permutation(len(texts))
    onehot = np.eye(3)[y]
    for s in range(0, len(texts), 50):
        idx = order[s : s + 50]
        b.partial_fit_features(X[idx], onehot[idx])
    np.testing.assert_array_equal(a.model_.coef_, b.model_.coef_)


def test_bad_inputs_are_refused() -> None:
    clf = StreamingSoftClassifier(3, n_features=64)
    with pytest.raises(ValueError, match="zero documents"):
        clf.fit([], np.zeros(0))
    with pytest.raises(ValueError, match="idf has shape"):
        clf.start(np.ones(10))
    clf.start(np.ones(64))
    with pytest.raises(ValueError, match="probs has shape"):
        clf.partial_fit_features(sp.csr_matrix((2, 64)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="positive row sums"):
        clf.partial_fit_features(sp.csr_matrix((1, 64)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="at least two classes"):
        StreamingSoftClassifier(1, n_features=64).start(np.ones(64))


def test_compute_resource_picks_the_classifier_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    from beambell_assets.defs.resources import ComputeResource
    from beambell_assets.training.soft_classifier import SoftLabelTextClassifier

    assert isinstance(ComputeResource().make_classifier(4), SoftLabelTextClassifier)
    assert isinstance(ComputeResource(classifier="hashed-sgd").make_classifier(4), StreamingSoftClassifier)
    with pytest.raises(ValueError, match="expected one of tfidf-lbfgs, hashed-sgd"):
        ComputeResource(classifier="xgboost").make_classifier(4)
    monkeypatch.setenv("BEAMBELL_CLASSIFIER", "hashed-sgd")
    assert ComputeResource.from_env().classifier == "hashed-sgd"


def test_streaming_classifier_round_trips_through_the_model_store(tmp_path) -> None:
    from beambell_assets.serving.model_store import load_model, save_model, untrusted_types

    texts, y = topic_pages(300, seed=4)
    clf = StreamingSoftClassifier(3, n_features=2**12, epochs=2).fit(texts, y)
    expected = clf.predict_proba(texts)  # a used model, as the classifier asset saves it (its hasher's
    path = tmp_path / "m.skops"  # token table made on first use goes into the file too)
    save_model(clf, path)
    assert untrusted_types(path) == []  # on the allow-list: the registry can load it
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(texts), expected)


def test_fit_validates_labels_like_the_in_memory_classifier() -> None:
    texts, y = topic_pages(20, seed=5)
    clf = StreamingSoftClassifier(3, n_features=64)
    with pytest.raises(ValueError, match="class indices in \\[0, 2\\]"):
        clf.fit(texts, np.where(np.arange(20) == 0, -1, y))  # an unknown label is not the last class
    with pytest.raises(ValueError, match="no probability mass"):
        clf.fit(texts, np.zeros((20, 3)))
