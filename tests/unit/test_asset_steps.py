"""The plain steps the weak-supervision assets wire together (no Dagster): vote frames, the label
model's window and tables, the training window, a candidate's fit and its way into the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beambell_assets.feedback.gold import gold_label_indices, texts_of_pages, train_role_gold
from beambell_assets.labeling.task import load_task
from beambell_assets.labeling.votes import (
    StaleVotesError,
    aligned_label_matrix,
    drop_invalid_votes,
    lf_stats_rows,
    stack_vote_frames,
    vote_frame,
    votes_for_pages,
)
from beambell_assets.monitoring.drift_batch import partition_row, worst_severity
from beambell_assets.monitoring.training_drift import DRIFT_SAMPLE, sample_features
from beambell_assets.serving.candidates import (
    NoChampionError,
    promote_gated_candidate,
    record_gate_verdict,
    register_candidate,
    registry_history,
)
from beambell_assets.serving.promotion import GateResult
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.candidate import (
    HASHED_SGD,
    agreement_with_label_model,
    fit_candidate,
    gold_report,
    label_shift,
)
from beambell_assets.training.training_set import OutOfStepError, prob_columns, window_training_set
from beambell_assets.training.weak_labels import (
    aggregator_record,
    class_balance_table,
    comparison_table,
    fit_window,
    lf_weights_table,
    partition_probs,
    probs_frame,
)

TASK = load_task("beambell_assets.labeling.tasks.web_content")


def test_vote_frame_and_lf_stats() -> None:
    L = np.array([[0, -1], [1, -1], [-1, -1]])
    frame = vote_frame(L, ["a", "b"], ["p0", "p1", "p2"])
    assert list(frame.columns) == ["page_id", "a", "b"]
    assert frame["a"].tolist() == [0, 1, -1]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    stats = lf_stats_rows(L, ["a", "b"], {"b": 2}, at)
    assert [(s["lf_name"], s["n_votes"], s["n_errors"]) for s in stats] == [("a", 2, 0), ("b", 0, 2)]
    assert stats[0]["coverage"] == pytest.approx(2 / 3) and stats[1]["coverage"] == 0.0
    empty = lf_stats_rows(np.zeros((0, 2), dtype=int), ["a", "b"], {}, at)
    assert [s["n_rows"] for s in empty] == [0, 0] and [s["coverage"] for s in empty] == [0.0, 0.0]


def test_stack_vote_frames_fills_new_optional_lfs_and_refuses_stale_partitions() -> None:
    old = pd.DataFrame({"page_id": ["p0"], "a": [1]})
    new = pd.DataFrame({"page_id": ["p1"], "a": [0], "learned": [2]})
    votes = stack_vote_frames([("k1", old), ("k2", new)], ["a", "learned"], ["a"])
    assert votes["learned"].tolist() == [-1, 2]
    assert votes["partition_key"].tolist() == ["k1", "k2"]
    with pytest.raises(StaleVotesError, match="partition k1 predates"):
        stack_vote_frames([("k1", old)], ["a", "b"], ["a", "b"])


def test_votes_for_labels_the_task_lacks_become_counted_abstains() -> None:
    L = np.array([[0, 7, -1], [1, 2, -3], [-1, 1, 0]])
    assert drop_invalid_votes(L, ["ok", "bad", "odd"], cardinality=2) == {"bad": 2, "odd": 1}
    assert L.tolist() == [[0, -1, -1], [1, -1, -1], [-1, 1, 0]]
    assert drop_invalid_votes(L, ["ok", "bad", "odd"], cardinality=2) == {}  # nothing left to drop


def test_votes_for_pages_aligns_and_abstains() -> None:
    votes = pd.DataFrame({"page_id": ["p1", "p0"], "a": [1, 0], "gone": [3, 3]})
    L = votes_for_pages(votes, pd.Series(["p0", "p9", "p1"]), ["a", "missing"])
    assert L.tolist() == [[0], [-1], [1]]
    assert votes_for_pages(None, pd.Series(["p0"]), ["a"]) is None


def _window(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    L = np.stack([np.where(rng.random(n) < 0.8, y, 1 - y) for _ in range(4)], axis=1)
    L[rng.random(L.shape) < 0.3] = -1
    votes = pd.DataFrame(L, columns=[f"lf{j}" for j in range(4)])
    votes.insert(0, "page_id", [f"p{i}" for i in range(n)])
    votes["partition_key"] = np.where(np.arange(n) < n // 2, "k1", "k2")
    return L, y, votes


def test_fit_window_and_its_tables() -> None:
    L, y, votes = _window()
    gold = np.where(np.arange(len(y)) % 5 == 0, y, -1)
    result = fit_window(L, 2, gold, votes["page_id"], pd.Series(dtype=object), n_epochs=50)
    assert not result.train_gold.any()  # no train role: nothing anchors, all gold evaluates
    probs = probs_frame(votes, L, result, 2)
    assert list(probs.columns) == ["page_id", "partition_key", *prob_columns(2), "n_votes", "gold"]
    assert probs["n_votes"].tolist() == (L != -1).sum(axis=1).tolist()
    np.testing.assert_allclose(probs[prob_columns(2)].sum(axis=1), 1.0)
    weights = lf_weights_table([f"lf{j}" for j in range(4)], result.fit)
    assert sorted(weights["lf"]) == [f"lf{j}" for j in range(4)]
    assert weights["learned_accuracy"].is_monotonic_decreasing
    table = comparison_table(result, ["a", "b"], cell=lambda v: "n/a" if v is None else v)
    assert f"chosen: {result.choice.chosen}" in table["model"].tolist()
    assert len(class_balance_table(result.fit, ["a", "b"])) == 2


def test_comparison_without_gold_scores_nothing() -> None:
    L, y, votes = _window(n=60)
    result = fit_window(L, 2, np.full(len(y), -1), votes["page_id"], pd.Series(dtype=object), n_epochs=20)
    table = comparison_table(result, ["a", "b"])
    assert table.loc[table["model"] == f"chosen: {result.choice.chosen}", "n_gold"].tolist() == [0]


def test_aggregator_record() -> None:
    scores = pd.DataFrame({"aggregator": ["mv", "lm"], "score": [0.5, np.nan], "chosen": [False, True]})
    record = aggregator_record(scores)
    assert record["label_model_aggregator"] == "lm"
    assert record["label_model_aggregator_scores"] == {"mv": 0.5, "lm": None}
    assert aggregator_record(None) == {}


def test_window_training_set_keeps_eval_gold_out_and_refuses_misaligned_rows() -> None:
    features = pd.DataFrame({"page_id": ["p0", "p1", "p2"], "text": ["x", "y", None], "partition_key": "k"})
    probs = pd.DataFrame(
        {
            "page_id": ["p0", "p1", "p2"],
            "partition_key": "k",
            "prob_0": [0.9, 0.2, 0.5],
            "prob_1": [0.1, 0.8, 0.5],
            "n_votes": [2, 1, 0],
            "gold": [-1, -1, 1],
        }
    )
    roles = pd.Series(["eval"], index=pd.Index(["p2"], name="page_id"))
    weak, gold_eval = window_training_set(features, probs, roles, 2, "text")
    assert weak.frame["page_id"].tolist() == ["p0", "p1"]
    assert gold_eval.to_dict("records") == [{"page_id": "p2", "text": "", "gold": 1}]
    with pytest.raises(OutOfStepError):
        window_training_set(features.iloc[::-1].reset_index(drop=True), probs, roles, 2, "text")


def test_label_shift_needs_a_prior_of_the_right_size() -> None:
    prior = pd.DataFrame({"prior": [0.5, 0.5], "prior_covered": [0.25, 0.75]})
    factors = label_shift(prior, 2)
    assert factors is not None and factors[0] > factors[1]
    assert label_shift(prior, 3) is None and label_shift(None, 2) is None


class _Const:
    """A model that always predicts class 0."""

    def predict(self, texts: list[str]) -> np.ndarray:
        return np.zeros(len(texts), dtype=int)


def test_gold_report_and_agreement() -> None:
    gold_eval = pd.DataFrame({"text": ["a", "b", "c", "d"], "gold": [0, 0, 0, 1]})
    metrics, _ = gold_report(_Const(), gold_eval, ["x", "y"])
    assert metrics["accuracy"] == pytest.approx(0.75) and metrics["majority_class_accuracy"] == 0.75
    none, _ = gold_report(_Const(), gold_eval.iloc[:0], ["x", "y"])
    assert none["majority_class_accuracy"] is None
    assert "n_gold_random_sample" not in metrics  # no mask: no random-sample metrics


def test_gold_report_on_the_random_sample_rows() -> None:
    """The queue's gold sits on hard pages: the random-sample rows are scored on their own."""
    gold_eval = pd.DataFrame({"text": list("abcdef"), "gold": [1, 1, 1, 0, 0, 1]})
    sampled = np.array([False, False, False, True, True, True])
    metrics, _ = gold_report(_Const(), gold_eval, ["x", "y"], sampled)
    assert metrics["accuracy"] == pytest.approx(2 / 6)  # all eval gold, queue picks included
    assert metrics["n_gold_random_sample"] == 3
    assert metrics["accuracy_random_sample"] == pytest.approx(2 / 3)  # rows d, e, f only
    assert metrics["macro_f1_random_sample"] == pytest.approx((0.8 + 0.0) / 2)  # x: P 2/3, R 1
    none, _ = gold_report(_Const(), gold_eval, ["x", "y"], np.zeros(6, dtype=bool))
    assert none["n_gold_random_sample"] == 0 and none["accuracy_random_sample"] is None
    with pytest.raises(ValueError, match="one entry per gold row"):
        gold_report(_Const(), gold_eval, ["x", "y"], sampled[:4])


