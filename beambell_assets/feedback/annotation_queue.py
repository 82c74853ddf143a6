"""Which pages a human should label next: uncertainty from weak supervision, kept diverse.

Signals, each scaled to [0, 1] (1 = most worth a human's time):

* ``classifier_margin`` — 1 - (p_top1 - p_top2) of the champion's ``predict_proba``: the model
  is torn between two classes;
* ``classifier_entropy`` — entropy of the champion's distribution / log(k);
* ``lm_entropy`` — entropy of the label model's posterior / log(k). For pages in the label
  model's training window this is the fitted label model's own posterior; for a newer partition it
  is approximated by the distribution of the LF votes (the majority-vote posterior), since the
  fitted model's parameters are not persisted;
* ``lf_conflict`` — 1 - (votes for the most-voted class / votes cast), over pages with a vote;
* ``uncovered`` — 1 when no LF voted at all (the LFs have a blind spot there);
* ``model_disagreement`` — 1 when the champion's top class is not the label model's (a covered
  page where the end model generalised away from the LFs, or the LFs are wrong: a human settles it).

The score is their weighted sum divided by the sum of weights (:class:`QueueWeights`). Pages
already in gold are never picked. With ``density`` the score is first weighted by how typical the
page is of the batch (mean TF-IDF cosine to the others: information density, Settles & Craven
2008), so uncertain outliers do not crowd out uncertain pages that resemble many others. Diversity
is greedy: each next pick maximises
``score - diversity * (max TF-IDF cosine to the pages already picked or labelled)``, so a batch
spreads over the corpus instead of spending itself on one confusing cluster (``diversity = 0``:
plain score order); a page whose cosine to a picked page exceeds ``max_similarity`` is a
near-duplicate and skipped, and at most ``max_per_class`` share of the budget goes to one
predicted class (so the queue does not fill up with, say, every uncertain "News" page). Each pick
keeps its component scores and a reason text.

**Cold start.** Uncertainty is only worth following once the models have seen a few labels of every
class: before that the classifier and the label model are unsure everywhere, their uncertainty
points at odd pages, and labels spent there teach little about the corpus (worse, the stateful
LFs learned from them generalise badly). So while the task has fewer than ``cold_start_per_class``
gold labels per class, the queue picks *representative* pages instead: every page scores the same,
so the pick is information density times coverage — a density-weighted k-center walk over the TF-IDF
space (each next page typical of many pages and far from those already picked or labelled).
Off by default (``cold_start_per_class = 0``): on the dev websites with a quarter of the LFs it
measured *worse* than random picks at 25 and 50 labels (typical pages of the big classes are
redundant), so it is an option to study, not the default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

ABSTAIN = -1

#: The warehouse table's columns (sql/migrations/0004). ``model_disagreement`` is scored and named
#: in the reason but not stored as a column (that would need a migration).
QUEUE_COLUMNS = [
    "page_id",
    "url",
    "queue_rank",
    "score",
    "classifier_margin",
    "classifier_entropy",
    "lm_entropy",
    "lf_conflict",
    "uncovered",
    "predicted_label",
    "predicted_probability",
    "model_version",
    "reason",
]


@dataclass(frozen=True)
class QueueWeights:
    classifier_margin: float = 1.0
    classifier_entropy: float = 0.5
    lm_entropy: float = 0.5
    lf_conflict: float = 1.0
    #: as much as the other main signals (0.25 until 2026-12-07): an uncovered page is a training row
    #: only once a human labels it, and with a quarter of the LFs 1.0 lifted the queue 4 points at 25
    #: and 50 labels (10 seeds, ``benchmarks/active_learning.py``, README)
    uncovered: float = 1.0
    model_disagreement: float = 1.0
    #: penalty per unit of cosine similarity to a page already picked or labelled (0 = off)
    diversity: float = 1.5
    #: information density: the score is multiplied by (typicality / max typicality) ** this (0 = off)
    density: float = 1.0
    #: representative picks (density x coverage) until the task has this many gold labels per class
    #: (0 = off: with 2 per class it measured worse than random at 25-50 labels, see the README)
    cold_start_per_class: float = 0.0
    #: share of each batch drawn uniformly at random ("audit" picks, interleaved): the only queue
    #: gold that is a random sample, so the only queue gold the label model may choose and anchor on
    audit_share: float = 0.2


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    sums = p.sum(axis=1, keepdims=True)
    p = np.divide(p, sums, out=np.full_like(p, 1.0 / max(p.shape[1], 1)), where=sums > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return h / math.log(p.shape[1]) if p.shape[1] > 1 else np.zeros(len(p))


def classifier_signals(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1 - margin between the two most probable classes, normalised entropy) per row."""
    proba = np.asarray(proba, dtype=float)
    if proba.size == 0:
        return np.zeros(len(proba)), np.zeros(len(proba))
    top2 = -np.sort(-proba, axis=1)[:, :2]
    margin = top2[:, 0] - (top2[:, 1] if proba.shape[1] > 1 else 0.0)
    return np.clip(1.0 - margin, 0.0, 1.0), _entropy(proba)


