"""The stream's learner: predict-then-learn page by page, feedback, checkpoints and restores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.streaming.checkpoint import load_checkpoint, replay_tail, write_checkpoint_files
from beambell_assets.streaming.learner import Champion, LearnerConfig, Position, StreamLearner
from beambell_assets.streaming.messages import sample_payloads
from beambell_assets.streaming.online_model import (
    OnlineSoftClassifier,
    online_model_arrays,
    online_model_from_arrays,
)
from beambell_assets.streaming.prepare import PagePreparer
from beambell_assets.streaming.source import StreamMessage
from beambell_assets.training.splits import GoldPolicy

CONFIG = LearnerConfig(
    triplet_every=50, snorkel_every=200, snorkel_lag=100, snorkel_epochs=100, online_min_pages=100
)


def messages(pages: int, seed: int, start_ms: int = 1_000) -> list[StreamMessage]:
    out = []
    for i, p in enumerate(sample_payloads(pages, seed=seed)):
        raw = p if isinstance(p, bytes) else json.dumps(p).encode()
        out.append(StreamMessage("s", f"{start_ms + i}-0", raw, {}))
    return out


@pytest.fixture(scope="module")
def prepared():
    """~420 accepted sample pages, with their task votes, as the stream's Prepare step makes them."""
    return PagePreparer(TASK).prepare("s", messages(450, seed=11))


def true_labels(pages: int, seed: int) -> dict[str, str]:
    """page id -> the sample's true category."""
    from beambell_assets.demo.sample import generate_sample
    from beambell_assets.ingest.contract import normalize_url, page_id_for

    out = {}
    for rec in generate_sample(n_batches=1, pages_per_batch=pages, seed=seed)[0].records:
        url = rec.fields.get("url")
        norm = normalize_url(url) if isinstance(url, str) else None
        if norm:
            out[page_id_for(norm)] = rec.label
    return out


def chunks(prepared, size: int = 25):
    for s in range(0, len(prepared.message_ids), size):
        yield (
            prepared.message_ids[s : s + size],
            prepared.features.iloc[s : s + size],
            prepared.L_task[s : s + size],
        )


class ConstantModel:
    """A champion that always says class 3 (to see which predictor scored)."""

    def predict_proba(self, texts):
        out = np.zeros((len(texts), TASK.cardinality))
        out[:, 3] = 1.0
        return out


def test_predictors_move_from_label_model_to_online_model_to_champion(prepared) -> None:
    learner = StreamLearner(TASK, CONFIG)
    seen = []
    for ids, feats, L in chunks(prepared):
        seen.append(learner.process_pages(ids, feats, L)[0].predictor)
    assert seen[0] == "label_model" and seen[-1] == "online_model"
    assert learner.counters["triplet_fits"] >= 5 and learner.counters["snorkel_fits"] == 1
    assert learner.stats.pages == len(prepared.message_ids)
    ids, feats, L = next(chunks(prepared))
    preds = learner.process_pages(ids, feats, L, Champion("v-test", ConstantModel()))
    assert {p.predictor for p in preds} == {"champion"} and {p.label for p in preds} == {TASK.label_names[3]}
    assert {p.model_version for p in preds} == {"v-test"}


def test_every_prediction_names_the_lf_votes_that_fired(prepared) -> None:
    learner = StreamLearner(TASK, CONFIG)
    ids, feats, L = next(chunks(prepared))
    preds = learner.process_pages(ids, feats, L)
    for p, row in zip(preds, L, strict=True):
        assert p.lf_votes == {TASK.lf_names[j]: TASK.label_names[v] for j, v in enumerate(row) if v != -1}


def test_a_redelivered_message_is_predicted_again_but_never_learned_twice(prepared) -> None:
    learner = StreamLearner(TASK, CONFIG)
    ids, feats, L = next(chunks(prepared))
    learner.process_pages(ids, feats, L)
    overlaps = learner.stats.overlaps.copy()
    again = learner.process_pages(ids, feats, L)  # the same messages after a crash before the ack
    assert len(again) == len(ids)
    assert learner.stats.pages == len(ids)
    np.testing.assert_array_equal(learner.stats.overlaps.toarray(), overlaps.toarray())


def test_feedback_teaches_stateful_lfs_and_the_online_model_and_scores_eval_gold(prepared) -> None:
    policy = GoldPolicy(min_training_gold=10, eval_share=0.3)
    learner = StreamLearner(TASK, CONFIG, policy)
    for ids, feats, L in chunks(prepared):
        learner.process_pages(ids, feats, L)
    truth = true_labels(450, seed=11)
    page_ids = prepared.features["page_id"].tolist()
    labels = [truth[p] for p in page_ids]
    n = 120
    before = learner.lf_state.version
    result = learner.process_feedback(
        page_ids[:n],
        labels[:n],
        ["service"] * n,
        prepared.features.iloc[:n],
        prepared.L_task[:n],
        Champion("v-test", ConstantModel()),
    )
    assert result["train"] > 0 and result["eval"] > 0 and result["unknown_label"] == 0
    assert learner.lf_state.version != before and learner.lf_state.fitted
    assert learner.online.gold_learned == result["train"]
    scores = learner.prequential.scores()
    assert scores["champion"]["n_gold"] == scores["online_model"]["n_gold"] == result["eval"]
    assert scores["online_model"]["macro_f1"] > scores["champion"]["macro_f1"]  # a constant model is bad
    # the next pages are voted on by the new stateful LFs
    L_full = learner.votes(prepared.features.iloc[:50], prepared.L_task[:50])
    assert (L_full[:, -2:] != -1).any()
    unknown = learner.process_feedback(
        ["x"], ["Not A Label"], ["service"], prepared.features.iloc[:1], prepared.L_task[:1]
    )
    assert unknown == {"received": 1, "unknown_label": 1}


