"""fit_label_model(): Snorkel's label model next to majority vote, on label matrices with known truth."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from snorkel.labeling.model import LabelModel, MajorityLabelVoter

from beambell_assets.training.label_model import fit_label_model
from beambell_assets.training.snorkel_label_model import EfficientLabelModel

ACCURATE = [(0.9, 0.4), (0.85, 0.4), (0.85, 0.4)]  # (accuracy, coverage)
MEDIOCRE = [(0.5, 0.9)] * 4


def synthetic(seed: int, specs, n: int = 2000, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """LFs that vote independently given the true label, with the given accuracy and coverage;
    wrong votes are uniform over the other classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.full((n, len(specs)), -1, dtype=np.int64)
    for j, (acc, cov) in enumerate(specs):
        fires = rng.random(n) < cov
        correct = rng.random(n) < acc
        wrong = (y + rng.integers(1, k, n)) % k
        L[fires, j] = np.where(correct, y, wrong)[fires]
    return L, y


def test_recovers_lf_accuracies_and_beats_majority_vote():
    """A few accurate LFs outvoted by many mediocre ones: MV follows the crowd, the LM weighs them."""
    L, y = synthetic(0, ACCURATE + MEDIOCRE)
    fit = fit_label_model(L, 3, gold=y, seed=0, class_balance="uniform")
    assert fit.method == "label_model"
    # learned accuracies close to the true ones (measured against gold)
    assert np.abs(fit.lf_weights - fit.lf_empirical_accuracy).max() < 0.06
    assert fit.lf_weights[:3].min() > fit.lf_weights[3:].max() + 0.2
    lm, mv = fit.metrics["label_model"], fit.metrics["majority_vote"]
    assert lm["accuracy"] > mv["accuracy"] + 0.04
    assert lm["macro_f1"] > mv["macro_f1"] + 0.04
    assert lm["log_loss"] < mv["log_loss"]


def test_outputs_are_aligned_and_normalised():
    L, y = synthetic(1, ACCURATE + MEDIOCRE, n=500)
    L[:7] = -1  # rows no LF voted on
    fit = fit_label_model(L, 3, gold=y, seed=0)
    assert fit.probs.shape == (500, 3) and fit.mv_probs.shape == (500, 3)
    np.testing.assert_allclose(fit.probs.sum(axis=1), 1.0)
    assert not fit.covered[:7].any() and fit.covered[7:].all()
    assert (fit.preds[:7] == -1).all() and (fit.mv_preds[:7] == -1).all()
    assert (fit.preds[7:] >= 0).all()
    # uncovered rows get the class prior (Snorkel's posterior without evidence)
    np.testing.assert_allclose(fit.probs[:7], np.tile(fit.class_balance, (7, 1)))
    assert fit.coverage == pytest.approx(493 / 500)
    np.testing.assert_allclose(fit.lf_coverage, (L != -1).mean(axis=0))
    # majority vote is Snorkel's own
    np.testing.assert_allclose(fit.mv_probs[7:], MajorityLabelVoter(cardinality=3).predict_proba(L[7:]))
    # predict_proba on the training matrix reproduces the fit
    np.testing.assert_allclose(fit.predict_proba(L), fit.probs)
    np.testing.assert_array_equal(fit.predict(L), fit.preds)
    summary = fit.summary()
    assert summary["method"] == "label_model" and summary["n_covered"] == 493
    assert "label_model_accuracy" in summary and "majority_vote_macro_f1" in summary


def test_majority_vote_is_snorkels_including_ties():
    rng = np.random.default_rng(12)
    L = rng.integers(-1, 4, size=(3000, 6))
    L[L.max(axis=1) == -1, 0] = 2  # every row votes
    fit = fit_label_model(L, 4, seed=0)
    np.testing.assert_array_equal(fit.mv_probs, MajorityLabelVoter(cardinality=4).predict_proba(L))
    ties = (fit.mv_probs.max(axis=1) < 1).sum()
    assert ties > 100  # the comparison covered ties


def test_deterministic_for_a_seed_and_leaves_global_rng_alone():
    L, _ = synthetic(2, ACCURATE + MEDIOCRE, n=600)
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    threads = torch.get_num_threads()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    a = fit_label_model(L, 3, seed=5)
    b = fit_label_model(L, 3, seed=5)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(a.probs, b.probs)
    np.testing.assert_array_equal(a.lf_weights, b.lf_weights)


