import numpy as np

from beambell_assets.training.splits import evaluation_mask


def test_all_gold_held_out_when_gold_is_a_minority() -> None:
    ids = [f"p{i}" for i in range(100)]
    gold = np.zeros(100, dtype=bool)
    gold[:30] = True
    assert (evaluation_mask(ids, gold) == gold).all()


def test_mostly_gold_window_keeps_about_half_for_training_and_is_deterministic() -> None:
    ids = [f"page-{i}" for i in range(2000)]
    gold = np.ones(2000, dtype=bool)
    held = evaluation_mask(ids, gold)
    assert 0.45 < held.mean() < 0.55
    assert (held == evaluation_mask(list(ids), gold.copy())).all()
    assert not (held & ~gold).any()  # only gold pages are ever held out