def test_agreement_with_label_model() -> None:
    weak = pd.DataFrame({"page_id": ["p0", "p1"], "text": ["a", "b"]})
    probs = pd.DataFrame({"page_id": ["p0", "p1"], "prob_0": [0.9, 0.1], "prob_1": [0.1, 0.9]})
    assert agreement_with_label_model(_Const(), weak, probs, 2) == 0.5
    assert agreement_with_label_model(_Const(), weak.assign(page_id=["q", "r"]), probs, 2) is None


def test_fit_candidate_hashed_uses_the_given_classifier() -> None:
    made = []

    class Model(_Const):
        def fit(self, texts: list[str], y: np.ndarray) -> None:
            made.append((len(texts), y.shape))

    weak = pd.DataFrame({"text": ["a", "b"], **{c: [0.5, 0.5] for c in prob_columns(TASK.cardinality)}})
    model, record = fit_candidate(weak, TASK, HASHED_SGD, lambda k: Model())
    assert isinstance(model, Model) and made == [(2, (2, TASK.cardinality))]
    assert record["chosen"] == HASHED_SGD


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")
    w.migrate()
    yield w
    w.dispose()


def test_register_then_promote_only_after_the_gates(wh: Warehouse, tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    registry = ModelRegistry(wh, TASK.name)
    with pytest.raises(NoChampionError, match="no web_content model"):
        promote_gated_candidate(registry, actor="test")
    weak = pd.DataFrame({"partition_key": ["b", "a", "c"]})
    record, path = register_candidate(
        wh, store, TASK, _Const(), {"macro_f1": 0.5}, weak, now=datetime(2026, 1, 2, tzinfo=UTC)
    )
    assert record.version == f"{TASK.name}-20260102T000000000000" and record.status == "candidate"
    assert record.training_window == "a..c" and record.n_train == 3 and Path(str(path)).exists()
    with pytest.raises(NoChampionError, match="has not passed the promotion gates"):
        promote_gated_candidate(registry, actor="test")
    registry.record(record.version, "gates_passed", actor="gates", reason="ok")
    champion, decision = promote_gated_candidate(registry, actor="test")
    assert champion.version == record.version and decision == f"promoted {record.version}"
    assert promote_gated_candidate(registry, actor="test")[1] == "no new candidate"
    assert "promote" in registry_history(registry)["action"].tolist()


def test_partition_probs_in_page_order() -> None:
    probs = pd.DataFrame(
        {
            "page_id": ["a", "b", "c"],
            "partition_key": ["k1", "k1", "k2"],
            "prob_0": [0.9, 0.2, 0.5],
            "prob_1": [0.1, 0.8, 0.5],
        }
    )
    got = partition_probs(probs, "k1", pd.Series(["b", "z", "a"]), 2)
    np.testing.assert_allclose(got[[0, 2]], [[0.2, 0.8], [0.9, 0.1]])
    assert np.isnan(got[1]).all()
    assert (
        partition_probs(probs, "k9", pd.Series(["a"]), 2) is None
        and partition_probs(None, "k1", pd.Series(), 2) is None
    )


def test_aligned_label_matrix_refuses_other_pages() -> None:
    features = pd.DataFrame({"page_id": ["p0", "p1"]})
    votes = pd.DataFrame({"page_id": ["p0", "p1"], "a": [1, -1], "b": [0, 0]})
    assert aligned_label_matrix(votes, features, "k").tolist() == [[1, 0], [-1, 0]]
    with pytest.raises(ValueError, match="out of step"):
        aligned_label_matrix(votes.iloc[::-1], features, "k")


def test_train_role_gold_and_its_texts() -> None:
    gold = pd.DataFrame({"page_id": ["p0", "p1", "p2"], "label": ["News", "Nope", "Travel"]})
    roles = pd.Series(["train", "train", "eval"], index=pd.Index(["p0", "p1", "p2"], name="page_id"))
    train = train_role_gold(gold, roles)
    assert train["page_id"].tolist() == ["p0", "p1"]
    labels = gold_label_indices(train, ["Travel", "News"])
    assert labels["p0"] == 1 and np.isnan(labels["p1"])
    frames = [
        pd.DataFrame({"page_id": ["p0", "p9"], "text": ["old", "x"]}),
        pd.DataFrame({"page_id": ["p0"], "text": [None]}),
    ]
    assert texts_of_pages(frames, labels, "text") == {"p0": ""}


def test_drift_run_rows_and_worst_severity() -> None:
    assert worst_severity(["none", "severe", "moderate"]) == "severe"
    assert worst_severity(["none"]) == "none"
    row = partition_row("k", None, False, None)
    assert row["severity"] == "none" and "no reference" in row["note"]


def test_gate_verdict_rejects_naming_the_failed_gates_or_records_the_pass(
    wh: Warehouse, tmp_path: Path
) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    registry = ModelRegistry(wh, TASK.name)
    weak = pd.DataFrame({"partition_key": ["a"]})
    first, _ = register_candidate(wh, store, TASK, _Const(), {}, weak, now=datetime(2026, 1, 1, tzinfo=UTC))
    results = [GateResult("quality_floor", True, "ok"), GateResult("no_severe_drift", False, "severe")]
    assert record_gate_verdict(registry, first, results, actor="t") is False
    assert registry.get(first.version).status == "rejected"
    assert "no_severe_drift: severe" in registry_history(registry)["reason"].iloc[-1]
    second, _ = register_candidate(wh, store, TASK, _Const(), {}, weak, now=datetime(2026, 1, 2, tzinfo=UTC))
    assert record_gate_verdict(registry, second, results[:1], actor="t") is True
    assert registry.passed_gates(second.version) and not registry.passed_gates(first.version)


def test_sample_features_caps_the_rows(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    store.write_frame("f", "k1", pd.DataFrame({"x": range(DRIFT_SAMPLE)}))
    store.write_frame("f", "k2", pd.DataFrame({"x": range(10)}))
    assert len(sample_features(store, "f", ["k2"])) == 10
    assert len(sample_features(store, "f", ["k1", "k2"])) == DRIFT_SAMPLE
    assert sample_features(store, "f", []).empty


def test_fit_candidate_follows_the_given_end_model_settings(monkeypatch) -> None:
    from beambell_assets.settings import EndModelSettings

    monkeypatch.setenv("BEAMBELL_END_MODEL", "auto")  # the settings given win over the environment
    k = TASK.cardinality
    rows = [(f"page about topic{c} and topic{c} things number {i}", c) for c in range(k) for i in range(6)]
    probs = np.eye(k)[[c for _, c in rows]]
    weak = pd.DataFrame({"text": [t for t, _ in rows], **dict(zip(prob_columns(k), probs.T, strict=True))})
    fixed = EndModelSettings(spec="fixed")
    _, record = fit_candidate(weak, TASK, "tfidf-lbfgs", lambda k: None, end_model=fixed)
    assert record["spec"] == "fixed" and "candidates" not in record
    word = EndModelSettings(spec="word", cv_folds=2)
    _, record = fit_candidate(weak, TASK, "tfidf-lbfgs", lambda k: None, end_model=word)
    assert record["spec"] == "word" and record["cv_folds"] == 2
    assert {c["features"] for c in record["candidates"]} == {"word"}