def test_efficient_label_model_matches_snorkel():
    """EfficientLabelModel: the same O matrix, loss, fit and probabilities as Snorkel's LabelModel."""
    L, _ = synthetic(3, ACCURATE + MEDIOCRE, n=800, k=4)
    for l2 in (0.0, 0.3):
        ref = LabelModel(cardinality=4, verbose=False)
        ref.fit(L, n_epochs=200, seed=1, progress_bar=False, l2=l2)
        fast = EfficientLabelModel(cardinality=4, verbose=False)
        fast.fit(L, n_epochs=200, seed=1, progress_bar=False, l2=l2)
        np.testing.assert_array_equal(fast.O.numpy(), ref.O.numpy())
        np.testing.assert_allclose(fast.get_weights(), ref.get_weights(), atol=1e-5)
        np.testing.assert_allclose(fast.predict_proba(L), ref.predict_proba(L), atol=1e-5)


def test_expanded_loss_equals_snorkels_masked_loss():
    """The block expansion of the loss is the masked sum itself (constant included), at any mu; a
    mask that is not just the LFs' diagonal blocks (a dependency) takes the masked formula."""
    L, _ = synthetic(2, ACCURATE + MEDIOCRE, n=500, k=4)
    lm = EfficientLabelModel(cardinality=4, verbose=False)
    lm.fit(L, n_epochs=5, seed=0, progress_bar=False)
    torch.manual_seed(0)
    with torch.no_grad():
        for _ in range(3):
            lm.mu.copy_(torch.rand_like(lm.mu))
            residual = lm.O - lm.mu @ lm.P @ lm.mu.t()
            masked = (residual[lm.mask] ** 2).sum() + ((lm.mu @ lm.P).sum(1) - torch.diag(lm.O)).pow(2).sum()
            assert lm._loss_expansion() is not None
            torch.testing.assert_close(lm._loss_mu(), masked, rtol=1e-5, atol=1e-5)
        lm.mask[0, 4] = lm.mask[4, 0] = False  # LFs 0 and 1 dependent (a new fit rebuilds both)
        lm._expansion = None
        assert lm._loss_expansion() is None
        residual = lm.O - lm.mu @ lm.P @ lm.mu.t()
        masked = (residual[lm.mask] ** 2).sum() + ((lm.mu @ lm.P).sum(1) - torch.diag(lm.O)).pow(2).sum()
        torch.testing.assert_close(lm._loss_mu(), masked, rtol=1e-5, atol=1e-5)


