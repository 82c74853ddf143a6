"""Queue gold is no random sample: only audit picks (and gold brought as a sample) set the label
model's prior and anchor and choose its aggregator; every human label still overrides its page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from beambell_assets.feedback.annotation_queue import AUDIT_REASON
from beambell_assets.feedback.gold import audit_pages, record_audit_picks, sampled_gold_mask
from beambell_assets.labeling.task import load_task
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.splits import GoldPolicy, gold_roles, split_gold
from beambell_assets.training.weak_labels import fit_window

TASK = load_task("beambell_assets.labeling.tasks.web_content")


def test_sampled_gold_mask_by_source_and_audit() -> None:
    gold = pd.DataFrame(
        {
            "page_id": ["p1", "p2", "p3", "p4", "p5"],
            "source": ["csv:gold.csv", "label_studio:1", "label_studio:1", "service", "label_studio_file:x"],
        }
    )
    pages = ["p1", "p2", "p3", "p4", "p5", "p6"]
    mask = sampled_gold_mask(gold, {"p2"}, pages)
    assert mask.tolist() == [True, True, False, False, False, False]
    declared = sampled_gold_mask(gold, set(), pages, GoldPolicy(sampled_sources=("label_studio:1",)))
    assert declared.tolist() == [True, True, True, False, False, False]
    assert not sampled_gold_mask(gold.iloc[0:0], {"p2"}, pages).any()


def test_audit_picks_are_recorded_once_and_survive_a_new_queue(tmp_path) -> None:  # type: ignore[no-untyped-def]
    wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    wh.migrate()
    picks = pd.DataFrame({"page_id": ["a", "b", "c"], "reason": ["unsure", AUDIT_REASON, AUDIT_REASON]})
    assert record_audit_picks(wh, TASK, "k1", picks) == 2
    assert record_audit_picks(wh, TASK, "k1", picks) == 2  # a rerun: upserted, not duplicated
    assert record_audit_picks(wh, TASK, "k1", picks.iloc[:1]) == 0  # a later queue without them
    assert audit_pages(wh, TASK) == {"b", "c"}
    assert len(wh.read("SELECT * FROM audit_picks")) == 2
    wh.dispose()


def _hard_rows_problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three LFs, right on most rows; on 'hard' rows (where a queue would ask) LF 0 is always wrong."""
    rng = np.random.default_rng(seed)
    n = 600
    y = rng.integers(0, 2, size=n)
    hard = rng.random(n) < 0.25
    L = np.where(rng.random((n, 3)) < 0.85, y[:, None], 1 - y[:, None])
    L[hard, 0] = 1 - y[hard]
    return L, y, hard


def test_fit_window_anchors_only_on_sampled_gold() -> None:
    L, y, hard = _hard_rows_problem()
    page_ids = pd.Series([f"p{i}" for i in range(len(y))])
    asked = np.flatnonzero(hard)[:120]  # the queue's gold: all on hard rows
    gold = np.full(len(y), -1)
    gold[asked] = y[asked]
    rows = pd.DataFrame({"page_id": page_ids[asked], "source": "label_studio:1"})
    roles = gold_roles(rows)
    _, train = split_gold(page_ids.tolist(), gold != -1, roles)
    assert train.sum() >= 40  # enough train-role gold for a choice on gold

    everything = fit_window(L, 2, gold, page_ids, roles, n_epochs=50)
    assert everything.choice.n_gold == int(train.sum()) and everything.choice.criterion == "gold_cv_accuracy"

    none_sampled = fit_window(L, 2, gold, page_ids, roles, sampled=np.zeros(len(y), bool), n_epochs=50)
    assert none_sampled.choice.n_gold == 0 and none_sampled.choice.criterion == "heldout_lf_agreement"
    assert none_sampled.fit.class_balance_source.startswith("EM over the LF votes")
    assert everything.fit.class_balance_source.startswith("gold (n=120")
    # every gold label is still there for the training set's overrides and the evaluation
    assert (none_sampled.gold == gold).all() and (none_sampled.train_gold == train).all()

    audit = np.zeros(len(y), bool)
    audit[np.flatnonzero(train)[:10]] = True
    some = fit_window(L, 2, gold, page_ids, roles, sampled=audit, n_epochs=50)
    assert some.choice.n_gold == 10
