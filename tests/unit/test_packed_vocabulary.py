"""The packed vocabulary: the same vectorizer after a save, a fraction of the skops schema."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from beambell_assets.serving.model_store import load_model, save_model, untrusted_types
from beambell_assets.training.packed_vocabulary import (
    PackedTfidfVectorizer,
    pack_vocabulary,
    unpack_vocabulary,
)
from beambell_assets.training.soft_classifier import HeadLower, SoftLabelTextClassifier

TEXTS = [
    "Cheap flights and hotel deals — naïve café prices",
    "book a hotel near the beach; 日本 の ホテル",
    "football scores and league results 🏟️ ⚽",
    "the match ended after a late goal",
    "election news and government policy, Ελλάδα",
    "parliament votes on the new budget\x00 with\ttabs\nand lines",
]
QUERIES = [*TEXTS, "hotel goal election 日本 ⚽", "", "unseen words only"]


def _schema(path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("schema.json").decode("utf-8")


@pytest.mark.parametrize(
    "params",
    [
        {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b"},
        {"analyzer": "char_wb", "ngram_range": (2, 5), "preprocessor": HeadLower(200)},
        {"analyzer": "char", "ngram_range": (1, 3), "max_features": 40},
    ],
)
def test_a_saved_vectorizer_is_the_same_vectorizer(params, tmp_path):
    vec = PackedTfidfVectorizer(sublinear_tf=True, dtype=np.float32, **params).fit(TEXTS)
    reference = TfidfVectorizer(sublinear_tf=True, dtype=np.float32, **params).fit(TEXTS)
    assert vec.vocabulary_ == reference.vocabulary_  # fitting is scikit-learn's own

    path = tmp_path / "vec.skops"
    save_model(vec, path)
    assert untrusted_types(path) == []  # on the allow-list
    loaded = load_model(path)
    assert type(loaded) is PackedTfidfVectorizer
    assert loaded.vocabulary_ == vec.vocabulary_
    assert all(type(i) is int for i in loaded.vocabulary_.values())
    assert (loaded.transform(QUERIES) != vec.transform(QUERIES)).nnz == 0
    assert loaded.get_params() == vec.get_params()

    again = pickle.loads(pickle.dumps(vec))
    assert again.vocabulary_ == vec.vocabulary_
    assert (again.transform(QUERIES) != vec.transform(QUERIES)).nnz == 0


def test_saving_does_not_touch_the_live_vectorizer(tmp_path):
    vec = PackedTfidfVectorizer().fit(TEXTS)
    before = dict(vec.vocabulary_)
    save_model(vec, tmp_path / "v.skops")
    pickle.dumps(vec)
    assert vec.vocabulary_ == before


def test_the_schema_holds_one_string_not_a_node_per_term(tmp_path):
    """What the packing is for: skops writes a dict as one JSON object per key and value."""
    texts = [f"term{i} other{i * 7} word{i % 13}" for i in range(400)]
    packed, plain = PackedTfidfVectorizer().fit(texts), TfidfVectorizer().fit(texts)
    save_model(packed, tmp_path / "packed.skops")
    save_model(plain, tmp_path / "plain.skops")
    packed_schema, plain_schema = _schema(tmp_path / "packed.skops"), _schema(tmp_path / "plain.skops")
    assert '"vocabulary_"' in plain_schema and '"vocabulary_"' not in packed_schema
    assert '"vocabulary_terms_"' in packed_schema and '"vocabulary_lengths_"' in packed_schema
    terms = len(packed.vocabulary_)
    assert terms > 800
    # the plain schema grows by a few hundred bytes per term; the packed one by the term's characters
    assert len(plain_schema) > 100 * terms
    assert len(packed_schema) < len(json.dumps("".join(packed.vocabulary_))) + 20_000


def test_a_classifier_saves_packed_and_predicts_the_same(tmp_path):
    model = SoftLabelTextClassifier(n_classes=3, char_ngram_range=(2, 4)).fit(TEXTS, [0, 0, 1, 1, 2, 2])
    assert all(type(v) is PackedTfidfVectorizer for _, v in model.vectorizer_.transformer_list)
    path = tmp_path / "both.skops"
    save_model(model, path)
    assert '"vocabulary_"' not in _schema(path)
    np.testing.assert_array_equal(load_model(path).predict_proba(QUERIES), model.predict_proba(QUERIES))


def test_a_model_saved_with_plain_vectorizers_still_loads(tmp_path):
    """Models registered before the packing hold scikit-learn's own TfidfVectorizer."""
    model = SoftLabelTextClassifier(n_classes=3).fit(TEXTS, [0, 0, 1, 1, 2, 2])
    plain = TfidfVectorizer()
    plain.__dict__.update(model.vectorizer_.__dict__)
    model.vectorizer_ = plain
    path = tmp_path / "old.skops"
    save_model(model, path)
    assert '"vocabulary_"' in _schema(path)
    loaded = load_model(path)
    assert type(loaded.vectorizer_) is TfidfVectorizer
    np.testing.assert_array_equal(loaded.predict_proba(QUERIES), model.predict_proba(QUERIES))


def test_pack_and_unpack():
    vocab = {"b": 1, "a": 0, "ü日": 3, "c\n": 2}
    text, lengths = pack_vocabulary(vocab)
    assert text == "abc\nü日" and lengths.tolist() == [1, 1, 2, 2]
    assert unpack_vocabulary(text, lengths) == vocab
    assert pack_vocabulary({}) is not None and unpack_vocabulary(*pack_vocabulary({})) == {}
    assert pack_vocabulary({"a": 0, "b": 2}) is None  # not 0..n-1: saved as the dict
    assert pack_vocabulary({"a": 0, "b": 0}) is None
    assert pack_vocabulary({"a": 0, "b": 1.0}) is None and pack_vocabulary({"a": 0, "b": True}) is None
    text, lengths = pack_vocabulary({"a": np.int64(1), "b": 0})  # scikit-learn leaves np.int64 after pruning
    assert text == "ba" and lengths.tolist() == [1, 1]
    assert pack_vocabulary({"a": 0, 7: 1}) is None
    with pytest.raises(ValueError, match="lengths sum to 3"):
        unpack_vocabulary("abcd", np.array([1, 2]))


def test_a_vocabulary_that_does_not_pack_is_saved_as_it_is(tmp_path):
    vec = PackedTfidfVectorizer().fit(TEXTS)
    vec.vocabulary_ = {"hotel": 0, "goal": 5}  # not a fitted layout: left to skops' dict
    save_model(vec, tmp_path / "odd.skops")
    assert load_model(tmp_path / "odd.skops").vocabulary_ == {"hotel": 0, "goal": 5}