def vote_distribution(L: np.ndarray, k: int) -> np.ndarray:
    """(n, k) share of each class among the LF votes on each row (uniform where nobody voted)."""
    L = np.asarray(L, dtype=np.int64)
    counts = np.zeros((len(L), k))
    for c in range(k):
        counts[:, c] = np.equal(L, c).sum(axis=1)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)


def lf_signals(L: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vote-distribution entropy, conflict, uncovered) per row of a label matrix."""
    dist = vote_distribution(L, k)
    covered = (np.asarray(L) != ABSTAIN).any(axis=1) if np.asarray(L).size else np.zeros(len(L), bool)
    conflict = np.where(covered, 1.0 - dist.max(axis=1), 0.0)
    return _entropy(dist), conflict, (~covered).astype(float)


def _reason(row: pd.Series, weights: QueueWeights) -> str:
    parts: list[tuple[float, str]] = []
    if row["uncovered"]:
        parts.append((weights.uncovered, "no LF covers it"))
    if row["lf_conflict"] > 0:
        parts.append((weights.lf_conflict * row["lf_conflict"], f"LFs disagree ({row['lf_conflict']:.2f})"))
    if not np.isnan(row["classifier_margin"]):
        parts.append(
            (
                weights.classifier_margin * row["classifier_margin"],
                f"classifier unsure (top-2 margin {1 - row['classifier_margin']:.2f})",
            )
        )
    if row.get("model_disagreement", 0):
        parts.append((weights.model_disagreement, "classifier and label model disagree"))
    parts.append((weights.lm_entropy * row["lm_entropy"], f"label model entropy {row['lm_entropy']:.2f}"))
    parts.sort(key=lambda p: -p[0])
    return "; ".join(text for w, text in parts if w > 0.05) or "lowest-confidence remaining page"


COLD_START_REASON = "cold start: a representative page (typical of many, unlike those labelled)"
#: The reason of a uniformly random pick; ``feedback/gold.py::sampled_gold_mask`` looks for it.
AUDIT_REASON = "audit: a uniformly random page (an unbiased sample for the label model)"


def cold_start_labels(k: int, weights: QueueWeights = QueueWeights()) -> int:
    """Gold labels the task needs before the queue follows uncertainty instead of representativeness."""
    return math.ceil(weights.cold_start_per_class * k)


def score_pages(
    page_ids: Sequence[str],
    L: np.ndarray,
    k: int,
    *,
    classifier_proba: np.ndarray | None = None,
    lm_proba: np.ndarray | None = None,
    weights: QueueWeights = QueueWeights(),
) -> pd.DataFrame:
    """Component scores and the combined ``score`` per page (rows aligned with ``page_ids``).

    ``lm_proba`` rows may be NaN where the label model has no posterior for the page; those rows
    use the LF vote distribution. Without ``classifier_proba`` the classifier terms are NaN and
    left out of the weighted mean.
    """
    n = len(page_ids)
    L = np.asarray(L, dtype=np.int64).reshape(n, -1)
    vote_h, conflict, uncovered = lf_signals(L, k)
    lm_h = vote_h.copy()
    if lm_proba is not None:
        lm_proba = np.asarray(lm_proba, dtype=float)
        known = ~np.isnan(lm_proba).any(axis=1)
        if known.any():
            lm_h[known] = _entropy(lm_proba[known])
    frame = pd.DataFrame(
        {
            "page_id": list(page_ids),
            "lm_entropy": lm_h,
            "lf_conflict": conflict,
            "uncovered": uncovered.astype(int),
        }
    )
    terms = [(weights.lm_entropy, lm_h), (weights.lf_conflict, conflict), (weights.uncovered, uncovered)]
    if classifier_proba is not None and len(classifier_proba):
        margin, entropy = classifier_signals(classifier_proba)
        frame["classifier_margin"], frame["classifier_entropy"] = margin, entropy
        lm_top = (
            np.where(np.isnan(lm_proba).any(axis=1), -1, np.nan_to_num(lm_proba).argmax(axis=1))
            if lm_proba is not None
            else vote_distribution(L, k).argmax(axis=1)
        )
        disagree = (uncovered == 0) & (lm_top >= 0) & (np.asarray(classifier_proba).argmax(axis=1) != lm_top)
        frame["model_disagreement"] = disagree.astype(int)
        terms += [
            (weights.classifier_margin, margin),
            (weights.classifier_entropy, entropy),
            (weights.model_disagreement, disagree.astype(float)),
        ]
    else:
        frame["classifier_margin"] = np.nan
        frame["classifier_entropy"] = np.nan
        frame["model_disagreement"] = 0
    total_w = sum(w for w, _ in terms)
    frame["score"] = sum(w * v for w, v in terms) / total_w if total_w > 0 else 0.0
    return frame


def near_duplicate_matrix(texts: Sequence[str]):  # type: ignore[no-untyped-def]
    """Unit-length TF-IDF rows (word 1-2 grams): cosine of two pages = dot product of their rows."""
    cleaned = [t if t and t.strip() else "\u2205" for t in texts]
    try:
        x = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit_transform(cleaned)
    except ValueError:  # nothing but stop words / empty texts
        x = TfidfVectorizer(analyzer="char", ngram_range=(3, 3)).fit_transform(cleaned)
    return normalize(x).tocsr()


def select_diverse(
    scored: pd.DataFrame,
    texts: Sequence[str],
    predicted: Sequence[str | None],
    budget: int,
    *,
    max_similarity: float = 0.9,
    max_per_class: float = 0.5,
    exclude: set[str] | frozenset[str] = frozenset(),
    diversity: float = 0.0,
    density: float = 0.0,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Greedy pick with diversity, near-duplicate and per-class limits; returns (picks, skipped).

    Each step takes the page with the best ``score - diversity * max cosine`` to the pages picked
    so far and to the ``exclude`` (already labelled) pages among ``scored``; ``diversity = 0`` is
    plain score order. ``max_per_class`` is a share of the budget (at least one page per class).
    When the class cap leaves the budget unfilled, capped pages fill the rest in score order (a
    partition with one class must still yield picks); near-duplicates never do.
    """
    if budget <= 0 or scored.empty:
        return scored.iloc[0:0].assign(queue_rank=pd.Series(dtype=int)), {}
    x = near_duplicate_matrix(texts)
    cap = max(1, math.ceil(max_per_class * budget))
    score = scored["score"].to_numpy(dtype=float)
    if density > 0 and len(score) > 1:
        # Typicality: mean cosine to every page of the batch. An uncertain outlier (an empty or
        # boilerplate page) teaches the model about itself only; an uncertain typical page about many.
        typical = np.asarray(x @ np.asarray(x.sum(axis=0)).ravel()).ravel() / len(score)
        if typical.max() > 0:
            score = score * (typical / typical.max()) ** density
    page_ids = scored["page_id"].to_numpy()
    is_excluded = (
        np.isin(page_ids.astype(str), [str(p) for p in exclude]) if exclude else np.zeros(len(score), bool)
    )
    skipped = {"already_gold": int(is_excluded.sum()), "near_duplicate": 0, "class_cap": 0}
    nearest = np.zeros(len(score))  # max cosine to a picked or labelled page
    if diversity > 0 and is_excluded.any():
        nearest = np.asarray((x @ x[np.flatnonzero(is_excluded)].T).max(axis=1).todense()).ravel()
    open_ = ~is_excluded
    picked: list[int] = []
    deferred: list[int] = []
    per_class: dict[str | None, int] = {}

    def take(i: int) -> None:
        picked.append(i)
        open_[i] = False
        sims = np.asarray((x @ x[i].T).todense()).ravel()
        np.maximum(nearest, sims, out=nearest)

    while len(picked) < budget and open_.any():
        candidates = np.flatnonzero(open_)
        gain = score[candidates] - diversity * nearest[candidates]
        i = int(candidates[np.argmax(gain)])  # ties: the earliest row, as a stable sort would
        if nearest[i] > max_similarity:
            skipped["near_duplicate"] += 1
            open_[i] = False
            continue
        label = predicted[i]
        if per_class.get(label, 0) >= cap:
            skipped["class_cap"] += 1
            deferred.append(i)
            open_[i] = False
            continue
        take(i)
        per_class[label] = per_class.get(label, 0) + 1
    for i in sorted(deferred, key=lambda j: -score[j]):
        if len(picked) >= budget:
            break
        if nearest[i] <= max_similarity:
            take(i)
            skipped["class_cap"] -= 1
    picks = scored.iloc[picked].copy()
    picks["queue_rank"] = np.arange(1, len(picks) + 1)
    return picks.reset_index(drop=True), skipped


