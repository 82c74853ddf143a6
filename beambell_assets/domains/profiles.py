"""Domain profiles: what kind of site a domain is, from its pages' predictions and LF votes.

Incremental by construction. Per landed partition, :func:`domain_partials` sums each site's page
evidence into one *partial* row keyed ``(partition_key, registered_domain)``; a domain's profile is
:func:`combine` over all its partials plus the domain-level LFs. A new partition therefore only
adds partials and recomputes the profiles of the domains it holds (``store.py``).

How a profile is decided (simple and explainable, because users read the evidence):

* each page contributes a distribution over the page task's classes: the classifier's top label
  with its probability (the rest spread evenly) when the page was scored, else the share of LF
  votes per class, else nothing;
* each domain LF that fires adds ``domain_lf_weight`` pages' worth of mass to its class, so a
  ``.gov`` suffix outweighs one weak page prediction but not fifty confident ones;
* the category is the heaviest class; the confidence is its share of the mass.

Partials also keep per-page majority-vote labels, the baseline the domain report compares with.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from beambell_assets.domains.suffix import parse_url
from beambell_assets.labeling.lf_types import ABSTAIN

MAX_PATHS_PER_PARTIAL = 50
MAX_PATHS_PER_DOMAIN = 300
MAX_HOSTS = 20
DEFAULT_DOMAIN_LF_WEIGHT = 2.0

PARTIAL_COLUMNS = [
    "registered_domain",
    "public_suffix",
    "is_private_suffix",
    "is_ip",
    "n_pages",
    "n_predicted",
    "n_voted",
    "page_mass_json",
    "pred_counts_json",
    "lf_votes_json",
    "mv_counts_json",
    "hosts_json",
    "paths_json",
]


def page_distributions(
    n_pages: int,
    k: int,
    pred_index: np.ndarray | None = None,
    pred_prob: np.ndarray | None = None,
    L: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(q, has_evidence)``: per page a distribution over ``k`` classes (zeros when no evidence).

    ``pred_index`` is the classifier's class per page (-1 = not scored), ``pred_prob`` its
    probability; ``L`` the page task's label matrix (-1 = abstain).
    """
    q = np.zeros((n_pages, k))
    done = np.zeros(n_pages, dtype=bool)
    if pred_index is not None and pred_prob is not None:
        scored = pred_index >= 0
        p = np.clip(np.nan_to_num(pred_prob.astype(float), nan=1.0 / k), 0.0, 1.0)
        q[scored] = ((1.0 - p[scored]) / (k - 1))[:, None]
        q[np.flatnonzero(scored), pred_index[scored]] = p[scored]
        done |= scored
    if L is not None and L.size:
        counts = vote_counts(L, k)
        totals = counts.sum(axis=1)
        use = ~done & (totals > 0)
        q[use] = counts[use] / totals[use, None]
        done |= use
    return q, done


def vote_counts(L: np.ndarray, k: int) -> np.ndarray:
    """Votes per class per row of a label matrix (abstains ignored)."""
    counts = np.zeros((L.shape[0], k), dtype=np.int64)
    for c in range(k):
        counts[:, c] = np.count_nonzero(np.equal(L, c), axis=1)
    return counts


def majority_vote(L: np.ndarray, k: int) -> np.ndarray:
    """Per row the most-voted class; -1 when no LF voted or the top classes tie (Snorkel's default)."""
    if L.size == 0:
        return np.full(L.shape[0], ABSTAIN, dtype=np.int64)
    counts = vote_counts(L, k)
    top = counts.argmax(axis=1)
    best = counts.max(axis=1)
    ties = (counts == best[:, None]).sum(axis=1) > 1
    return np.where((best > 0) & ~ties, top, ABSTAIN).astype(np.int64)


