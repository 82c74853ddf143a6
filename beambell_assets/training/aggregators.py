"""Several ways to turn a label matrix into probabilistic labels, and a principled choice between them.

Snorkel's ``LabelModel`` assumes the LFs are independent given the class; where they correlate (a
dozen keyword lists for one category that fire together) it over-trusts the crowd and majority vote
beats it. No single aggregator wins everywhere, so beambell fits several and *chooses*:

* ``majority_vote`` — Snorkel's ``MajorityLabelVoter`` (no parameters; the baseline);
* ``snorkel`` — Snorkel's ``LabelModel`` (``training/label_model.py``, matrix completion on ``O``);
* ``triplet`` — the closed-form co-firing triplet method (``streaming/label_models.py::fit_triplet``,
  reused as is from statistics of ``L``);
* ``dawid_skene`` — Dawid & Skene (1979) EM: one full class-conditional confusion matrix per LF,
  *including abstention as an outcome* (a keyword LF that stays silent on a page is evidence
  against its class), the class prior learned by EM. Unlike the moment methods its E-step can be
  clamped on gold rows: a semi-supervised fit.

**Gold anchoring.** Gold labels on the training side of the gold split (never evaluation gold)
anchor every parametric fit: Dawid-Skene clamps the posteriors of gold rows to their label in
every E-step; Snorkel's and the triplet fit's conditional vote probabilities ``mu`` are blended with
the gold rows' empirical ones, ``mu_u(y) <- (s mu_u(y) + #gold(u fired, Y=y)) / (s + #gold(Y=y))``
(``s = anchor_strength`` pseudo-rows per class: the learned value is a prior the gold updates).

**Choice** (:func:`choose_aggregator`):

* with at least ``min_gold`` training-side gold labels: ``folds``-fold cross-fitting on the gold
  rows — each fold's gold is predicted by fits anchored on the *other* folds' gold. The
  gold-weighted vote is the default: it is majority vote moved only as far as the gold supports
  (an L2 pull toward equal weights), so it is the safe use of gold. Another aggregator replaces it
  only when its cross-fitted lead is *statistically* clear: a one-sided paired test on the per-row
  correctness differences (``lead / SE(lead) > z``, ``z`` the normal quantile at ``gold_alpha``
  Bonferroni-divided by the number of challengers), so the bar scales with the gold: with ~100 gold
  rows a lead of 2-3 rows is noise (on the dev websites an anchored Snorkel or triplet fit that led
  by 2-3 gold rows was worse on the other rows), with thousands it is not. Among clear winners the
  best accuracy wins (ties: the lower Brier score, then the earlier, simpler aggregator);
* otherwise, gold-free: **held-out LF agreement**. The LFs are dealt into ``folds`` groups; each
  group in turn is hidden, every aggregator is fitted on the remaining LFs, and its predictions are
  scored against the hidden LFs' votes where both exist. Hidden LFs act as noisy, independent
  annotators: under class-conditional independence an aggregator that is more often right agrees
  more often with them. Correlated LFs break that assumption (a hidden LF agrees with an
  aggregator that over-trusts its copies), and on the data in ``../shared/data`` aggregators that
  were truly 0.2-1 point *worse* than majority vote scored up to 1.5 points better here; so an
  aggregator must beat majority vote by ``margin`` (2 points) on this score, and in every one
  of the LF groups, to replace it.
  Gold-free, majority vote is the safe default; gold is what lets a model of the LFs earn its keep.

The choice and the score table go to the ``label_model`` asset's metadata and, through it, the
registry record of the classifier trained on its labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import logsumexp
from scipy.stats import norm

from beambell_assets.streaming.label_models import StreamLabelModel, fit_triplet
from beambell_assets.streaming.statistics import VoteStatistics, majority_vote_probs, vote_indicators
from beambell_assets.training.label_model import ABSTAIN, LabelModelFit, _hard, fit_label_model

#: Training-side gold labels needed before the choice is made on gold instead of gold-free.
MIN_GOLD_FOR_SELECTION = 40
#: Pseudo-rows per class the learned ``mu`` counts for when gold anchors it.
ANCHOR_STRENGTH = 10.0
#: With gold, the aggregator kept unless another's cross-fitted lead over it is significant at
#: ``GOLD_ALPHA`` (one-sided paired test, Bonferroni over the challengers).
DEFAULT_WITH_GOLD = "weighted_vote"
GOLD_ALPHA = 0.05
#: Rows the candidates are scored on at most (scoring refits each several times).
MAX_ROWS_FOR_CHOICE = 20_000
#: Gold-free choice: how much better than majority vote (held-out LF agreement) an aggregator must be.
GOLD_FREE_MARGIN = 0.02


@dataclass
class Aggregation:
    """One aggregator fitted on ``L``: probabilities for its rows and a predictor for new rows."""

    name: str
    probs: np.ndarray  # (n, k); the prior on rows no usable vote covers
    covered: np.ndarray  # (n,) bool
    predict_proba: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    prior: np.ndarray = field(default_factory=lambda: np.zeros(0))
    anchored_on: int = 0  # gold rows that anchored the fit
    notes: list[str] = field(default_factory=list)
    model: Any = field(default=None, repr=False)  # the fitted parameters, for inspection

    @property
    def preds(self) -> np.ndarray:
        return hard_predictions(self.probs, self.covered)


#: ``fit(L, k, gold=..., prior=..., seed=..., **options) -> Aggregation``
AggregatorFn = Callable[..., Aggregation]


def hard_predictions(probs: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Argmax per row, ``-1`` on uncovered rows; ties broken as ``fit_label_model`` breaks them
    (Snorkel's deterministic hash), so ``majority_vote`` here is exactly its ``mv_preds``."""
    return _hard(np.asarray(probs), np.asarray(covered, dtype=bool))


