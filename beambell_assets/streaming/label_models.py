"""Label models fitted from :class:`~beambell_assets.streaming.statistics.VoteStatistics`, no rows.

Two fits share one output, a :class:`StreamLabelModel` (conditional vote probabilities ``mu`` and a
class prior, Snorkel's parametrisation), so the stream predicts the same way whichever fitted it:

* :func:`fit_snorkel` — Snorkel's own ``LabelModel`` (beambell's ``EfficientLabelModel``, same
  numbers) trained on the accumulated ``O``. On undecayed statistics of a set of rows it gives
  exactly the batch :func:`~beambell_assets.training.label_model.fit_label_model` on those rows
  (same seed, same epochs: tested). Costs one training run (~0.1-1 s at 87 LFs x 16 classes), so
  the stream runs it every few thousand pages.
* :func:`fit_triplet` — a closed-form method-of-moments fit in the spirit of FlyingSquid's triplet
  method (Fu et al., 2020), for frequent refits (milliseconds). FlyingSquid's binary ``{-1, +1}``
  agreement moments carry no information for LFs that only ever vote one class (most LFs here: a
  keyword list votes its class or abstains), so this works on the *co-firing* of vote indicators
  instead. Each indicator ``u`` = "LF ``j`` voted class ``c``" fires with probability ``alpha_u`` on
  pages of class ``c`` and ``beta_u`` elsewhere; LFs are independent given the class. Then, for three
  indicators ``u, v, w`` of one class from different LFs, writing ``x_u = pi_c alpha_u`` (true-positive
  mass) and ``f_u = p_u - x_u`` (false-positive mass, ``p_u`` the firing rate):

      O_uv = x_u x_v / pi_c + f_u f_v / (1 - pi_c)          (errors spread evenly over the other classes)
      ⇒  x_u^2 = pi_c * O~_uv O~_uw / O~_vw   with  O~_uv = O_uv - f_u f_v / (1 - pi_c)

  ``x_u`` is the median over the indicator's triplets; starting from ``f = 0`` a few fixed-point
  rounds settle it (each is closed form). Indicators of a class with fewer than three LFs voting it
  get the median precision ``x_u / p_u`` of the others (majority vote's assumption: equally good
  LFs). ``mu_u(c) = alpha_u``; ``mu_u(y ≠ c)`` spreads the false-positive mass evenly. The prior ``pi`` is
  given (the stream's online-EM estimate, :meth:`VoteStatistics.class_prior`).

Prediction is Snorkel's: ``P(y | lambda) ∝ pi_y prod_{u fired} mu_u(y)``, on the LFs and classes the fit
saw; pages no known vote covers get the prior.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from beambell_assets.streaming.statistics import ABSTAIN, VoteStatistics, majority_vote_probs

#: Snorkel's LabelModel needs at least three LFs that vote.
MIN_LFS = 3
_MU_FLOOR = 1e-6


@dataclass
class StreamLabelModel:
    """Conditional vote probabilities over the fitted LFs x classes, and a class prior."""

    method: str  # "snorkel" | "triplet" | "majority_vote"
    m: int
    k: int
    lfs: np.ndarray  # (a,) LF columns the fit used
    classes: np.ndarray  # (c,) classes some LF voted for
    mu: np.ndarray  # (a*c, c): P(LF lfs[i] votes classes[y'] | Y = classes[y])
    prior: np.ndarray  # (k,)
    pages: int = 0  # pages of statistics it was fitted on
    lf_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (m,) accuracy, NaN unknown
    notes: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        h = hashlib.sha256(self.method.encode())
        for arr in (self.lfs, self.classes, np.round(self.mu, 9), np.round(self.prior, 9)):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        return "lm" + h.hexdigest()[:10]

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """(n, k) class probabilities; the prior where no known vote covers a page."""
        L = np.asarray(L)
        if L.ndim != 2 or L.shape[1] != self.m:
            raise ValueError(f"L must have {self.m} LF columns, got shape {L.shape}")
        out = np.tile(self.prior, (len(L), 1))
        if self.method == "majority_vote" or not len(self.classes):
            covered = (L != ABSTAIN).any(axis=1)
            out[covered] = majority_vote_probs(L[covered], self.k)
            return out
        lookup = np.full(self.k + 1, ABSTAIN, dtype=np.int64)
        lookup[self.classes + 1] = np.arange(len(self.classes))
        sub = lookup[L[:, self.lfs].astype(np.int64) + 1]  # votes of fitted LFs on fitted classes
        covered = (sub != ABSTAIN).any(axis=1)
        if not covered.any():
            return out
        c = len(self.classes)
        rows, cols = np.nonzero(sub[covered] != ABSTAIN)
        log_mu = np.log(np.clip(self.mu, _MU_FLOOR, None))
        sub_prior = self.prior[self.classes] / self.prior[self.classes].sum()
        scores = np.tile(np.log(sub_prior), (int(covered.sum()), 1))
        np.add.at(scores, rows, log_mu[cols * c + sub[covered][rows, cols]])
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        full = np.zeros((len(probs), self.k))
        full[:, self.classes] = probs / probs.sum(axis=1, keepdims=True)
        out[covered] = full
        return out

    # ------------------------------------------------------------------ serialisation (no pickle)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "m": self.m,
            "k": self.k,
            "lfs": self.lfs.tolist(),
            "classes": self.classes.tolist(),
            "mu": self.mu.tolist(),
            "prior": self.prior.tolist(),
            "pages": self.pages,
            "lf_weights": [None if not np.isfinite(w) else float(w) for w in self.lf_weights],
            "notes": list(self.notes),
            "version": self.version,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StreamLabelModel:
        c = len(obj["classes"])
        return cls(
            method=obj["method"],
            m=int(obj["m"]),
            k=int(obj["k"]),
            lfs=np.asarray(obj["lfs"], dtype=np.int64),
            classes=np.asarray(obj["classes"], dtype=np.int64),
            mu=np.asarray(obj["mu"], dtype=float).reshape(-1, c) if c else np.zeros((0, 0)),
            prior=np.asarray(obj["prior"], dtype=float),
            pages=int(obj.get("pages", 0)),
            lf_weights=np.asarray([np.nan if w is None else w for w in obj.get("lf_weights", [])], float),
            notes=list(obj.get("notes", [])),
        )


def majority_vote_model(stats: VoteStatistics, prior: np.ndarray | None = None) -> StreamLabelModel:
    """What the stream predicts with before a fit is possible."""
    return StreamLabelModel(
        method="majority_vote",
        m=stats.m,
        k=stats.k,
        lfs=np.zeros(0, dtype=np.int64),
        classes=np.zeros(0, dtype=np.int64),
        mu=np.zeros((0, 0)),
        prior=np.full(stats.k, 1.0 / stats.k) if prior is None else _normalised(prior, stats.k),
        pages=stats.pages,
        lf_weights=np.full(stats.m, np.nan),
    )


def _normalised(prior: np.ndarray, k: int) -> np.ndarray:
    p = np.asarray(prior, dtype=float)
    if p.shape != (k,) or not np.all(np.isfinite(p)) or (p <= 0).any():
        raise ValueError(f"prior must be {k} positive numbers")
    return p / p.sum()


def _fittable(stats: VoteStatistics) -> tuple[np.ndarray, np.ndarray, str | None]:
    lfs, classes = stats.active_lfs(), stats.voted_classes()
    if stats.n <= 0 or not len(classes):
        return lfs, classes, "no votes yet"
    if len(classes) < 2:
        return lfs, classes, "only one class voted"
    if len(lfs) < MIN_LFS:
        return lfs, classes, f"{len(lfs)} LF(s) vote; need {MIN_LFS}"
    return lfs, classes, None


# --------------------------------------------------------------------------- Snorkel from statistics


def fit_snorkel(
    stats: VoteStatistics,
    prior: np.ndarray | None = None,
    *,
    seed: int = 0,
    n_epochs: int = 500,
    lr: float = 0.01,
    l2: float = 0.0,
) -> StreamLabelModel:
    """Snorkel's ``LabelModel`` trained on the statistics (``prior``: class balance, default uniform).

    Same defaults as the batch :func:`~beambell_assets.training.label_model.fit_label_model`.
    """
    from beambell_assets.training.snorkel_label_model import (  # torch and snorkel: only when fitting
        EfficientLabelModel,
        fit_snorkel_label_model,
    )

    prior = np.full(stats.k, 1.0 / stats.k) if prior is None else _normalised(prior, stats.k)
    lfs, classes, why_not = _fittable(stats)
    if why_not:
        model = majority_vote_model(stats, prior)
        model.notes.append(f"majority vote: {why_not}")
        return model

    class _FromStatistics(EfficientLabelModel):
        """Snorkel's fit, with ``O`` and ``n`` given instead of computed from a label matrix."""

        def _set_constants(self, L: np.ndarray) -> None:
            self.n, self.m, self.t = round(stats.n), len(lfs), 1

        def _generate_O(self, L: np.ndarray, higher_order: bool = False) -> None:
            import torch

            # Snorkel's clique bookkeeping (c_data) comes from the augmented matrix; building it on
            # the one-row placeholder costs nothing. O itself comes from the statistics.
            self._get_augmented_label_matrix(L, higher_order=False)
            overlaps = stats.sub_overlaps(lfs, classes)
            self.d = overlaps.shape[0]
            self.O = torch.from_numpy(overlaps).float().to(self.config.device)

    sub_prior = prior[classes] / prior[classes].sum()
    placeholder = np.full((1, len(lfs)), ABSTAIN)  # fit() reads only its shape; O comes from stats
    lm = fit_snorkel_label_model(
        placeholder,
        len(classes),
        class_balance=sub_prior.tolist(),
        seed=int(seed),
        n_epochs=int(n_epochs),
        lr=lr,
        l2=l2,
        model_class=_FromStatistics,
    )
    lm.coverage = stats.lf_coverage()[lfs]
    weights = np.full(stats.m, np.nan)
    weights[lfs] = lm.get_weights()
    return StreamLabelModel(
        method="snorkel",
        m=stats.m,
        k=stats.k,
        lfs=lfs,
        classes=classes,
        mu=lm.mu.detach().cpu().numpy().astype(float),
        prior=prior,
        pages=stats.pages,
        lf_weights=weights,
    )