def test_checkpoint_plus_replayed_tail_restores_exactly_the_state_of_an_uninterrupted_run(
    prepared, tmp_path
) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    learner = StreamLearner(TASK, CONFIG)
    parts = list(chunks(prepared))
    half = len(parts) // 2
    for ids, feats, L in parts[:half]:
        learner.process_pages(ids, feats, L)
    ref = write_checkpoint_files(store, learner, 1)
    tail_rows = []
    for ids, feats, L in parts[half:]:
        preds = learner.process_pages(ids, feats, L)
        tail_rows += [
            {"message_id": p.message_id, "lf_votes": json.dumps(p.lf_votes), "text": t}
            for p, t in zip(preds, feats["text"], strict=True)
        ]
    learner.flush_online()
    restored = load_checkpoint(store, ref, StreamLearner(TASK, CONFIG))
    assert restored.stats.pages == sum(len(ids) for ids, _f, _l in parts[:half])
    replay_tail(restored, pd.DataFrame(tail_rows))
    np.testing.assert_array_equal(restored.stats.overlaps.toarray(), learner.stats.overlaps.toarray())
    np.testing.assert_allclose(restored.stats.posterior_sums, learner.stats.posterior_sums)
    assert restored.label_model.version == learner.label_model.version
    assert restored.last_applied == learner.last_applied == Position.parse(prepared.message_ids[-1])
    assert restored.online.pages_learned == learner.online.pages_learned
    feats = prepared.features.iloc[:20]
    L = learner.votes(feats, prepared.L_task[:20])
    np.testing.assert_allclose(restored.label_model.predict_proba(L), learner.label_model.predict_proba(L))


def test_a_tampered_checkpoint_is_refused(prepared, tmp_path) -> None:
    from beambell_assets.streaming.checkpoint import CheckpointCorrupt

    store = ArtifactStore(tmp_path / "artifacts")
    learner = StreamLearner(TASK, CONFIG)
    ids, feats, L = next(chunks(prepared))
    learner.process_pages(ids, feats, L)
    ref = write_checkpoint_files(store, learner, 7)
    path = store.path("stream", f"{TASK.name}/ckpt-00000007/state.json")
    path.write_text(path.read_text().replace('"pages":', '"pages": 1, "x":', 1))
    with pytest.raises(CheckpointCorrupt, match="SHA-256"):
        load_checkpoint(store, ref, StreamLearner(TASK, CONFIG))


def test_online_model_round_trips_and_keeps_its_replay_buffer_bounded(prepared) -> None:
    from beambell_assets.serving.model_store import dump_model_bytes, load_model_bytes

    model = OnlineSoftClassifier(TASK.cardinality, 4, replay_size=60, replay_batch=16)
    texts = prepared.features["text"].tolist()
    rng = np.random.default_rng(0)
    for s in range(0, 200, 20):
        probs = rng.dirichlet(np.ones(TASK.cardinality), size=20)
        L = np.full((20, 4), -1)
        model.learn(
            model.counts(texts[s : s + 20]),
            probs,
            L,
            relabel=lambda x: np.full((len(x), TASK.cardinality), 0.1),
        )
    assert model.buf_counts.shape[0] == 60 and model.pages_learned == 200 and model.updates == 10
    back = online_model_from_arrays(online_model_arrays(model), load_model_bytes(dump_model_bytes(model.clf)))
    np.testing.assert_allclose(back.predict_proba(texts[:30]), model.predict_proba(texts[:30]))
    assert back.buf_counts.shape == model.buf_counts.shape


def test_learner_state_survives_pickling_without_its_task(prepared) -> None:
    import pickle

    learner = StreamLearner(TASK, CONFIG)
    ids, feats, L = next(chunks(prepared))
    learner.process_pages(ids, feats, L)
    back = pickle.loads(pickle.dumps(learner))
    assert back.task is None  # the LF code is not part of the state
    back.bind(TASK)
    assert back.stats.pages == learner.stats.pages
    with pytest.raises(ValueError, match="another label space"):
        from beambell_assets.labeling.tasks.org_type import TASK as ORG

        pickle.loads(pickle.dumps(learner)).bind(ORG)


def test_warehouse_is_not_touched_by_the_learner(tmp_path) -> None:
    """The learner is plain Python: nothing here needs a database (the pipeline persists it)."""
    wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    assert not (tmp_path / "w.db").exists()
    StreamLearner(TASK, CONFIG)
    assert not (tmp_path / "w.db").exists()
    wh.dispose()


def test_beam_weighs_the_learner_by_its_state_not_by_its_task(prepared) -> None:
    """Beam's state cache weighs a cached value by walking what it references; the learner's cell is
    weighed by what its state keeps (no LF code), the online model's by its weights and buffers."""
    import pickle

    from apache_beam.runners.worker.statecache import get_deep_size

    from beambell_assets.streaming.pipeline import Measured

    learner = StreamLearner(TASK, CONFIG)
    for ids, feats, L in chunks(prepared):
        learner.process_pages(ids, feats, L)
    online = learner.detach()
    kept = len(pickle.dumps(learner))
    assert get_deep_size([learner]) > 3 * kept  # the walk goes through the bound task
    assert get_deep_size([Measured(learner)]) < 2 * kept
    assert get_deep_size([Measured(online)]) >= 0.9 * len(pickle.dumps(online))  # its weights count
    assert pickle.loads(pickle.dumps(Measured(learner))).value.stats.pages == learner.stats.pages