def _covered(L: np.ndarray) -> np.ndarray:
    return (L != ABSTAIN).any(axis=1) if L.shape[1] else np.zeros(len(L), dtype=bool)


def _gold_or_none(gold: np.ndarray | None, n: int) -> np.ndarray | None:
    if gold is None:
        return None
    g = np.asarray(gold, dtype=np.int64)
    if g.shape != (n,):
        raise ValueError(f"gold must have shape ({n},), got {g.shape}")
    return g if (g != ABSTAIN).any() else None


def _prior(prior: Sequence[float] | np.ndarray | None, k: int) -> np.ndarray:
    if prior is None:
        return np.full(k, 1.0 / k)
    p = np.asarray(prior, dtype=float)
    if p.shape != (k,) or (p <= 0).any():
        raise ValueError(f"prior must be {k} positive numbers")
    return p / p.sum()


# --------------------------------------------------------------------------- majority vote


def fit_majority_vote(
    L: np.ndarray, k: int, *, gold: np.ndarray | None = None, prior: Any = None, seed: int = 0
) -> Aggregation:
    """Majority vote (ties share the mass). No parameters, so gold cannot anchor it."""
    L = np.asarray(L)
    p = _prior(prior, k)

    def predict(new_L: np.ndarray) -> np.ndarray:
        new_L = np.asarray(new_L)
        out = np.tile(p, (len(new_L), 1))
        cov = _covered(new_L)
        out[cov] = majority_vote_probs(new_L[cov], k)
        return out

    return Aggregation("majority_vote", predict(L), _covered(L), predict, prior=p)


# --------------------------------------------------------------------------- weighted vote


#: Gold rows (with a vote) a weighted vote needs before it learns weights; fewer: plain majority vote.
MIN_GOLD_FOR_WEIGHTS = 10