# --------------------------------------------------------------------------- triplet (closed form)


def fit_triplet(
    stats: VoteStatistics,
    prior: np.ndarray | None = None,
    *,
    rounds: int = 3,
    min_overlap: float = 1.0,
) -> StreamLabelModel:
    """The closed-form co-firing triplet fit described in the module docstring.

    ``min_overlap``: a pair of indicators must co-fire on at least this many (decayed) pages to
    enter a triplet; rarer pairs are noise.
    """
    prior = np.full(stats.k, 1.0 / stats.k) if prior is None else _normalised(prior, stats.k)
    lfs, classes, why_not = _fittable(stats)
    if why_not:
        model = majority_vote_model(stats, prior)
        model.notes.append(f"majority vote: {why_not}")
        return model
    a, c = len(lfs), len(classes)
    counts = stats.sub_overlaps(lfs, classes) * stats.n  # decayed co-firing counts
    n = stats.n
    overlap = counts / n
    p = np.diag(overlap).copy()  # firing rate per indicator
    cls_of = np.tile(np.arange(c), a)  # indicator -> class position
    lf_of = np.repeat(np.arange(a), c)
    sub_prior = prior[classes] / prior[classes].sum()
    x = np.full(a * c, np.nan)  # true-positive mass per indicator
    notes: list[str] = []

    for ci in range(c):
        members = np.flatnonzero((cls_of == ci) & (p > 0))
        if len({int(lf_of[u]) for u in members}) < 3:
            continue
        pi = sub_prior[ci]
        f = np.zeros(a * c)
        est = np.full(a * c, np.nan)
        for _ in range(max(1, rounds)):
            corr = overlap[np.ix_(members, members)] - np.outer(f[members], f[members]) / max(1 - pi, 1e-9)
            enough = counts[np.ix_(members, members)] >= min_overlap
            corr = np.where(enough & (corr > 0), corr, np.nan)
            for i, u in enumerate(members):
                vals = []
                for j in range(len(members)):
                    for l_ in range(j + 1, len(members)):
                        if i in (j, l_) or len({lf_of[u], lf_of[members[j]], lf_of[members[l_]]}) < 3:
                            continue
                        num, den = corr[i, j] * corr[i, l_], corr[j, l_]
                        if np.isfinite(num) and np.isfinite(den) and den > 0:
                            vals.append(pi * num / den)
                if vals:
                    est[u] = min(np.sqrt(np.median(vals)), p[u])  # x_u <= p_u
            known = np.isfinite(est[members])
            f[members[known]] = p[members[known]] - est[members[known]]
        x[members] = est[members]

    precision = np.where(p > 0, x / np.where(p > 0, p, 1), np.nan)
    known = np.isfinite(precision)
    fallback = float(np.median(precision[known])) if known.any() else 0.7
    if (~known & (p > 0)).any():
        notes.append(
            f"{int((~known & (p > 0)).sum())} vote indicator(s) without a triplet: median precision "
            f"{fallback:.3f}"
        )
    precision = np.where(known, precision, fallback)
    precision = np.clip(precision, 1.0 / c + 1e-3, 1 - 1e-3)  # better than chance, never certain

    mu = np.full((a * c, c), _MU_FLOOR)
    for u in range(a * c):
        if p[u] <= 0:
            continue
        cu = cls_of[u]
        tp = precision[u] * p[u]
        mu[u, cu] = min(tp / sub_prior[cu], 1.0)
        others = [y for y in range(c) if y != cu]
        spread = (p[u] - tp) / max(1 - sub_prior[cu], 1e-9)
        mu[u, others] = max(spread, _MU_FLOOR)
    weights = np.full(stats.m, np.nan)
    votes = stats.vote_counts()[lfs][:, classes].ravel()
    for i, j in enumerate(lfs):
        rows = slice(i * c, (i + 1) * c)
        total = votes[rows].sum()
        if total > 0:
            weights[j] = float((precision[rows] * votes[rows]).sum() / total)
    return StreamLabelModel(
        method="triplet",
        m=stats.m,
        k=stats.k,
        lfs=lfs,
        classes=classes,
        mu=mu,
        prior=prior,
        pages=stats.pages,
        lf_weights=weights,
        notes=notes,
    )


def describe(model: StreamLabelModel, lf_names: list[str]) -> str:
    """A short JSON summary (method, version, pages, the five most and least trusted LFs)."""
    order = [
        i for i in np.argsort(-np.nan_to_num(model.lf_weights, nan=-1)) if np.isfinite(model.lf_weights[i])
    ]
    top = [(lf_names[i], round(float(model.lf_weights[i]), 3)) for i in order[:5]]
    low = [(lf_names[i], round(float(model.lf_weights[i]), 3)) for i in order[-5:]]
    return json.dumps(
        {
            "method": model.method,
            "version": model.version,
            "pages": model.pages,
            "most_trusted": top,
            "least_trusted": low,
        }
    )
