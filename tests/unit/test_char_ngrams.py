"""The vectorised char_wb counter gives scikit-learn's own features, value for value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from beambell_assets.devtools.prediction_service import sample_pages
from beambell_assets.training.char_ngrams import CharWbIndex, build_index, transform
from beambell_assets.training.soft_classifier import HeadLower, SoftLabelTextClassifier

EDGE_CASES = [
    "",
    "   ",
    "a",
    "ab",
    "x y  z",
    "tab\tand\nnew\r\nlines\u00a0nbsp\u2003em-space",
    "Ünïcødé café naïve ÅNGSTRÖM ß",
    "漢字かな交じり文 한국어 العربية",
    "emoji 😀🎉 astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "a lone surrogate \ud800 here",
    "unseen ☃ characters ☄ mixed with seen ones",
    "word " * 400,
]


def sample_texts(n: int, seed: int) -> list[str]:
    texts = [str(p.get("text") or p.get("html") or "") for p, _ in sample_pages(3, 150, seed=seed)]
    assert len(texts) >= n
    return texts[:n]


def _dense(X: object) -> np.ndarray:
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ngram_range", "preprocessor"),
    [((2, 5), HeadLower(3000)), ((1, 3), None), ((3, 3), HeadLower(50))],
)
def test_counts_equal_scikit_learn_on_pages_and_edge_cases(ngram_range, preprocessor) -> None:
    texts = sample_texts(300, seed=5)
    vec = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=ngram_range,
        sublinear_tf=True,
        min_df=2,
        preprocessor=preprocessor,
        dtype=np.float32,
    ).fit(texts[:200])
    index = CharWbIndex(vec)
    assert index.exact
    docs = texts[200:] + EDGE_CASES
    want = _dense(vec.transform(docs))
    assert np.array_equal(_dense(index.transform(docs)), want)
    # and one document at a time (the stream's small bundles), and an empty batch
    for doc, row in zip(docs[-len(EDGE_CASES) :], want[-len(EDGE_CASES) :], strict=True):
        assert np.array_equal(_dense(index.transform([doc]))[0], row)
    assert index.counts([]).shape == (0, len(vec.vocabulary_))


def test_classifier_probabilities_are_unchanged_for_every_featurisation(dev_csv: Path) -> None:
    dev = pd.read_csv(dev_csv).dropna(subset=["Category"])
    texts = dev["cleaned_website_text"].fillna("").astype(str).tolist()
    y = pd.factorize(dev["Category"])[0]
    for kw in (
        {"word_ngram_range": None, "char_ngram_range": (2, 5), "max_chars": 3000},
        {"char_ngram_range": (2, 5), "max_chars": 3000},
    ):
        model = SoftLabelTextClassifier(int(y.max()) + 1, **kw).fit(texts[:250], y[:250])
        vec = model.vectorizer_
        assert build_index(vec)
        assert np.array_equal(_dense(transform(vec, texts, build_index(vec))), _dense(vec.transform(texts)))
        want = model.predict_proba_features(vec.transform(texts[250:450]))
        assert np.array_equal(model.predict_proba(texts[250:450]), want)


def test_an_alphabet_too_large_to_pack_falls_back_to_scikit_learn() -> None:
    # 3000 distinct characters need 12 bits each: 6-grams do not fit the 61-bit key exactly
    texts = ["".join(chr(0x4E00 + (i * 7 + j) % 3000) for j in range(40)) for i in range(400)]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(5, 6), dtype=np.float32).fit(texts)
    assert build_index(vec) == {}
    assert np.array_equal(_dense(transform(vec, texts[:5], {})), _dense(vec.transform(texts[:5])))