def fit_weighted_vote(
    L: np.ndarray,
    k: int,
    *,
    gold: np.ndarray | None = None,
    prior: Any = None,
    seed: int = 0,
    l2: float = 1.0,
) -> Aggregation:
    """Majority vote with one weight per LF and a bias per class, learned from gold.

    ``P(y | votes) ∝ exp(b_y + sum_j w_j [LF j voted y])``, fitted by penalised likelihood on the
    gold rows with an L2 pull of every ``w_j`` toward 1 and ``b`` toward 0 — so without gold (or with
    fewer than ``MIN_GOLD_FOR_WEIGHTS`` covered gold rows) it *is* majority vote, and with gold a
    redundant or sloppy LF loses weight (the discriminative fit needs no independence assumption).
    """
    L = np.asarray(L, dtype=np.int64)
    n, m = L.shape
    p = _prior(prior, k)
    gold = _gold_or_none(gold, n)
    cov = _covered(L)
    rows = np.flatnonzero(cov & (gold != ABSTAIN)) if gold is not None else np.zeros(0, dtype=np.int64)
    w, b = np.ones(m), np.zeros(k)
    if len(rows) >= MIN_GOLD_FOR_WEIGHTS and m:
        X = _class_indicators(L[rows], k)  # (g, k, m)
        y = gold[rows]
        g = np.arange(len(rows))

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            wt, bt = theta[:m], theta[m:]
            S = X @ wt + bt
            lse = logsumexp(S, axis=1)
            P = np.exp(S - lse[:, None])
            P[g, y] -= 1.0
            loss = (lse - S[g, y]).sum() + l2 * (((wt - 1.0) ** 2).sum() + (bt**2).sum())
            grad = np.concatenate(
                [np.einsum("gk,gkm->m", P, X) + 2 * l2 * (wt - 1.0), P.sum(0) + 2 * l2 * bt]
            )
            return float(loss), grad

        res = minimize(objective, np.concatenate([w, b]), jac=True, method="L-BFGS-B")
        w, b = res.x[:m], res.x[m:]

    def predict(new_L: np.ndarray) -> np.ndarray:
        new_L = np.asarray(new_L, dtype=np.int64)
        out = np.tile(p, (len(new_L), 1))
        c = _covered(new_L)
        if c.any():
            weights = np.zeros((m * k, k))  # indicator "LF j voted y" -> w_j on class y
            weights[np.arange(m * k), np.tile(np.arange(k), m)] = np.repeat(w, k)
            S = np.asarray(vote_indicators(new_L[c], k) @ weights) + b
            S -= S.max(axis=1, keepdims=True)
            e = np.exp(S)
            out[c] = e / e.sum(axis=1, keepdims=True)
        return out

    if not len(rows) or len(rows) < MIN_GOLD_FOR_WEIGHTS:
        agg = fit_majority_vote(L, k, prior=p)
        agg.name = "weighted_vote"
        agg.notes.append(f"{len(rows)} covered gold rows (< {MIN_GOLD_FOR_WEIGHTS}): equal weights")
        return agg
    return Aggregation(
        "weighted_vote", predict(L), cov, predict, prior=p, anchored_on=len(rows), model=(w, b)
    )


def _class_indicators(L: np.ndarray, k: int) -> np.ndarray:
    """(n, k, m): 1 where LF j voted class y on the row."""
    return np.stack([(c == L) for c in range(k)], axis=1).astype(float)


# --------------------------------------------------------------------------- mu-parametrised fits


def anchor_mu(
    model: StreamLabelModel, L: np.ndarray, gold: np.ndarray, strength: float = ANCHOR_STRENGTH
) -> StreamLabelModel:
    """``model`` with its conditional vote probabilities pulled toward the gold rows' empirical ones."""
    if not len(model.classes):
        return model
    c = len(model.classes)
    lookup = np.full(model.k, ABSTAIN, dtype=np.int64)
    lookup[model.classes] = np.arange(c)
    rows = np.flatnonzero((gold != ABSTAIN) & (lookup[np.clip(gold, 0, None)] != ABSTAIN))
    if not len(rows):
        return model
    y = lookup[gold[rows]]
    vote_lookup = np.full(model.k + 1, ABSTAIN, dtype=np.int64)
    vote_lookup[model.classes + 1] = np.arange(c)
    sub = vote_lookup[np.asarray(L)[np.ix_(rows, model.lfs)].astype(np.int64) + 1]
    ind = vote_indicators(sub, c)  # (g, a*c)
    onehot = np.eye(c)[y]  # (g, c)
    fired = np.asarray(ind.T @ onehot)  # (a*c, c): gold rows of class y where indicator u fired
    n_y = onehot.sum(axis=0)
    mu = (strength * model.mu + fired) / (strength + n_y)[None, :]
    return StreamLabelModel(
        method=model.method,
        m=model.m,
        k=model.k,
        lfs=model.lfs,
        classes=model.classes,
        mu=mu,
        prior=model.prior,
        pages=model.pages,
        lf_weights=model.lf_weights,
        notes=[*model.notes, f"anchored on {len(rows)} gold rows"],
    )


