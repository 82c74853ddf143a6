"""Gold-free calibration: a scale and per-class offsets on log-probabilities, fitted on held-out
predictions against the weak labels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from beambell_assets.serving.model_store import load_model, save_model
from beambell_assets.training.calibration import LogitCalibration, cross_fitted, fit_calibration
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier


def _shrunk(n: int = 4000, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Predictions flattened by a known map: the truth is softmax(2.5 · log q + [0, 1, -0.5])."""
    rng = np.random.default_rng(seed)
    q = softmax(rng.normal(size=(n, k)), axis=1)
    return q, softmax(2.5 * np.log(q) + np.array([0.0, 1.0, -0.5]), axis=1)


def test_recovers_a_known_scale_and_offsets() -> None:
    q, target = _shrunk()
    cal = fit_calibration(q, target)
    assert cal.scale == pytest.approx(2.5, abs=1e-3)
    np.testing.assert_allclose(cal.bias, [0.0, 1.0, -0.5], atol=1e-3)
    np.testing.assert_allclose(cal.apply(q), target, atol=1e-4)


def test_calibrated_targets_leave_predictions_alone() -> None:
    q, _ = _shrunk()
    cal = fit_calibration(q, q)
    assert cal.scale == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(cal.bias, 0.0, atol=1e-3)


def test_a_bias_penalty_shrinks_the_offsets_and_keeps_the_optimum_exact() -> None:
    q, target = _shrunk()
    norms = [np.linalg.norm(fit_calibration(q, target, bias_l2=lam).bias) for lam in (0.0, 0.01, 0.1, 1.0)]
    assert norms[0] == pytest.approx(np.linalg.norm([1.0, -0.5]), abs=1e-3)
    assert norms[0] > norms[1] > norms[2] > norms[3] > 0.0
    # at the penalised optimum the gradient is zero: compare with a direct minimisation
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    logq = np.log(q)

    def objective(theta: np.ndarray) -> float:
        b = np.concatenate([[0.0], theta[1:]])
        return float(-(target * log_softmax(theta[0] * logq + b, axis=1)).sum() / len(q) + 0.1 * b @ b)

    direct = minimize(
        objective, np.array([1.0, 0.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12}
    )
    cal = fit_calibration(q, target, bias_l2=0.1)
    assert cal.scale == pytest.approx(direct.x[0], abs=1e-3)
    np.testing.assert_allclose(cal.bias[1:], direct.x[1:], atol=1e-3)


def test_a_class_never_predicted_stays_at_zero() -> None:
    q, target = _shrunk(k=3)
    q = np.hstack([q, np.zeros((len(q), 1))])  # class 3 unseen by the classifier...
    target = np.hstack([target * 0.9, np.full((len(q), 1), 0.1)])  # ...but the weak labels have it
    cal = fit_calibration(q, target)
    out = cal.apply(q)
    assert (out[:, 3] == 0).all() and np.allclose(out.sum(axis=1), 1.0)
    assert cal.scale == pytest.approx(2.5, abs=1e-2)


def test_cross_fitting_calibrates_each_group_by_the_others() -> None:
    q, target = _shrunk(n=900)
    groups = np.arange(900) % 3
    out = cross_fitted(q, target, groups)
    for g in range(3):
        rows = groups == g
        alone = fit_calibration(q[~rows], target[~rows]).apply(q[rows])
        np.testing.assert_allclose(out[rows], alone)


def test_cross_fitting_fits_only_on_the_rows_it_is_told_to_and_calibrates_every_row() -> None:
    q, target = _shrunk(n=900)
    groups = np.arange(900) % 3
    fit_rows = np.arange(900) % 5 != 0
    target = target.copy()
    target[~fit_rows] = np.eye(3)[np.argmin(q[~fit_rows], axis=1)]  # rows whose targets mean nothing
    out = cross_fitted(q, target, groups, fit_rows=fit_rows)
    for g in range(3):
        rows = groups == g
        fit = ~rows & fit_rows
        np.testing.assert_allclose(out[rows], fit_calibration(q[fit], target[fit]).apply(q[rows]))
    assert not np.allclose(out, cross_fitted(q, target, groups))  # the excluded rows would have mattered


def test_a_classifier_keeps_its_calibration_through_save_and_load(tmp_path) -> None:
    texts = ["goal match league", "stock market shares", "coach goal", "profit shares"] * 10
    y = np.array([0, 1, 0, 1] * 10)
    model = SoftLabelTextClassifier(n_classes=2, C=0.1).fit(texts, y)
    raw = model.predict_proba(texts)
    cal = LogitCalibration(3.0, np.array([0.0, 0.4]))
    model.set_calibration(cal)
    np.testing.assert_allclose(model.predict_proba(texts), cal.apply(raw))
    save_model(model, tmp_path / "m.skops")
    np.testing.assert_allclose(load_model(tmp_path / "m.skops").predict_proba(texts), cal.apply(raw))
    with pytest.raises(ValueError, match="offsets"):
        model.set_calibration(LogitCalibration(1.0, np.zeros(3)))
    model.fit(texts, y)  # a refit is a new model: no calibration
    np.testing.assert_allclose(model.predict_proba(texts), raw)
