"""The class prior P(y) without gold, and what the rows no LF covers say about it.

Snorkel's default prior is uniform; on an imbalanced task that pushes every covered row's
probabilities towards the minority class (seen: mean P(positive) 0.56 on covered rows against a true
0.22), and a classifier trained on those soft labels predicts the minority class far too often.

Here the prior is learned by EM over a Dawid-Skene model in which **abstaining is an outcome
too**: each LF ``j`` has a class-conditional distribution ``θ_j[y, v]`` over ``v ∈ {abstain,
0..k-1}``. Abstaining carries information: a keyword LF for the minority class abstains more on the
majority class, so the rows no LF covers are explained as mostly majority-class rows instead of
being dropped as if they were a random sample. That gives three numbers per class:

* ``prior``: P(y) over all rows (what the deployed classifier will meet);
* ``prior_covered``: P(y | some LF voted), the prior the label model should use on the rows it
  labels (those are the training rows);
* ``uncovered``: P(y | no LF voted), the posterior of an all-abstain row.

``label_shift_factors`` turns them into the per-class weights ``prior / prior_covered`` that
correct a classifier trained on covered rows only for the class mix it will see (label shift).

EM runs over the distinct vote patterns (weighted by their counts), so it costs O(patterns · m · k)
per iteration however many rows there are. The confusion matrices are smoothed towards "right
with probability ``init_accuracy`` when voting" (a Dirichlet pseudo-count), which also fixes the
label permutation EM could otherwise swap. Plain numpy, no torch: any aggregator can call it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ABSTAIN = -1


@dataclass(frozen=True)
class ClassPrior:
    """What :func:`estimate_class_prior` learned (arrays of length k)."""

    prior: np.ndarray
    prior_covered: np.ndarray
    uncovered: np.ndarray
    coverage: float
    n_iter: int
    converged: bool
    source: str

    def as_rows(self, label_names: list[str] | tuple[str, ...]) -> list[dict[str, float | str]]:
        """One row per class, for metadata tables and reports."""
        return [
            {
                "class": name,
                "prior": float(self.prior[c]),
                "prior_covered": float(self.prior_covered[c]),
                "uncovered_posterior": float(self.uncovered[c]),
            }
            for c, name in enumerate(label_names)
        ]


def _patterns(L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of L and how often each occurs."""
    if L.shape[0] == 0:
        return L, np.zeros(0)
    uniq, counts = np.unique(L, axis=0, return_counts=True)
    return uniq, counts.astype(float)


def _majority_init(P: np.ndarray, k: int) -> np.ndarray:
    """Row posteriors from vote counts (+ a small uniform floor; all-abstain rows: uniform)."""
    q = np.full((len(P), k), 0.1)
    rows, cols = np.nonzero(P != ABSTAIN)
    np.add.at(q, (rows, P[rows, cols]), 1.0)
    return q / q.sum(axis=1, keepdims=True)


def estimate_class_prior(
    L: np.ndarray,
    cardinality: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    init_accuracy: float = 0.7,
    pseudo_count: float = 2.0,
    prior_floor: float = 1e-3,
) -> ClassPrior:
    """EM estimate of the class prior from the label matrix alone (see the module docstring).

    ``L``: (n, m) votes, ``-1`` = abstain. ``pseudo_count`` is the Dirichlet strength per (LF, class)
    of the smoothing towards ``init_accuracy``; ``prior_floor`` keeps every class possible.
    """
    k = int(cardinality)
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError(f"L must be 2-D, got shape {L.shape}")
    n, m = L.shape
    uniform = np.full(k, 1.0 / k)
    if n == 0 or m == 0 or not (L != ABSTAIN).any():
        return ClassPrior(uniform, uniform, uniform, 0.0, 0, True, "uniform (no votes)")
    P, w = _patterns(L.astype(np.int64))
    covered_pat = (P != ABSTAIN).any(axis=1)
    coverage = float(w[covered_pat].sum() / w.sum())

    # Dirichlet pseudo-counts: when an LF votes it is right with init_accuracy, wrong evenly;
    # its abstain rate starts at its overall abstain rate (unknown class dependence).
    abstain_rate = (L == ABSTAIN).mean(axis=0)
    base = np.empty((m, k, k + 1))
    off = (1.0 - init_accuracy) / max(k - 1, 1)
    for j in range(m):
        vote = np.full((k, k), off)
        np.fill_diagonal(vote, init_accuracy)
        base[j, :, 0] = abstain_rate[j]
        base[j, :, 1:] = (1.0 - abstain_rate[j]) * vote
    alpha = pseudo_count * np.maximum(base, 1e-3)  # no zero pseudo-count: log(theta) stays finite
    V = P + 1  # vote index into theta's last axis: 0 = abstain

    q = _majority_init(P, k)
    prior = (w[:, None] * q).sum(axis=0) / w.sum()
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported)
        # M step: prior and confusion (with abstain) from the current posteriors.
        wq = w[:, None] * q  # (p, k)
        counts = alpha.copy()
        for j in range(m):  # one (p, k+1) one-hot at a time: memory stays O(patterns * k)
            counts[j] += wq.T @ np.eye(k + 1)[V[:, j]]
        theta = counts / counts.sum(axis=2, keepdims=True)
        new_prior = wq.sum(axis=0) / w.sum()
        new_prior = np.maximum(new_prior, prior_floor)
        new_prior /= new_prior.sum()
        # E step: log P(y | pattern) = log prior + sum_j log theta_j[y, v_pj].
        log_theta = np.log(theta)  # (m, k, k+1)
        ll = np.tile(np.log(new_prior), (len(P), 1))
        for j in range(m):
            ll += log_theta[j][:, V[:, j]].T
        ll -= ll.max(axis=1, keepdims=True)
        new_q = np.exp(ll)
        new_q /= new_q.sum(axis=1, keepdims=True)
        q, prior = new_q, new_prior
        next_prior = (w[:, None] * q).sum(axis=0) / w.sum()
        delta = float(np.abs(next_prior - prior).max())
        if delta < tol:
            converged = True
            break

    covered_mass = (w[covered_pat, None] * q[covered_pat]).sum(axis=0)
    prior_covered = covered_mass / covered_mass.sum()
    prior_covered = np.maximum(prior_covered, prior_floor)
    prior_covered /= prior_covered.sum()
    if (~covered_pat).any():
        uncovered = q[~covered_pat][0]
    else:  # no all-abstain row in the data: what the model would say about one
        log_u = np.log(theta[:, :, 0]).sum(axis=0) + np.log(prior)
        uncovered = np.exp(log_u - log_u.max())
        uncovered /= uncovered.sum()
    return ClassPrior(
        prior=prior,
        prior_covered=prior_covered,
        uncovered=uncovered,
        coverage=coverage,
        n_iter=it,
        converged=converged,
        source=f"EM over the LF votes, abstains modelled (gold-free, {it} iterations)",
    )


def label_shift_factors(prior: np.ndarray, prior_covered: np.ndarray, max_factor: float = 10.0) -> np.ndarray:
    """Per-class weights ``prior / prior_covered`` (clipped to ``[1/max_factor, max_factor]``) that
    make a classifier trained on covered rows match the class mix of all rows (the two arrays of a
    :class:`ClassPrior`, or the columns of its stored ``as_rows`` table)."""
    factor = np.asarray(prior, dtype=float) / np.maximum(np.asarray(prior_covered, dtype=float), 1e-12)
    return np.clip(factor, 1.0 / max_factor, max_factor)