def _from_vote_model(name: str, model: StreamLabelModel, L: np.ndarray, anchored: int) -> Aggregation:
    probs = model.predict_proba(L)
    # Rows whose votes the model cannot use (LFs / classes it never saw) keep the prior: uncovered.
    covered = _covered(L) if model.method == "majority_vote" else _usable(model, L)
    return Aggregation(
        name, probs, covered, model.predict_proba, prior=model.prior, anchored_on=anchored, notes=model.notes
    )


def _usable(model: StreamLabelModel, L: np.ndarray) -> np.ndarray:
    if not len(model.lfs):
        return _covered(L)
    sub = np.asarray(L)[:, model.lfs]
    return (np.isin(sub, model.classes)).any(axis=1)


def _n_gold(gold: np.ndarray | None) -> int:
    return 0 if gold is None else int((gold != ABSTAIN).sum())


def fit_snorkel(
    L: np.ndarray,
    k: int,
    *,
    gold: np.ndarray | None = None,
    prior: Any = None,
    seed: int = 0,
    n_epochs: int = 500,
    anchor_strength: float = ANCHOR_STRENGTH,
    fitted: LabelModelFit | None = None,
) -> Aggregation:
    """Snorkel's ``LabelModel`` (``fitted``: reuse a fit already made on the same ``L`` and prior)."""
    L = np.asarray(L)
    p = _prior(prior, k)
    gold = _gold_or_none(gold, len(L))
    fit = fitted or fit_label_model(L, k, seed=seed, n_epochs=n_epochs, class_balance=p)
    if fit.method != "label_model" or fit.model is None:
        agg = fit_majority_vote(L, k, prior=p)
        agg.name, agg.notes = "snorkel", [*fit.notes, "snorkel: majority-vote fallback"]
        return agg
    if gold is None:
        return Aggregation("snorkel", fit.probs, fit.covered, fit.predict_proba, prior=fit.class_balance)
    model = StreamLabelModel(
        method="snorkel",
        m=fit.m,
        k=k,
        lfs=fit.lf_fit_index,
        classes=fit.voted_classes,
        mu=np.clip(fit.model.mu.detach().cpu().numpy().astype(float), 1e-6, 1.0),
        prior=fit.class_balance,
        lf_weights=fit.lf_weights,
    )
    return _from_vote_model("snorkel", anchor_mu(model, L, gold, anchor_strength), L, _n_gold(gold))


def fit_triplet_aggregator(
    L: np.ndarray,
    k: int,
    *,
    gold: np.ndarray | None = None,
    prior: Any = None,
    seed: int = 0,
    anchor_strength: float = ANCHOR_STRENGTH,
) -> Aggregation:
    """The stream's closed-form triplet fit, on the statistics of ``L``."""
    L = np.asarray(L)
    p = _prior(prior, k)
    gold = _gold_or_none(gold, len(L))
    if L.shape[1] == 0:
        return fit_majority_vote(L, k, prior=p)
    model = fit_triplet(VoteStatistics(m=L.shape[1], k=k).update(L), p)
    if gold is not None and model.method == "triplet":
        model = anchor_mu(model, L, gold, anchor_strength)
    return _from_vote_model("triplet", model, L, _n_gold(gold) if model.method == "triplet" else 0)


# --------------------------------------------------------------------------- Dawid-Skene


