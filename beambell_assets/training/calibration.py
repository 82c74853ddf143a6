"""Gold-free calibration of an end model's probabilities: one scale and per-class offsets on the
log-probabilities, fitted on out-of-fold predictions against the weak labels.

Why: an L2-regularised classifier trained on a few hundred weakly labelled rows is *shrunk* -- its
probabilities are flatter than the evidence, and on a rare class its argmax says "no" to most of
the rows it ranks highest (on AG News Sports-vs-rest, 10 % positives, the word model trained on the
*true* labels predicted 2.7 positives per 97-page fold holding 9.8). Refitting the classifier cannot
see that; its own held-out predictions can. ``q' ∝ exp(scale · log q + bias)`` (Platt / vector
scaling with one shared scale) is fitted by minimising the cross-entropy to the label model's
probabilities on rows the classifier did not train on, so no gold is used. k parameters in all (one
scale, k - 1 offsets): it moves decision thresholds and sharpens (with two classes it keeps the
rows' order by P(class)).

Classes the classifier gives exactly probability 0 (never seen in training) stay at 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

#: Log-probabilities are clipped here before scaling (a probability of 0 from rounding is not -inf).
LOG_FLOOR = np.log(1e-6)
SCALE_BOUNDS = (0.05, 20.0)
BIAS_BOUND = 10.0


@dataclass(frozen=True)
class LogitCalibration:
    """``q' ∝ exp(scale · log q + bias)``; ``bias[0]`` is 0 (softmax is shift-invariant)."""

    scale: float
    bias: np.ndarray

    def apply(self, probs: np.ndarray) -> np.ndarray:
        probs = np.asarray(probs, dtype=float)
        if probs.shape[0] == 0:
            return probs
        return softmax(_logits(probs, self.scale, self.bias), axis=1)

    def as_dict(self) -> dict[str, float | list[float]]:
        return {"scale": float(self.scale), "bias": [float(b) for b in self.bias]}


def _log_probs(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log q floored at LOG_FLOOR, 0 where q is 0; the mask of q == 0)``."""
    zero = probs <= 0.0
    return np.where(zero, 0.0, np.maximum(np.log(np.where(zero, 1.0, probs)), LOG_FLOOR)), zero


def _logits(probs: np.ndarray, scale: float, bias: np.ndarray) -> np.ndarray:
    logq, zero = _log_probs(probs)
    return np.where(zero, -np.inf, scale * logq + bias)


def fit_calibration(probs: np.ndarray, targets: np.ndarray, *, bias_l2: float = 0.0) -> LogitCalibration:
    """The scale and offsets minimising ``-mean_i Σ_c targets_ic log q'_ic + bias_l2 · ||bias||²``
    (``probs``: held-out predictions, ``targets``: the label model's probabilities for the same
    rows, each (n, k); ``bias_l2`` > 0 shrinks the offsets towards none, for small samples)."""
    probs, targets = np.asarray(probs, dtype=float), np.asarray(targets, dtype=float)
    n, k = probs.shape
    if targets.shape != (n, k):
        raise ValueError(f"targets have shape {targets.shape}; expected {(n, k)}")
    if n == 0 or k < 2:
        return LogitCalibration(1.0, np.zeros(k))
    logq, zero = _log_probs(probs)
    # a class the classifier never predicts cannot take target mass: leave it out of the loss
    live_targets = np.where(zero, 0.0, targets)
    live_targets /= np.maximum(live_targets.sum(axis=1, keepdims=True), 1e-12)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        scale, bias = theta[0], np.concatenate([[0.0], theta[1:]])
        s = np.where(zero, -np.inf, scale * logq + bias)
        value = -(live_targets * np.where(zero, 0.0, log_softmax(s, axis=1))).sum() / n
        value += bias_l2 * float(theta[1:] @ theta[1:])
        g = (softmax(s, axis=1) - live_targets) / n
        return float(value), np.concatenate([[(g * logq).sum()], g.sum(axis=0)[1:] + 2 * bias_l2 * theta[1:]])

    start = np.concatenate([[1.0], np.zeros(k - 1)])
    bounds = [SCALE_BOUNDS] + [(-BIAS_BOUND, BIAS_BOUND)] * (k - 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return LogitCalibration(float(result.x[0]), np.concatenate([[0.0], result.x[1:]]))


def cross_fitted(
    probs: np.ndarray, targets: np.ndarray, groups: np.ndarray, fit_rows: np.ndarray | None = None
) -> np.ndarray:
    """Calibrated probabilities where each group's rows are calibrated by a fit on the *other*
    groups' rows (the held-out score of calibrating, not a score on its own fitting rows); with
    ``fit_rows`` (a mask), only on those of them (e.g. the rows whose targets mean something)."""
    out = np.empty_like(np.asarray(probs, dtype=float))
    usable = np.ones(len(groups), dtype=bool) if fit_rows is None else np.asarray(fit_rows, dtype=bool)
    for g in np.unique(groups):
        rows = groups == g
        fit = ~rows & usable
        out[rows] = fit_calibration(probs[fit], targets[fit]).apply(probs[rows])
    return out