def test_class_balance_policies():
    L, y = synthetic(4, ACCURATE + MEDIOCRE, n=400)
    y[:] = 0
    y[:40] = 1  # class 2 never in gold
    auto = fit_label_model(L, 3, gold=y, seed=0)
    assert auto.class_balance_source.startswith("gold")
    np.testing.assert_allclose(auto.class_balance, np.array([361, 41, 1]) / 403)
    few = fit_label_model(L, 3, gold=np.where(np.arange(400) < 10, y, -1), seed=0)
    assert few.class_balance_source.startswith("EM")  # too little gold: learned without it
    assert few.class_prior is not None
    np.testing.assert_allclose(few.class_balance, few.class_prior.prior_covered)
    uniform = fit_label_model(L, 3, seed=0, class_balance="uniform")
    np.testing.assert_allclose(uniform.class_balance, 1 / 3)
    mv = fit_label_model(L, 3, seed=0, class_balance="majority_vote")
    assert mv.class_balance_source.startswith("majority vote")
    assert (mv.class_balance > 0).all()
    given = fit_label_model(L, 3, seed=0, class_balance=[2, 1, 1])
    np.testing.assert_allclose(given.class_balance, [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="class_balance"):
        fit_label_model(L, 3, class_balance=[1, 0, 1])
    with pytest.raises(ValueError, match="class_balance"):
        fit_label_model(L, 3, class_balance="sometimes")
    with pytest.raises(ValueError, match="gold"):
        fit_label_model(L, 3, class_balance="gold")


def test_metrics_without_gold_are_present_but_empty():
    L, _ = synthetic(5, ACCURATE + MEDIOCRE, n=300)
    fit = fit_label_model(L, 3, seed=0)
    assert set(fit.metrics) == {"label_model", "majority_vote"}
    assert fit.metrics["label_model"]["n_gold"] == 0
    assert fit.metrics["label_model"]["accuracy"] is None
    assert np.isnan(fit.lf_empirical_accuracy).all()


def test_no_rows():
    fit = fit_label_model(np.zeros((0, 4), dtype=np.int64), 3, gold=np.zeros(0, dtype=int))
    assert fit.method == "empty"
    assert fit.probs.shape == (0, 3) and fit.preds.shape == (0,)
    assert fit.coverage == 0.0
    assert fit.metrics["label_model"]["n_gold"] == 0


def test_no_votes_at_all():
    fit = fit_label_model(np.full((6, 3), -1), 3, gold=np.array([0, 1, 2, 0, 1, 2]))
    assert fit.method == "no_votes"
    assert not fit.covered.any() and (fit.preds == -1).all()
    assert np.isnan(fit.lf_weights).all()
    assert fit.metrics["label_model"]["accuracy"] == 0.0  # no prediction is a miss
    assert fit.metrics["label_model"]["coverage"] == 0.0


@pytest.mark.parametrize("n_lfs", [1, 2])
def test_too_few_lfs_fall_back_to_majority_vote(n_lfs):
    L, y = synthetic(6, ACCURATE[:n_lfs], n=300)
    fit = fit_label_model(L, 3, gold=y)
    assert fit.method == "majority_vote_fallback"
    assert any("needs >= 3" in note for note in fit.notes)
    np.testing.assert_array_equal(fit.preds, fit.mv_preds)
    assert np.isnan(fit.lf_weights).all()
    np.testing.assert_allclose(fit.probs[fit.covered].sum(axis=1), 1.0)


def test_lf_that_never_votes_is_left_out():
    L, y = synthetic(7, ACCURATE + MEDIOCRE, n=500)
    L[:, 2] = -1
    fit = fit_label_model(L, 3, gold=y)
    assert fit.method == "label_model"
    assert np.isnan(fit.lf_weights[2])
    assert np.isfinite(np.delete(fit.lf_weights, 2)).all()
    assert any("never vote" in note for note in fit.notes)


def test_class_no_lf_votes_gets_zero_probability():
    L, y = synthetic(8, ACCURATE + MEDIOCRE, n=600, k=3)
    L[L == 2] = -1
    fit = fit_label_model(L, 4, gold=y, seed=0)  # classes 2 and 3 exist, no LF votes for them
    assert fit.method == "label_model"
    np.testing.assert_array_equal(fit.voted_classes, [0, 1])
    assert (fit.probs[fit.covered][:, 2:] == 0).all()
    assert set(fit.preds[fit.covered].tolist()) <= {0, 1}
    assert any("no LF votes for" in note for note in fit.notes)


def test_single_voted_class():
    L = np.array([[0, -1, 0], [-1, -1, -1], [0, 0, -1]])
    fit = fit_label_model(L, 3)
    assert fit.method == "single_class"
    np.testing.assert_array_equal(fit.preds, [0, -1, 0])
    np.testing.assert_allclose(fit.probs[[0, 2]], [[1, 0, 0], [1, 0, 0]])


def test_predict_on_new_matrix_ignores_votes_the_fit_cannot_use():
    L, _ = synthetic(9, ACCURATE + MEDIOCRE, n=400)
    L[:, 6] = -1
    fit = fit_label_model(L, 3, seed=0)
    new = np.full((2, L.shape[1]), -1)
    new[0, 6] = 1  # only the LF that never voted in training fires
    new[1, 0] = 2
    probs = fit.predict_proba(new)
    np.testing.assert_allclose(probs[0], fit.class_balance)
    assert fit.predict(new)[0] == -1
    assert fit.predict(new)[1] == 2
    with pytest.raises(ValueError, match="LF columns"):
        fit.predict_proba(L[:, :3])


@pytest.mark.parametrize(
    ("L", "k", "gold", "match"),
    [
        (np.array([0, 1, 2]), 3, None, "2-D"),
        (np.array([[0, 3, 1]]), 3, None, "outside"),
        (np.array([[0, -2, 1]]), 3, None, "outside"),
        (np.array([[0.0, 1.0, 1.0]]), 3, None, "integers"),
        (np.array([[0, 1, 1]]), 1, None, "cardinality"),
        (np.array([[0, 1, 1]]), 3, np.array([0, 1]), "gold"),
        (np.array([[0, 1, 1]]), 3, np.array([5]), "gold"),
    ],
)
def test_bad_inputs(L, k, gold, match):
    with pytest.raises(ValueError, match=match):
        fit_label_model(L, k, gold=gold)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_compact_label_matrix_gives_the_same_fit(dtype):
    """A streaming retrain keeps L as int8 (8x less memory per copy); the fit must not change."""
    L, gold = synthetic(3, [(0.9, 0.6), (0.8, 0.5), (0.7, 0.7), (0.6, 0.4)], k=4)
    L[:, 3] = -1  # an LF that never votes
    wide = fit_label_model(L, 4, seed=0, gold=gold)
    small = fit_label_model(L.astype(dtype), 4, seed=0, gold=gold)
    np.testing.assert_array_equal(small.probs, wide.probs)
    np.testing.assert_array_equal(small.preds, wide.preds)
    np.testing.assert_array_equal(small.mv_probs, wide.mv_probs)
    np.testing.assert_array_equal(small.predict(L[:50].astype(dtype)), wide.predict(L[:50]))


def test_int8_matrix_with_more_classes_than_int8_holds_is_widened():
    L = np.array([[0, -1], [-1, 1]], dtype=np.int8)
    fit = fit_label_model(L, 200)  # k = 200 > 127: int8 cannot hold every class index, widened
    assert fit.probs.shape == (2, 200)


@pytest.mark.parametrize("method_specs", [[(0.9, 0.6), (0.8, 0.5), (0.7, 0.7)], [(0.9, 0.6)]])
def test_blockwise_outputs_equal_whole_matrix_outputs(monkeypatch, method_specs):
    """Per-row outputs are computed in row blocks (bounded memory at a million rows): same numbers."""
    from beambell_assets.training import label_model as lm

    L, gold = synthetic(5, method_specs, n=1000, k=3)
    whole = fit_label_model(L, 3, seed=0, gold=gold)
    monkeypatch.setattr(lm, "_BLOCK_ROWS", 7)
    blocks = fit_label_model(L, 3, seed=0, gold=gold)
    assert blocks.method == whole.method
    for attr in ("probs", "preds", "mv_probs", "mv_preds", "covered"):
        np.testing.assert_array_equal(getattr(blocks, attr), getattr(whole, attr))
    np.testing.assert_array_equal(blocks.predict_proba(L[:30]), whole.predict_proba(L[:30]))


class _TorchSGDLabelModel(EfficientLabelModel):
    """The same model stepped by ``torch.optim.SGD`` (Snorkel's own optimizer)."""

    def _set_optimizer(self) -> None:
        LabelModel._set_optimizer(self)


def test_momentum_sgd_steps_exactly_like_torch_sgd():
    """The label model's own SGD gives bit-identical parameters to ``torch.optim.SGD``; other
    optimizers still go through Snorkel's."""
    L, _ = synthetic(5, ACCURATE + MEDIOCRE, n=600, k=3)
    for l2 in (0.0, 0.3):
        ours = EfficientLabelModel(cardinality=3, verbose=False)
        ours.fit(L, n_epochs=150, seed=2, progress_bar=False, l2=l2, lr=0.05)
        assert type(ours.optimizer).__name__ == "MomentumSGD"
        ref = _TorchSGDLabelModel(cardinality=3, verbose=False)
        ref.fit(L, n_epochs=150, seed=2, progress_bar=False, l2=l2, lr=0.05)
        assert isinstance(ref.optimizer, torch.optim.SGD)
        np.testing.assert_array_equal(ours.mu.detach().numpy(), ref.mu.detach().numpy())
    adam = EfficientLabelModel(cardinality=3, verbose=False)
    adam.fit(L, n_epochs=5, seed=2, progress_bar=False, optimizer="adam")
    assert isinstance(adam.optimizer, torch.optim.Adam)


def test_fitting_a_label_model_does_not_import_torch_dynamo():
    """torch.optim's first use imports torch._dynamo (seconds of CPU per process): the default fit
    never touches it."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from beambell_assets.training.label_model import fit_label_model\n"
        "L = np.random.default_rng(0).integers(-1, 3, size=(300, 6))\n"
        "fit_label_model(L, 3, seed=0, n_epochs=20)\n"
        "import snorkel.labeling.model.label_model\n"
        "print('torch' in sys.modules, 'torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"], out.stdout + out.stderr