@dataclass
class DawidSkeneModel:
    """Per-LF confusion ``theta[j, y, o]`` over the modelled classes (o = class vote, or ``c`` =
    abstain), the prior ``pi`` over them, and which of the task's ``k`` classes they are."""

    theta: np.ndarray  # (m, c, c + 1)
    pi: np.ndarray  # (c,)
    classes: np.ndarray  # (c,) task class indices
    k: int
    abstain_informative: bool = True

    def _remap(self, L: np.ndarray) -> np.ndarray:
        lookup = np.full(self.k + 1, len(self.classes), dtype=np.int64)  # unmodelled vote -> "abstain"
        lookup[self.classes + 1] = np.arange(len(self.classes))
        return lookup[np.asarray(L, dtype=np.int64) + 1]

    def log_likelihood_terms(self, L: np.ndarray) -> np.ndarray:
        """(n, c): log P(votes of the row | Y = y); abstentions count when ``abstain_informative``,
        else an abstention is missing data and a vote's probability is conditional on voting."""
        m, c = self.theta.shape[0], self.theta.shape[1]
        if self.abstain_informative:
            log_t = np.log(self.theta)
        else:
            votes = self.theta[:, :, :c]
            log_t = np.concatenate(
                [np.log(votes / votes.sum(axis=2, keepdims=True)), np.zeros((m, c, 1))], axis=2
            )
        flat = log_t.transpose(0, 2, 1).reshape(m * (c + 1), c)  # row j*(c+1)+o
        return np.asarray(_outcome_indicators(self._remap(L), c + 1) @ flat)

    def sub_posteriors(self, L: np.ndarray) -> np.ndarray:
        scores = np.log(self.pi)[None, :] + self.log_likelihood_terms(L)
        scores -= scores.max(axis=1, keepdims=True)
        post = np.exp(scores)
        return post / post.sum(axis=1, keepdims=True)

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """(n, k) posteriors; the prior on rows without a modelled vote."""
        L = np.asarray(L, dtype=np.int64)
        prior = np.zeros(self.k)
        prior[self.classes] = self.pi
        out = np.tile(prior, (len(L), 1))
        cov = np.isin(L, self.classes).any(axis=1) if L.shape[1] else np.zeros(len(L), dtype=bool)
        if cov.any():
            full = np.zeros((int(cov.sum()), self.k))
            full[:, self.classes] = self.sub_posteriors(L[cov])
            out[cov] = full
        return out


def _outcome_indicators(outcome: np.ndarray, n_outcomes: int) -> sp.csr_matrix:
    """(n, m*n_outcomes) one-hot of each LF's outcome (exactly one 1 per row and LF)."""
    n, m = outcome.shape
    cols = (np.arange(m)[None, :] * n_outcomes + outcome).ravel()
    return sp.csr_matrix((np.ones(n * m), (np.repeat(np.arange(n), m), cols)), shape=(n, m * n_outcomes))