def build_queue(
    features: pd.DataFrame,
    L: np.ndarray,
    label_names: Sequence[str],
    *,
    text_field: str = "text",
    budget: int = 20,
    classifier_proba: np.ndarray | None = None,
    model_version: str | None = None,
    lm_proba: np.ndarray | None = None,
    gold_page_ids: set[str] | frozenset[str] = frozenset(),
    weights: QueueWeights = QueueWeights(),
    max_similarity: float = 0.9,
    max_per_class: float = 0.5,
    n_labelled: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The queue for one partition: ``QUEUE_COLUMNS`` plus ``text``, best first; and skip counts.

    ``n_labelled``: the task's gold labels so far (default: ``len(gold_page_ids)``); below
    :func:`cold_start_labels` the picks are representative rather than uncertain (module docstring).
    ``weights.audit_share`` of the budget are audit picks (:func:`draw_audit_picks`, ``seed``).
    """
    k = len(label_names)
    cold = (len(gold_page_ids) if n_labelled is None else n_labelled) < cold_start_labels(k, weights)
    scored = score_pages(
        features["page_id"].astype(str).tolist(),
        L,
        k,
        classifier_proba=classifier_proba,
        lm_proba=lm_proba,
        weights=weights,
    )
    if cold:
        scored["score"] = 1.0  # no uncertainty trusted yet: density x coverage decides
    scored["url"] = features["url"].astype(str).to_numpy()
    scored["text"] = features[text_field].fillna("").astype(str).to_numpy()
    if classifier_proba is not None and len(classifier_proba):
        proba = np.asarray(classifier_proba)
        top = proba.argmax(axis=1)
        scored["predicted_label"] = [label_names[i] for i in top]
        scored["predicted_probability"] = proba[np.arange(len(top)), top]
        scored["model_version"] = model_version
    else:  # no champion yet: the LFs' majority class stands in for "predicted class" (diversity only)
        dist = vote_distribution(L, k)
        covered = (np.asarray(L) != ABSTAIN).any(axis=1)
        top = dist.argmax(axis=1)
        scored["predicted_label"] = [label_names[i] if c else None for i, c in zip(top, covered, strict=True)]
        scored["predicted_probability"] = np.nan
        scored["model_version"] = None
    # audit picks first, uniformly over every page not yet in gold; the chosen picks from the rest
    audit = draw_audit_picks(scored, audit_count(budget, weights.audit_share), gold_page_ids, seed)
    rest = scored[~scored["page_id"].isin(audit["page_id"])].reset_index(drop=True)
    picks, skipped = select_diverse(
        rest,
        rest["text"].tolist(),
        rest["predicted_label"].tolist(),
        budget - len(audit),
        max_similarity=max_similarity,
        max_per_class=max_per_class,
        exclude=gold_page_ids,
        diversity=max(weights.diversity, 1.0) if cold else weights.diversity,
        density=max(weights.density, 1.0) if cold else weights.density,
    )
    if cold:
        picks["reason"] = COLD_START_REASON
    else:
        picks["reason"] = [_reason(r, weights) for _, r in picks.iterrows()] if len(picks) else []
    picks = interleave_audit_picks(picks, audit)
    return picks[[*QUEUE_COLUMNS, "text"]], skipped


def audit_count(budget: int, share: float) -> int:
    """Audit picks in a batch of ``budget``: ``round(share * budget)``, at least one when the share
    is positive and the batch has room for a chosen page too."""
    if share <= 0 or budget < 2:
        return 0
    return int(min(budget - 1, max(1, round(share * budget))))


def draw_audit_picks(
    scored: pd.DataFrame, n: int, exclude: set[str] | frozenset[str], seed: int
) -> pd.DataFrame:
    """``n`` pages drawn uniformly at random from those not in ``exclude`` (gold), before the queue
    chooses: the queue's chosen pages are not removed first, so the draw is a sample of the batch.

    Why: queue picks are chosen *because* the models are unsure there, so their gold is no sample of
    the corpus; fitting the label model's LF weights or choosing the aggregator on them measured
    worse than doing neither (``benchmarks/active_learning.py``). Audit gold is a random sample.
    """
    excluded = {str(p) for p in exclude}
    pool = scored[~scored["page_id"].astype(str).isin(excluded)]
    if n <= 0 or pool.empty:
        return scored.iloc[0:0].assign(reason=pd.Series(dtype=object))
    rng = np.random.default_rng(seed)
    audit = pool.iloc[np.sort(rng.choice(len(pool), size=min(n, len(pool)), replace=False))].copy()
    audit["reason"] = AUDIT_REASON
    return audit


def interleave_audit_picks(picks: pd.DataFrame, audit: pd.DataFrame) -> pd.DataFrame:
    """The chosen picks in their order with the audit picks spread evenly between them (never
    first), so a human who stops early still labels some; ranks renumbered from 1."""
    if audit.empty:
        return picks
    n = len(picks) + len(audit)
    slots = np.unique(np.linspace(0, n - 1, len(audit) + 2)[1:-1].round().astype(int))
    if len(slots) < len(audit):  # fewer than two chosen picks to spread them among: after them
        slots = np.arange(len(picks), n)
    order = np.empty(n, dtype=np.int64)
    order[slots] = np.arange(len(picks), n)
    order[np.setdiff1d(np.arange(n), slots)] = np.arange(len(picks))
    merged = pd.concat([picks.drop(columns="queue_rank", errors="ignore"), audit], ignore_index=True)
    merged = merged.iloc[order].reset_index(drop=True)
    merged["queue_rank"] = np.arange(1, n + 1)
    return merged