def domain_partials(
    features: pd.DataFrame,
    label_names: Sequence[str],
    predictions: pd.DataFrame | None = None,
    L: np.ndarray | None = None,
) -> pd.DataFrame:
    """One partial row per site among ``features`` (``page_id``, ``url``, optional ``url_path``).

    ``predictions`` (``page_id``, ``label``, ``probability``) may cover some or none of the pages;
    ``L`` is the page task's label matrix aligned with ``features`` rows (or None).
    """
    names = list(label_names)
    k, n = len(names), len(features)
    if n == 0:
        return pd.DataFrame(columns=PARTIAL_COLUMNS)
    index = {name: i for i, name in enumerate(names)}
    pred_index = pred_prob = None
    if predictions is not None and len(predictions):
        by_page = predictions.drop_duplicates("page_id", keep="last").set_index("page_id")
        aligned = by_page.reindex(features["page_id"].to_numpy())
        pred_index = np.array(
            [index.get(lbl, -1) if isinstance(lbl, str) else -1 for lbl in aligned["label"]]
        )
        pred_prob = aligned["probability"].to_numpy(dtype=float)
    q, _ = page_distributions(n, k, pred_index, pred_prob, L)
    mv = majority_vote(L, k) if L is not None else np.full(n, ABSTAIN)
    votes = vote_counts(L, k) if L is not None else np.zeros((n, k), dtype=np.int64)
    urls = features["url"].astype(str).tolist()
    paths = features["url_path"].astype(str).tolist() if "url_path" in features.columns else ["/"] * n
    parts = [parse_url(u) for u in urls]
    frame = pd.DataFrame({"site": [p.registered_domain for p in parts], "row": np.arange(n)})
    rows = []
    for site, group in frame[frame["site"] != ""].groupby("site", sort=True):
        idx = group["row"].to_numpy()
        first = parts[idx[0]]
        scored = pred_index[idx] if pred_index is not None else np.full(len(idx), -1)
        rows.append(
            {
                "registered_domain": site,
                "public_suffix": first.public_suffix,
                "is_private_suffix": int(first.is_private_suffix),
                "is_ip": int(first.is_ip),
                "n_pages": len(idx),
                "n_predicted": int((scored >= 0).sum()),
                "n_voted": int((votes[idx].sum(axis=1) > 0).sum()),
                "page_mass_json": _class_json(q[idx].sum(axis=0), names),
                "pred_counts_json": _counts_json(scored, names),
                "lf_votes_json": _class_json(votes[idx].sum(axis=0), names),
                "mv_counts_json": _counts_json(mv[idx], names),
                "hosts_json": json.dumps(sorted({parts[i].host for i in idx})[:MAX_HOSTS]),
                "paths_json": json.dumps(sorted({paths[i] for i in idx})[:MAX_PATHS_PER_PARTIAL]),
            }
        )
    return pd.DataFrame(rows, columns=PARTIAL_COLUMNS)


def _class_json(values: np.ndarray, names: Sequence[str]) -> str:
    return json.dumps({names[c]: round(float(v), 6) for c, v in enumerate(values) if v}, sort_keys=True)


def _counts_json(labels: np.ndarray, names: Sequence[str]) -> str:
    return json.dumps({names[int(c)]: int(v) for c, v in Counter(labels[labels >= 0].tolist()).items()})


# --------------------------------------------------------------------------- combining


def _sum_json(rows: Iterable[Mapping[str, Any]], column: str) -> Counter[str]:
    total: Counter[str] = Counter()
    for r in rows:
        total.update(json.loads(r[column] or "{}"))
    return total