def fit_dawid_skene(
    L: np.ndarray,
    k: int,
    *,
    gold: np.ndarray | None = None,
    prior: Any = None,
    seed: int = 0,
    n_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 1.0,
    learn_prior: bool = False,
    abstain_informative: bool = True,
) -> Aggregation:
    """Dawid-Skene EM on the covered rows, initialised from majority vote, gold rows clamped.

    Only classes some LF votes (or gold names) are modelled, as in Snorkel. ``smoothing`` is a
    Dirichlet pseudo-count: ``smoothing`` on the diagonal and on abstaining, ``smoothing / c`` on
    each wrong vote (an LF is a priori better than chance), so nothing gets probability 0. With
    ``learn_prior`` the class prior is re-estimated each M-step (EM's gold-free prior), else it
    stays ``prior`` (uniform by default, like the other aggregators).
    """
    L = np.asarray(L, dtype=np.int64)
    n, m = L.shape
    p0 = _prior(prior, k)
    gold = _gold_or_none(gold, n)
    covered = _covered(L)
    labelled = np.unique(gold[gold != ABSTAIN]) if gold is not None else np.zeros(0, dtype=np.int64)
    classes = np.union1d(np.unique(L[L != ABSTAIN]), labelled).astype(np.int64)
    if m == 0 or not covered.any() or len(classes) < 2:
        agg = fit_majority_vote(L, k, prior=p0)
        agg.name = "dawid_skene"
        return agg
    c = len(classes)
    model = DawidSkeneModel(
        theta=np.zeros((m, c, c + 1)),
        pi=p0[classes] / p0[classes].sum(),
        classes=classes,
        k=k,
        abstain_informative=abstain_informative,
    )
    Lc = L[covered]
    outcome = model._remap(Lc)
    gc = model._remap(gold[covered]) if gold is not None else np.full(len(Lc), c)
    clamp = gc < c
    post = majority_vote_probs(np.where(outcome == c, ABSTAIN, outcome), c)
    post[clamp] = np.eye(c)[gc[clamp]]
    onehot_out = _outcome_indicators(outcome, c + 1)  # (nc, m*(c+1)), sparse
    pseudo = np.full((c, c + 1), smoothing / c)
    pseudo[np.arange(c), np.arange(c)] = smoothing
    pseudo[:, c] = smoothing
    for _ in range(n_iter):
        # M-step: expected confusion counts of every LF at once.
        counts = np.asarray(onehot_out.T @ post).reshape(m, c + 1, c).transpose(0, 2, 1) + pseudo
        model.theta = counts / counts.sum(axis=2, keepdims=True)
        if learn_prior:
            model.pi = (post.sum(axis=0) + 1.0) / (len(post) + c)
        new = model.sub_posteriors(Lc)  # E-step
        new[clamp] = np.eye(c)[gc[clamp]]
        done = np.abs(new - post).max() < tol
        post = new
        if done:
            break
    return Aggregation(
        "dawid_skene",
        model.predict_proba(L),
        covered,
        model.predict_proba,
        prior=model.pi,
        anchored_on=_n_gold(gold),
        model=model,
    )


# --------------------------------------------------------------------------- registry and choice


def aggregators() -> dict[str, AggregatorFn]:
    """Every aggregator beambell can choose, simplest first (the order breaks ties)."""
    return {
        "majority_vote": fit_majority_vote,
        "weighted_vote": fit_weighted_vote,
        "snorkel": fit_snorkel,
        "triplet": fit_triplet_aggregator,
        "dawid_skene": fit_dawid_skene,
    }


@dataclass
class AggregatorChoice:
    """The chosen aggregator's fit on all of ``L`` (anchored on all the gold) and why it was chosen."""

    chosen: str
    criterion: str  # "gold_cv_accuracy" | "heldout_lf_agreement"
    scores: pd.DataFrame  # one row per aggregator: aggregator, score, n_scored, chosen
    fit: Aggregation
    n_gold: int

    def summary(self) -> dict[str, Any]:
        return {
            "aggregator": self.chosen,
            "aggregator_criterion": self.criterion,
            "aggregator_gold_anchors": self.n_gold,
            "aggregator_scores": {
                str(r.aggregator): (None if pd.isna(r.score) else round(float(r.score), 4))
                for r in self.scores.itertuples()
            },
        }


def _fit(name: str, L: np.ndarray, k: int, gold: np.ndarray | None, prior: Any, seed: int) -> Aggregation:
    return aggregators()[name](L, k, gold=gold, prior=prior, seed=seed)


