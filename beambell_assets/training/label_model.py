"""Turn a label matrix into probabilistic labels: Snorkel's ``LabelModel`` next to majority vote.

``fit_label_model(L, k)`` always computes both the Snorkel label model and the majority-vote
baseline (Snorkel's ``MajorityLabelVoter``, vectorised), so every report can say whether the label
model earned its keep.

Conventions
-----------
* ``L`` is ``int`` (n x m), ``-1`` = abstain, votes in ``0..k-1``. ``gold`` (optional, length n)
  holds class indices, ``-1`` = unknown.
* **Uncovered rows** (no LF voted) are flagged in ``covered``; their hard predictions are ``-1``
  and their ``probs`` row is the class prior used by the label model (what Snorkel returns: with
  no evidence the posterior is the prior). Filter them before training (see ``training_set``).
* **Class balance** (the label model's prior P(Y), which Snorkel 0.10 does *not* learn):
  ``class_balance="auto"`` (default) takes it from the gold labels when at least
  ``min_gold_for_balance`` of them exist, Laplace-smoothed (``(count + 1) / (n + k)``) so no class
  has prior 0 — Snorkel refuses a zero prior and a tiny gold set must not rule a class out;
  otherwise it is learned without gold (``"em"``: EM over the votes with abstains modelled,
  ``training/class_prior.py``; the estimate is kept as ``class_prior``) — Snorkel's uniform default
  skewed imbalanced tasks badly. ``"em"``, ``"uniform"``, ``"gold"``, ``"majority_vote"``
  (the smoothed distribution of majority-vote predictions on covered rows: a prior without any gold)
  or an explicit length-k array are also accepted. ``class_balance_source`` records which was used.
* **LFs that never vote** are left out of the fit (Snorkel's ``get_weights`` would divide by their
  zero coverage); their weight is NaN.
* **Classes no LF ever votes for** cannot be identified from ``L``: the label model is fitted on the
  classes that do occur and those columns get probability 0 (majority vote never predicts them
  either). With a single voted class every covered row is that class.
* **Fewer than three voting LFs**: Snorkel's ``LabelModel`` needs at least three. The label model
  output then falls back to the majority vote (``method == "majority_vote_fallback"``) and the
  weights are NaN; the fit says so in ``notes``.
* **No rows / no votes at all**: nothing to learn; every row is uncovered (``method`` says which).
* Determinism: one ``seed`` drives Snorkel's training; the caller's global ``random``, NumPy and
  torch RNG states (which Snorkel reseeds) are restored afterwards.
* Speed: the fit runs with one torch thread (on a 2-core machine, two threads were ~4x slower for
  these small matrices) and with ``EfficientLabelModel`` (``snorkel_label_model.py``, imported
  only when a label model is fitted, so loading the code location never imports torch): Snorkel's
  own loss, expanded so no
  (m·k)^2 elementwise pass runs per epoch (~25x faster than Snorkel at 63 LFs x 16 classes) and a
  sparse one-hot vote matrix
  (Snorkel's is dense: ~1 GB at 100k rows x 85 LFs x 16 classes); same numbers, tested.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from snorkel.utils import probs_to_preds

from beambell_assets.training.class_prior import ClassPrior, estimate_class_prior
from beambell_assets.training.evaluation import evaluate, flat_metrics

log = logging.getLogger(__name__)

ABSTAIN = -1
MIN_LFS_FOR_LABEL_MODEL = 3  # Snorkel's LabelModel refuses fewer

#: Default number of gold labels needed before the gold class distribution is used as the prior.
MIN_GOLD_FOR_BALANCE = 50


@dataclass
class LabelModelFit:
    """Everything ``fit_label_model`` learned; arrays are aligned with the rows / LFs of ``L``."""

    cardinality: int
    n: int
    m: int
    method: str  # "label_model" | "majority_vote_fallback" | "single_class" | "no_votes" | "empty"
    probs: np.ndarray  # (n, k) label-model probabilities (the prior on uncovered rows)
    preds: np.ndarray  # (n,) label-model argmax, -1 on uncovered rows
    mv_probs: np.ndarray  # (n, k) majority-vote probabilities (uniform on uncovered rows)
    mv_preds: np.ndarray  # (n,) majority vote, ties broken by Snorkel's deterministic hash, -1 uncovered
    covered: np.ndarray  # (n,) bool: at least one LF voted
    coverage: float  # covered.mean() (0.0 when n == 0)
    lf_coverage: np.ndarray  # (m,) share of rows each LF voted on
    lf_weights: np.ndarray  # (m,) Snorkel get_weights(): learned accuracy per LF; NaN where not learned
    lf_empirical_accuracy: np.ndarray  # (m,) accuracy vs gold where the LF voted; NaN without gold
    class_balance: np.ndarray  # (k,) prior P(Y) the label model used
    class_balance_source: str
    voted_classes: np.ndarray  # class indices at least one LF voted for
    seed: int
    # {"label_model": evaluate(..), "majority_vote": evaluate(..)} against gold; always both keys —
    # without gold each has n_gold == 0 and None metrics.
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    model: Any = field(default=None, repr=False)  # the fitted Snorkel LabelModel
    # The gold-free EM estimate of the prior (``training/class_prior.py``), when one was made.
    class_prior: ClassPrior | None = field(default=None, repr=False)
    lf_fit_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """Label-model probabilities for a new label matrix with the same LFs (e.g. a new partition)."""
        L = _check_L(L, self.cardinality, expected_m=self.m)
        probs, _ = self._probs_for(L)
        return probs

    def predict(self, L: np.ndarray) -> np.ndarray:
        """Hard label-model predictions for a new label matrix; ``-1`` where no LF voted."""
        L = _check_L(L, self.cardinality, expected_m=self.m)
        probs, covered = self._probs_for(L)
        return _hard(probs, covered)

    def _probs_for(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and the rows the fit can say anything about.

        Only votes the fit knows count: from LFs that voted in training, for classes some LF voted
        for in training. On the training matrix that is every vote.
        """
        probs = np.tile(self.class_balance, (len(L), 1))
        covered = np.zeros(len(L), dtype=bool)
        for rows in _blocks(len(L)):  # bounded temporaries on large windows; rows are independent
            probs[rows], covered[rows] = self._block_probs(L[rows], probs[rows])
        return probs, covered

    def _block_probs(self, L: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self.cardinality
        usable = np.full(L.shape, ABSTAIN, dtype=L.dtype)
        usable[:, self.lf_fit_index] = L[:, self.lf_fit_index]
        usable[~np.isin(usable, self.voted_classes)] = ABSTAIN
        covered = (usable != ABSTAIN).any(axis=1)
        if not covered.any():
            return probs, covered
        if self.method == "label_model" and self.model is not None:
            sub = _remap(usable[covered][:, self.lf_fit_index], self.voted_classes, k)
            full = np.zeros((int(covered.sum()), k))
            full[:, self.voted_classes] = self.model.predict_proba(sub)
            probs[covered] = full
        elif self.method in ("majority_vote_fallback", "single_class"):
            probs[covered] = _majority_probs(usable[covered], k)
        return probs, covered

    def summary(self) -> dict[str, Any]:
        """Scalars for run metadata and logs."""
        out: dict[str, Any] = {
            "method": self.method,
            "n_rows": self.n,
            "n_lfs": self.m,
            "cardinality": self.cardinality,
            "coverage": self.coverage,
            "n_covered": int(self.covered.sum()),
            "class_balance_source": self.class_balance_source,
            "seed": self.seed,
        }
        for name, result in self.metrics.items():
            out.update(flat_metrics(result, prefix=f"{name}_"))
        if self.notes:
            out["notes"] = "; ".join(self.notes)
        return out


def fit_label_model(
    L: np.ndarray,
    cardinality: int,
    *,
    gold: np.ndarray | None = None,
    seed: int = 0,
    n_epochs: int = 500,
    lr: float = 0.01,
    l2: float = 0.0,
    class_balance: str | Sequence[float] | np.ndarray = "auto",
    min_gold_for_balance: int = MIN_GOLD_FOR_BALANCE,
    label_names: Sequence[str] | None = None,
    **label_model_kwargs: Any,
) -> LabelModelFit:
    """Fit Snorkel's ``LabelModel`` (and majority vote) on ``L``; see the module docstring.

    ``label_model_kwargs`` go to ``LabelModel.fit`` (e.g. ``optimizer``, ``prec_init``, ``mu_eps``).
    ``label_names`` only names classes in the metrics (default ``"0".."k-1"``).
    """
    k = int(cardinality)
    if k < 2:
        raise ValueError(f"cardinality must be >= 2, got {cardinality}")
    L = _check_L(L, k)
    n, m = L.shape
    gold_arr = _check_gold(gold, n, k)
    names = list(label_names) if label_names is not None else [str(c) for c in range(k)]
    if len(names) != k:
        raise ValueError(f"label_names has {len(names)} names, cardinality is {k}")

    notes: list[str] = []
    covered = (L != ABSTAIN).any(axis=1) if m else np.zeros(n, dtype=bool)
    lf_coverage = (L != ABSTAIN).mean(axis=0) if n else np.zeros(m)
    voted_classes = np.unique(L[L != ABSTAIN]).astype(np.int64)
    active = np.flatnonzero(lf_coverage > 0)

    mv_probs = np.full((n, k), 1.0 / k)
    if covered.any():
        for rows in _blocks(len(L)):  # bounded temporaries on large windows
            block = covered[rows]
            if block.any():
                mv_probs[rows][block] = _majority_probs(L[rows][block], k)
    mv_preds = _hard(mv_probs, covered)

    prior, prior_source, em_prior = _class_balance(
        class_balance, k, gold_arr, mv_preds, min_gold_for_balance, L
    )
    fit = LabelModelFit(
        cardinality=k,
        n=n,
        m=m,
        method="label_model",
        probs=np.tile(prior, (n, 1)) if n == 0 else np.empty((0, k)),  # filled below
        preds=np.full(n, ABSTAIN, dtype=np.int64),
        mv_probs=mv_probs,
        mv_preds=mv_preds,
        covered=covered,
        coverage=float(covered.mean()) if n else 0.0,
        lf_coverage=lf_coverage,
        lf_weights=np.full(m, np.nan),
        lf_empirical_accuracy=_empirical_accuracy(L, gold_arr),
        class_balance=prior,
        class_balance_source=prior_source,
        class_prior=em_prior,
        voted_classes=voted_classes,
        seed=int(seed),
        notes=notes,
        lf_fit_index=active,
    )

    if n == 0:
        fit.method = "empty"
        notes.append("no rows: nothing to fit")
    elif len(voted_classes) == 0:
        fit.method = "no_votes"
        notes.append("no LF voted on any row: every row is uncovered")
    elif len(voted_classes) == 1:
        fit.method = "single_class"
        notes.append(f"LFs only ever vote class {names[voted_classes[0]]!r}: covered rows get it")
    elif len(active) < MIN_LFS_FOR_LABEL_MODEL:
        fit.method = "majority_vote_fallback"
        notes.append(
            f"{len(active)} LF(s) ever vote; Snorkel's LabelModel needs >= {MIN_LFS_FOR_LABEL_MODEL}:"
            " label-model output is the majority vote"
        )
    else:
        sub_L = _remap(L[:, active], voted_classes, k)
        sub_prior = prior[voted_classes] / prior[voted_classes].sum()
        # torch and Snorkel's model load here, not when the code location is imported
        from beambell_assets.training.snorkel_label_model import fit_snorkel_label_model

        model = fit_snorkel_label_model(
            sub_L,
            len(voted_classes),
            class_balance=sub_prior.tolist(),
            seed=int(seed),
            n_epochs=int(n_epochs),
            lr=lr,
            l2=l2,
            **label_model_kwargs,
        )
        fit.model = model
        fit.lf_weights[active] = model.get_weights()
    if len(voted_classes) and len(voted_classes) < k and fit.method != "single_class":
        missing = [names[c] for c in range(k) if c not in set(voted_classes.tolist())]
        notes.append(f"no LF votes for {missing}: probability 0 for those classes")
    if m - len(active) and n:
        notes.append(f"{m - len(active)} LF(s) never vote: left out of the fit, weight NaN")

    if n:
        fit.probs, _ = fit._probs_for(L)
        fit.preds = _hard(fit.probs, covered)
    truth = gold_arr if gold_arr is not None else np.full(n, ABSTAIN, dtype=np.int64)
    fit.metrics = {
        "label_model": evaluate(truth, fit.preds, names, proba=fit.probs),
        "majority_vote": evaluate(truth, fit.mv_preds, names, proba=fit.mv_probs),
    }
    for note in notes:
        log.info("label model: %s", note)
    return fit


# --------------------------------------------------------------------------- helpers


def _check_L(L: Any, k: int, expected_m: int | None = None) -> np.ndarray:
    arr = np.asarray(L)
    if arr.ndim != 2:
        raise ValueError(f"L must be a 2-D label matrix (rows x LFs), got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"L must hold integers (-1 = abstain), got dtype {arr.dtype}")
    # A compact signed dtype (int8 for up to 127 classes) is kept: at a million rows every int64
    # copy of L is 8x larger, and fitting makes several.
    if not (np.issubdtype(arr.dtype, np.signedinteger) and k < np.iinfo(arr.dtype).max):
        arr = arr.astype(np.int64, copy=False)
    if expected_m is not None and arr.shape[1] != expected_m:
        raise ValueError(f"L has {arr.shape[1]} LF columns, the fit had {expected_m}")
    if arr.size and (arr.min() < ABSTAIN or arr.max() >= k):
        raise ValueError(f"L has votes outside [-1, {k - 1}] (min {arr.min()}, max {arr.max()})")
    return arr


def _check_gold(gold: Any, n: int, k: int) -> np.ndarray | None:
    if gold is None:
        return None
    arr = np.asarray(gold)
    if arr.shape != (n,):
        raise ValueError(f"gold must have shape ({n},), got {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < ABSTAIN or arr.max() >= k):
        raise ValueError(f"gold has labels outside [-1, {k - 1}]")
    return arr


#: Rows per block when computing per-row outputs of a large label matrix.
_BLOCK_ROWS = 100_000


def _blocks(n: int) -> list[slice]:
    return [slice(s, min(s + _BLOCK_ROWS, n)) for s in range(0, n, _BLOCK_ROWS)]


def _majority_probs(L: np.ndarray, k: int) -> np.ndarray:
    """Snorkel's ``MajorityLabelVoter.predict_proba``, vectorised (its Python loop over every cell
    took seconds at 100k rows); the same output, tested. Rows must have at least one vote."""
    counts = np.zeros((len(L), k))
    rows, cols = np.nonzero(L != ABSTAIN)
    np.add.at(counts, (rows, L[rows, cols]), 1.0)
    top = (counts == counts.max(axis=1, keepdims=True)).astype(float)
    return top / top.sum(axis=1, keepdims=True)


def _hard(probs: np.ndarray, covered: np.ndarray) -> np.ndarray:
    preds = np.full(len(probs), ABSTAIN, dtype=np.int64)
    if covered.any():
        # "random" is Snorkel's deterministic hash of the row index: reproducible tie-breaking.
        preds[covered] = probs_to_preds(probs[covered], tie_break_policy="random")
    return preds


def _remap(L: np.ndarray, voted_classes: np.ndarray, k: int) -> np.ndarray:
    """Votes renumbered onto the voted classes only (``-1`` stays ``-1``)."""
    lookup = np.full(k + 1, ABSTAIN, dtype=L.dtype)  # L's dtype holds k (see _check_L)
    lookup[voted_classes + 1] = np.arange(len(voted_classes))
    return lookup[L + 1]


def _smoothed_distribution(labels: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=k).astype(float)
    return (counts + 1.0) / (counts.sum() + k)


def _class_balance(
    spec: str | Sequence[float] | np.ndarray,
    k: int,
    gold: np.ndarray | None,
    mv_preds: np.ndarray,
    min_gold: int,
    L: np.ndarray,
) -> tuple[np.ndarray, str, ClassPrior | None]:
    """The prior the label model uses, its source, and the EM estimate when one was made.

    Without enough gold, ``auto`` uses the gold-free EM estimate of P(y | some LF voted)
    (``training/class_prior.py``): the label model's probabilities are only used on covered rows.
    """
    gold_known = gold[gold != ABSTAIN] if gold is not None else np.zeros(0, dtype=np.int64)
    if isinstance(spec, str):
        if spec == "auto" and len(gold_known) >= min_gold:
            return _smoothed_distribution(gold_known, k), f"gold (n={len(gold_known)}, smoothed)", None
        if spec in ("auto", "em"):
            est = estimate_class_prior(L, k)
            why = "" if spec == "em" else f"; only {len(gold_known)} gold labels, need {min_gold}"
            return est.prior_covered, f"{est.source}, on covered rows{why}", est
        if spec == "uniform":
            return np.full(k, 1.0 / k), "uniform", None
        if spec == "gold":
            if not len(gold_known):
                raise ValueError('class_balance="gold" needs gold labels')
            return _smoothed_distribution(gold_known, k), f"gold (n={len(gold_known)}, smoothed)", None
        if spec == "majority_vote":
            voted = mv_preds[mv_preds != ABSTAIN]
            return _smoothed_distribution(voted, k), f"majority vote (n={len(voted)}, smoothed)", None
        raise ValueError(
            "class_balance must be 'auto', 'em', 'uniform', 'gold', 'majority_vote' or k floats, "
            f"got {spec!r}"
        )
    arr = np.asarray(spec, dtype=float)
    if arr.shape != (k,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"class_balance must be {k} positive numbers, got {spec!r}")
    return arr / arr.sum(), "given", None


def _empirical_accuracy(L: np.ndarray, gold: np.ndarray | None) -> np.ndarray:
    m = L.shape[1]
    out = np.full(m, np.nan)
    if gold is None:
        return out
    known = gold != ABSTAIN
    for j in range(m):
        voted = known & (L[:, j] != ABSTAIN)
        if voted.any():
            out[j] = float((L[voted, j] == gold[voted]).mean())
    return out