def domain_row(registered_domain: str, partials: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the domain LFs read about a site, merged over its partials."""
    hosts: list[str] = []
    paths: list[str] = []
    for r in partials:
        hosts += [h for h in json.loads(r["hosts_json"] or "[]") if h not in hosts]
        paths += json.loads(r["paths_json"] or "[]")
    first = partials[0] if partials else {}
    return {
        "registered_domain": registered_domain,
        "public_suffix": first.get("public_suffix") or "",
        "hosts": " ".join(hosts[:MAX_HOSTS]),
        "paths": "\n".join(sorted(set(paths))[:MAX_PATHS_PER_DOMAIN]),
        "n_pages": int(sum(int(r["n_pages"]) for r in partials)),
    }


@dataclass(frozen=True)
class DomainDecision:
    category: str | None
    confidence: float
    class_mass: dict[str, float]
    domain_lf_votes: dict[str, str]  # LF name -> label it voted


def decide(
    page_mass: Mapping[str, float],
    domain_lf_votes: Mapping[str, str],
    label_names: Sequence[str],
    domain_lf_weight: float = DEFAULT_DOMAIN_LF_WEIGHT,
) -> DomainDecision:
    """Category and confidence from summed page mass plus weighted domain-LF votes."""
    mass = {name: float(page_mass.get(name, 0.0)) for name in label_names}
    for label in domain_lf_votes.values():
        mass[label] = mass.get(label, 0.0) + domain_lf_weight
    total = sum(mass.values())
    if total <= 0:
        return DomainDecision(None, 0.0, {}, dict(domain_lf_votes))
    order = list(label_names)
    category = max(order, key=lambda name: (mass[name], -order.index(name)))
    shares = {k: round(v / total, 4) for k, v in sorted(mass.items(), key=lambda kv: -kv[1]) if v > 0}
    return DomainDecision(category, round(mass[category] / total, 4), shares, dict(domain_lf_votes))


def apply_domain_lfs(
    row: Mapping[str, Any], lfs: Sequence[LabelingFunction], label_names: Sequence[str]
) -> dict[str, str]:
    """LF name -> label name for the domain LFs that vote on this domain row (faults abstain)."""
    votes = {}
    for lf in lfs:
        try:
            v = int(lf(row))
        except Exception:
            continue
        if v != ABSTAIN:
            votes[lf.name] = label_names[v]
    return votes


def combine(
    registered_domain: str,
    partials: Sequence[Mapping[str, Any]],
    lfs: Sequence[LabelingFunction],
    label_names: Sequence[str],
    domain_lf_weight: float = DEFAULT_DOMAIN_LF_WEIGHT,
) -> dict[str, Any]:
    """The profile row of one domain from all of its partials (see the module docstring)."""
    partials = sorted(partials, key=lambda r: str(r.get("partition_key", "")))
    row = domain_row(registered_domain, partials)
    lf_votes = apply_domain_lfs(row, lfs, label_names)
    page_mass = _sum_json(partials, "page_mass_json")
    decision = decide(page_mass, lf_votes, label_names, domain_lf_weight)
    pred_counts = _sum_json(partials, "pred_counts_json")
    mv_counts = _sum_json(partials, "mv_counts_json")
    first = partials[0] if partials else {}
    keys = [str(r.get("partition_key", "")) for r in partials]
    evidence = {
        "n_pages": row["n_pages"],
        "n_partitions": len(partials),
        "n_predicted": int(sum(int(r["n_predicted"]) for r in partials)),
        "n_voted": int(sum(int(r["n_voted"]) for r in partials)),
        "predicted_labels": dict(pred_counts.most_common()),
        "majority_vote_labels": dict(mv_counts.most_common()),
        "lf_votes": dict(_sum_json(partials, "lf_votes_json").most_common(5)),
        "domain_lfs": lf_votes,
        "hosts": row["hosts"].split()[:5],
    }
    return {
        "registered_domain": registered_domain,
        "public_suffix": first.get("public_suffix") or "",
        "is_private_suffix": int(first.get("is_private_suffix") or 0),
        "is_ip": int(first.get("is_ip") or 0),
        "n_pages": row["n_pages"],
        "n_partitions": len(partials),
        "category": decision.category,
        "confidence": decision.confidence,
        "class_mass_json": json.dumps(decision.class_mass),
        "evidence_json": json.dumps(evidence),
        "baseline_category": majority_of(mv_counts, label_names),
        "first_partition": min(keys) if keys else None,
        "last_partition": max(keys) if keys else None,
    }


def majority_of(counts: Mapping[str, int], label_names: Sequence[str]) -> str | None:
    """The most frequent label (ties to the label listed first); None when there are no counts."""
    if not counts or not any(counts.values()):
        return None
    order = list(label_names)
    return max(counts, key=lambda name: (counts[name], -order.index(name) if name in order else -len(order)))