def gold_cv_scores(
    L: np.ndarray,
    k: int,
    gold: np.ndarray,
    names: Sequence[str],
    *,
    prior: Any = None,
    seed: int = 0,
    folds: int = 5,
) -> pd.DataFrame:
    """Accuracy (and Brier score, the tie-breaker) on each gold row of fits anchored on the other
    folds' gold: no row scores a fit it anchored. ``lead`` and ``lead_se`` are each aggregator's
    paired accuracy lead over ``DEFAULT_WITH_GOLD`` (when it is a candidate) and its standard error."""
    rows = np.flatnonzero(gold != ABSTAIN)
    fold_of = np.random.default_rng(seed).permutation(len(rows)) % max(2, min(folds, len(rows)))
    hit = {name: np.zeros(len(rows)) for name in names}
    brier = {name: 0.0 for name in names}
    for f in np.unique(fold_of):
        held = rows[fold_of == f]
        train_gold = gold.copy()
        train_gold[held] = ABSTAIN
        onehot = np.eye(k)[gold[held]]
        for name in names:
            fit = _fit(name, L, k, train_gold, prior, seed)
            hit[name][fold_of == f] = fit.preds[held] == gold[held]
            brier[name] += float(((fit.probs[held] - onehot) ** 2).sum())
    base = hit.get(DEFAULT_WITH_GOLD)
    diffs = {nm: (hit[nm] - base if base is not None else np.full(len(rows), np.nan)) for nm in names}
    return pd.DataFrame(
        {
            "aggregator": list(names),
            "score": [hit[nm].mean() for nm in names],
            "brier": [brier[nm] / len(rows) for nm in names],
            "n_scored": len(rows),
            "lead": [diffs[nm].mean() for nm in names],
            "lead_se": [_paired_se(diffs[nm]) for nm in names],
        }
    )


def _paired_se(diff: np.ndarray) -> float:
    """Standard error of the mean of paired differences (0 when there are fewer than two)."""
    return float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0


def heldout_lf_agreement(
    L: np.ndarray,
    k: int,
    names: Sequence[str],
    *,
    prior: Any = None,
    seed: int = 0,
    folds: int = 5,
) -> pd.DataFrame:
    """Gold-free: agreement of each aggregator, fitted without a group of LFs, with those LFs' votes.

    ``score`` pools every hidden vote; ``worst_group_gain`` is the smallest per-group lead over
    majority vote (NaN without a ``majority_vote`` candidate): a real improvement shows in every group.
    """
    L = np.asarray(L)
    active = np.flatnonzero((L != ABSTAIN).any(axis=0))
    group_of = np.random.default_rng(seed).permutation(len(active)) % max(1, min(folds, len(active)))
    agree = {name: [] for name in names}
    total = {name: [] for name in names}
    for g in np.unique(group_of):
        hidden = active[group_of == g]
        reduced = L.copy()
        reduced[:, hidden] = ABSTAIN
        votes = L[:, hidden]
        for name in names:
            preds = _fit(name, reduced, k, None, prior, seed).preds
            scored = (votes != ABSTAIN) & (preds != ABSTAIN)[:, None]
            agree[name].append(int((votes == preds[:, None])[scored].sum()))
            total[name].append(int(scored.sum()))

    def rates(name: str) -> np.ndarray:
        t = np.asarray(total[name], dtype=float)
        return np.divide(agree[name], t, out=np.full(len(t), np.nan), where=t > 0)

    mv = rates("majority_vote") if "majority_vote" in agree else None
    return pd.DataFrame(
        {
            "aggregator": list(names),
            "score": [sum(agree[nm]) / sum(total[nm]) if sum(total[nm]) else np.nan for nm in names],
            "n_scored": [sum(total[nm]) for nm in names],
            "worst_group_gain": [
                float(np.nanmin(rates(nm) - mv))
                if mv is not None and np.isfinite(rates(nm) - mv).any()
                else np.nan
                for nm in names
            ],
        }
    )


def choose_aggregator(
    L: np.ndarray,
    k: int,
    *,
    gold: np.ndarray | None = None,
    prior: Sequence[float] | np.ndarray | None = None,
    seed: int = 0,
    candidates: Sequence[str] | None = None,
    min_gold: int = MIN_GOLD_FOR_SELECTION,
    folds: int = 5,
    margin: float = GOLD_FREE_MARGIN,
    gold_alpha: float = GOLD_ALPHA,
    max_rows: int = MAX_ROWS_FOR_CHOICE,
) -> AggregatorChoice:
    """Score the candidates (by gold when there are ``min_gold`` gold rows, else gold-free) and refit
    the best on all of ``L``, anchored on all of ``gold``. ``gold`` must be training-side gold only.

    Scoring refits every candidate several times, so on a window larger than ``max_rows`` it runs on
    a seeded random sample of that many covered rows (every gold row kept); the final fit uses all.
    """
    L = np.asarray(L)
    names = list(candidates or aggregators())
    unknown = set(names) - set(aggregators())
    if unknown:
        raise ValueError(f"unknown aggregators {sorted(unknown)}; known: {sorted(aggregators())}")
    gold = _gold_or_none(gold, len(L))
    n_gold = _n_gold(gold)
    sample = _sample_rows(L, gold, max_rows, seed)
    L_s, gold_s = L[sample], (gold[sample] if gold is not None else None)
    if len(names) == 1:
        scores = pd.DataFrame({"aggregator": names, "score": [np.nan], "n_scored": [0]})
        chosen, criterion = names[0], "only_candidate"
    elif gold_s is not None and n_gold >= min_gold:
        scores = gold_cv_scores(L_s, k, gold_s, names, prior=prior, seed=seed, folds=folds)
        chosen, criterion = _gold_pick(scores, gold_alpha), "gold_cv_accuracy"
    else:
        scores = heldout_lf_agreement(L_s, k, names, prior=prior, seed=seed, folds=folds)
        chosen, criterion = _gold_free_pick(scores, margin), "heldout_lf_agreement"
    scores["chosen"] = scores["aggregator"] == chosen
    fit = _fit(chosen, L, k, gold, prior, seed)
    return AggregatorChoice(chosen=chosen, criterion=criterion, scores=scores, fit=fit, n_gold=n_gold)


def _sample_rows(L: np.ndarray, gold: np.ndarray | None, max_rows: int, seed: int) -> np.ndarray:
    """Row indices to score on: all rows, or every gold row plus a seeded sample of covered rows."""
    if len(L) <= max_rows:
        return np.arange(len(L))
    is_gold = gold != ABSTAIN if gold is not None else np.zeros(len(L), dtype=bool)
    others = np.flatnonzero(_covered(L) & ~is_gold)
    take = max(0, max_rows - int(is_gold.sum()))
    picked = np.random.default_rng(seed).choice(others, size=min(take, len(others)), replace=False)
    return np.sort(np.concatenate([np.flatnonzero(is_gold), picked]))


def _gold_pick(scores: pd.DataFrame, alpha: float = GOLD_ALPHA) -> str:
    """The gold-weighted vote unless another aggregator's paired cross-fitted lead over it is
    significant (``lead > z * lead_se``, one-sided, Bonferroni over the challengers); then the
    best of those (ties: lower Brier score, then the earlier aggregator). Without the default among
    the candidates: the best cross-fitted accuracy."""
    ranked = scores.assign(order=range(len(scores))).sort_values(
        ["score", "brier", "order"], ascending=[False, True, True]
    )
    if not (scores["aggregator"] == DEFAULT_WITH_GOLD).any():
        return str(ranked.iloc[0]["aggregator"])
    challengers = max(1, len(scores) - 1)
    z = float(norm.ppf(1.0 - alpha / challengers))
    lead, se = ranked["lead"].to_numpy(dtype=float), ranked["lead_se"].to_numpy(dtype=float)
    clear = (ranked["aggregator"] != DEFAULT_WITH_GOLD).to_numpy() & (lead > 0) & (lead > z * se)
    return str(ranked[clear].iloc[0]["aggregator"]) if clear.any() else DEFAULT_WITH_GOLD


def _gold_free_pick(scores: pd.DataFrame, margin: float) -> str:
    """Majority vote unless an aggregator leads it by ``margin`` pooled *and* in every LF group."""
    valid = scores.dropna(subset=["score"])
    if valid.empty:
        return str(scores["aggregator"].iloc[0])
    mv = valid[valid["aggregator"] == "majority_vote"]
    if not len(mv):
        return str(valid.loc[valid["score"].idxmax(), "aggregator"])
    floor = float(mv["score"].iloc[0]) + margin
    better = valid[(valid["score"] >= floor) & (valid.get("worst_group_gain", 1.0) > 0)]
    if better.empty:
        return "majority_vote"
    return str(better.loc[better["score"].idxmax(), "aggregator"])
