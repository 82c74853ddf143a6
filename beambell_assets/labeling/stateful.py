"""Stateful labeling functions: LFs whose state is learned from the gold labels so far.

Continuous weak supervision keeps learning from the humans in the loop: each new batch of gold
labels refits these LFs, and the next ``lf_votes`` uses the new version. Two LFs, always present
(their ``lf_votes`` columns are stable; with no state yet they abstain everywhere):

* ``gold_mined_keywords`` — per class, the terms that occur in at least ``min_df`` gold pages of
  that class and almost only there (class precision >= ``min_precision``); a page votes the class
  whose mined terms it hits most (at least ``min_hits`` distinct terms, and a unique best).
* ``gold_naive_bayes`` — multinomial naive Bayes over the same tokens (presence, not counts), with
  Laplace smoothing; votes when the best class beats the runner-up by ``min_margin_per_token`` nats
  per known token, on pages with at least ``min_tokens`` known tokens.

**Validated before they vote.** A model learned from a handful of gold pages (25 pages over 16
classes, often picked by an active-learning queue for being *unusual*) can be confidently wrong on
most of the corpus, and an aggregator without enough gold to weigh it (majority vote) trusts it
like any hand-written LF. So ``fit_state`` also cross-validates each stateful LF on the gold itself
(``validation_folds`` folds: learned on the other folds, applied to the held-out gold pages) and
keeps the out-of-fold counts (fired, correct); an LF votes only when the one-sided Wilson lower
bound (``validation_z``) of its out-of-fold precision reaches ``min_validated_precision`` — a vote
that is more often right than wrong, with evidence. It starts voting once the gold shows it works.

The state is plain JSON (term lists, a vocabulary and a log-probability table): versioned by a hash
of its content, diffable, and loaded without unpickling anything. Only gold pages on the
*training* side of the gold split (``training/splits.py::gold_roles``) are learned from, so the
evaluation gold never leaks into the LFs, and from them into the classifier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from beambell_assets.labeling.lf_types import ABSTAIN
from beambell_assets.labeling.model_lfs import ModelLF, analyze
from beambell_assets.labeling.task import Task
from beambell_assets.storage.artifacts import ArtifactStore

KEYWORDS_LF = "gold_mined_keywords"
NAIVE_BAYES_LF = "gold_naive_bayes"
STATEFUL_LF_NAMES: tuple[str, ...] = (KEYWORDS_LF, NAIVE_BAYES_LF)
STATE_FORMAT = 1


@dataclass(frozen=True)
class StatefulLFParams:
    min_df: int = 3
    min_precision: float = 0.8
    max_terms_per_class: int = 40
    min_hits: int = 2
    nb_alpha: float = 1.0
    nb_max_vocab: int = 20_000
    min_margin_per_token: float = 0.35
    min_tokens: int = 4
    min_gold: int = 10  # training-side gold pages needed before any state is learned
    min_classes: int = 2
    validation_folds: int = 5  # out-of-fold check of each LF on the gold (0: trust it unchecked)
    min_validated_precision: float = 0.5  # Wilson lower bound of out-of-fold precision to vote
    validation_z: float = 1.645  # one-sided 95 %


@dataclass
class StatefulLFState:
    """What the stateful LFs learned: JSON-serialisable, versioned by content."""

    task: str
    label_names: list[str]
    text_fields: list[str]
    n_gold: int = 0
    gold_by_class: dict[str, int] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)  # class index (str) -> terms
    nb_classes: list[int] = field(default_factory=list)
    nb_vocab: list[str] = field(default_factory=list)
    nb_log_prob: list[list[float]] = field(default_factory=list)  # (classes, vocab)
    params: dict[str, Any] = field(default_factory=dict)
    #: LF name -> [fired, correct] on held-out gold (out-of-fold); absent: not validated (yet)
    validation: dict[str, list[int]] = field(default_factory=dict)
    format: int = STATE_FORMAT

    @property
    def fitted(self) -> bool:
        return bool(self.keywords) or bool(self.nb_classes)

    def validated(self, lf_name: str) -> bool:
        """Whether ``lf_name`` earned its vote: the Wilson lower bound of its out-of-fold precision on
        the gold reaches ``min_validated_precision`` (always, when validation is switched off)."""
        p = self.params
        if int(p.get("validation_folds", StatefulLFParams.validation_folds)) <= 0:
            return True
        fired, correct = self.validation.get(lf_name, (0, 0))
        z = float(p.get("validation_z", StatefulLFParams.validation_z))
        bar = float(p.get("min_validated_precision", StatefulLFParams.min_validated_precision))
        return wilson_lower_bound(correct, fired, z) >= bar

    def content(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def version(self) -> str:
        # the fields as they are (no deep copy: ``asdict`` copied the naive-Bayes table, ~0.5 s a
        # call on 591 long pages, and every LF built from the state asks); the same JSON either way
        shallow = {f.name: getattr(self, f.name) for f in fields(self)}
        blob = json.dumps(shallow, sort_keys=True, separators=(",", ":")).encode()
        return "s" + hashlib.sha256(blob).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, **self.content()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StatefulLFState:
        obj = dict(obj)
        version = obj.pop("version", None)
        if obj.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown stateful-LF state format {obj.get('format')!r}")
        state = cls(**obj)
        if version is not None and version != state.version:
            raise ValueError(f"stateful-LF state does not match its version {version} (edited or corrupt)")
        return state

    @classmethod
    def empty(cls, task: str, label_names: Sequence[str], text_fields: Sequence[str]) -> StatefulLFState:
        return cls(task=task, label_names=list(label_names), text_fields=list(text_fields))


def wilson_lower_bound(successes: int, trials: int, z: float) -> float:
    """Lower end of the Wilson score interval for a proportion (0 with no trials)."""
    if trials <= 0:
        return 0.0
    phat = successes / trials
    denom = 1 + z * z / trials
    centre = phat + z * z / (2 * trials)
    half = z * np.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials))
    return float((centre - half) / denom)


def fit_state(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    task: str,
    label_names: Sequence[str],
    text_fields: Sequence[str] = ("text",),
    params: StatefulLFParams = StatefulLFParams(),
) -> StatefulLFState:
    """Learn the state from gold pages (``labels`` are class indices), and validate each LF on
    them out of fold (``params.validation_folds``)."""
    state, _ = _fit(
        texts,
        labels,
        task=task,
        label_names=label_names,
        text_fields=text_fields,
        params=params,
        cross_fit=params.validation_folds > 0,
    )
    return state


def fit_state_with_out_of_fold_votes(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    task: str,
    label_names: Sequence[str],
    text_fields: Sequence[str] = ("text",),
    params: StatefulLFParams = StatefulLFParams(),
) -> tuple[StatefulLFState, np.ndarray]:
    """:func:`fit_state`, and (n, 2) the stateful LFs' votes on these gold pages as they would vote
    had they not seen the page (cross-fitted on the validation's folds, at least two): what a label
    model may fit on. Their votes on those pages from the state itself are in-sample, right by
    construction, and would make a gold-fitted aggregator trust them far beyond their accuracy
    elsewhere. An LF the state has not validated abstains, as it does everywhere."""
    state, votes = _fit(
        texts,
        labels,
        task=task,
        label_names=label_names,
        text_fields=text_fields,
        params=params,
        cross_fit=True,
    )
    for j, name in enumerate(STATEFUL_LF_NAMES):
        if not state.validated(name):
            votes[:, j] = ABSTAIN
    return state, votes


def _fit(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    task: str,
    label_names: Sequence[str],
    text_fields: Sequence[str],
    params: StatefulLFParams,
    cross_fit: bool,
) -> tuple[StatefulLFState, np.ndarray]:
    """The state learned from all the pages and, with ``cross_fit``, each LF's (unvalidated) votes
    on each page learned without its fold, else all abstaining; the state is validated on those
    votes when ``params.validation_folds`` > 0. The pages are analysed once for every fit."""
    y = np.asarray(labels, dtype=np.int64)
    terms = _gold_terms(texts) if _enough_gold(y, params) else None
    state = _fit_state(y, terms, task=task, label_names=label_names, text_fields=text_fields, params=params)
    votes = np.full((len(y), len(STATEFUL_LF_NAMES)), ABSTAIN, dtype=np.int64)
    if state.fitted and cross_fit and terms is not None:
        votes = _out_of_fold_raw_votes(texts, y, state, params, terms)
        if params.validation_folds > 0:
            fired = votes != ABSTAIN
            state.validation = {
                name: [int(fired[:, j].sum()), int((votes[fired[:, j], j] == y[fired[:, j]]).sum())]
                for j, name in enumerate(STATEFUL_LF_NAMES)
            }
    return state, votes


@dataclass(frozen=True)
class _GoldTerms:
    """Every gold page's terms, analysed once per fit (not once per fold): the binary page-term
    matrix over the alphabetically sorted vocabulary of all the pages."""

    x: sp.csr_matrix
    vocab: np.ndarray


def _gold_terms(texts: Sequence[str]) -> _GoldTerms:
    vec = CountVectorizer(analyzer=analyze, binary=True)
    x = vec.fit_transform(list(texts))
    return _GoldTerms(sp.csr_matrix(x), np.asarray(vec.get_feature_names_out()))


def _term_matrix(terms: _GoldTerms, rows: np.ndarray, max_features: int | None) -> tuple[Any, np.ndarray]:
    """The page-term matrix (CSC) and vocabulary of ``rows``, exactly as
    ``CountVectorizer(analyzer=analyze, binary=True, max_features=...)`` fitted on those pages gives
    them: the terms they contain, alphabetically, limited to the ``max_features`` most frequent
    (ties as sklearn breaks them: the same default ``argsort`` on the same array)."""
    sub = terms.x[rows]
    df = np.asarray(sub.sum(axis=0)).ravel()
    cols = np.flatnonzero(df > 0)
    if not len(cols):
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    if max_features is not None and len(cols) > max_features:
        cols = np.sort(cols[(-df[cols]).argsort()[:max_features]])
    return sub[:, cols].tocsc(), terms.vocab[cols]


def _enough_gold(y: np.ndarray, params: StatefulLFParams) -> bool:
    """Enough gold pages, of enough classes, to learn anything from."""
    return len(y) >= params.min_gold and len(np.unique(y)) >= params.min_classes


def _out_of_fold_raw_votes(
    texts: Sequence[str],
    y: np.ndarray,
    state: StatefulLFState,
    params: StatefulLFParams,
    terms: _GoldTerms,
) -> np.ndarray:
    """(n, 2) votes of each stateful LF (unvalidated) on each gold page, learned without the page's
    fold (k folds, deterministic: pages dealt round-robin within each class, so every fold sees
    every class); abstain where a fold learned nothing."""
    folds = max(2, min(params.validation_folds, len(y)))
    fold_of = np.zeros(len(y), dtype=np.int64)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        fold_of[rows] = np.arange(len(rows)) % folds
    text_arr = np.asarray(list(texts), dtype=object)
    votes = np.full((len(y), len(STATEFUL_LF_NAMES)), ABSTAIN, dtype=np.int64)
    for f in range(folds):
        held = fold_of == f
        if not held.any() or held.all():
            continue
        inner = _fit_state(
            y[~held],
            terms,
            np.flatnonzero(~held),
            task=state.task,
            label_names=state.label_names,
            text_fields=state.text_fields,
            params=params,
        )
        if not inner.fitted:
            continue
        inner_lfs = (GoldKeywordLF(inner, validate=False), GoldNaiveBayesLF(inner, validate=False))
        for j, lf in enumerate(inner_lfs):
            votes[held, j] = lf.votes_for_texts(text_arr[held].tolist())
    return votes


#: Artifact key (under the stateful-LF asset) of the cross-fitted votes on the state's own gold pages.
OUT_OF_FOLD_KEY = "out_of_fold_votes"


def out_of_fold_frame(page_ids: Sequence[str], votes: np.ndarray, state: StatefulLFState) -> pd.DataFrame:
    """The cross-fitted votes (:func:`fit_state_with_out_of_fold_votes`) as a frame: ``page_id``,
    ``state_version`` and one column per stateful LF."""
    frame = pd.DataFrame(
        np.asarray(votes, dtype=np.int64).reshape(-1, len(STATEFUL_LF_NAMES)), columns=list(STATEFUL_LF_NAMES)
    )
    return frame.assign(page_id=[str(p) for p in page_ids], state_version=state.version)[
        ["page_id", "state_version", *STATEFUL_LF_NAMES]
    ]


def with_out_of_fold_votes(votes: pd.DataFrame, out_of_fold: pd.DataFrame | None) -> tuple[pd.DataFrame, int]:
    """``votes`` (a vote frame with the stateful LF columns) with the rows of the state's own gold
    pages voted out of fold; and how many rows were replaced. The label model fits on these: the
    in-sample votes are right by construction on exactly the gold rows that anchor and choose it."""
    if out_of_fold is None or out_of_fold.empty or not set(STATEFUL_LF_NAMES) <= set(votes.columns):
        return votes, 0
    lookup = out_of_fold.drop_duplicates("page_id", keep="last").set_index("page_id")
    hit = votes["page_id"].astype(str).isin(lookup.index).to_numpy()
    if not hit.any():
        return votes, 0
    out = votes.copy()
    rows = lookup.loc[out.loc[hit, "page_id"].astype(str), list(STATEFUL_LF_NAMES)].to_numpy(dtype=np.int64)
    out.loc[hit, list(STATEFUL_LF_NAMES)] = rows
    return out, int(hit.sum())


def _fit_state(
    y: np.ndarray,
    terms: _GoldTerms | None,
    rows: np.ndarray | None = None,
    *,
    task: str,
    label_names: Sequence[str],
    text_fields: Sequence[str],
    params: StatefulLFParams,
) -> StatefulLFState:
    """The state learned from the pages ``rows`` of ``terms`` (default: all), whose classes are
    ``y``; ``terms`` may be None only when there is too little gold to learn anything."""
    k = len(label_names)
    state = StatefulLFState.empty(task, label_names, text_fields)
    state.params = asdict(params)
    state.n_gold = len(y)
    state.gold_by_class = {label_names[c]: int((y == c).sum()) for c in range(k) if (y == c).any()}
    if not _enough_gold(y, params):
        return state
    present = sorted({int(c) for c in y})
    assert terms is not None, "enough gold to learn from, but its terms were not analysed"
    x, vocab = _term_matrix(terms, np.arange(len(y)) if rows is None else rows, params.nb_max_vocab)
    onehot = np.zeros((len(y), len(present)))
    onehot[np.arange(len(y)), [present.index(int(c)) for c in y]] = 1.0
    df_by_class = np.asarray(x.T @ onehot).T  # (classes, vocab) doc frequency per class
    df_total = df_by_class.sum(axis=0)

    for ci, c in enumerate(present):
        dfc = df_by_class[ci]
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(df_total > 0, dfc / df_total, 0.0)
        ok = np.flatnonzero((dfc >= params.min_df) & (precision >= params.min_precision))
        ranked = ok[np.lexsort((vocab[ok], -precision[ok], -dfc[ok]))][: params.max_terms_per_class]
        if len(ranked):
            state.keywords[str(c)] = sorted(vocab[ranked].tolist())

    # Multinomial naive Bayes over term presence (a page counts a term once), Laplace-smoothed.
    counts = df_by_class + params.nb_alpha
    log_prob = np.log(counts / counts.sum(axis=1, keepdims=True))
    state.nb_classes = present
    state.nb_vocab = vocab.tolist()
    state.nb_log_prob = np.round(log_prob, 6).tolist()
    return state


class GoldKeywordLF(ModelLF):
    """Votes the class whose gold-mined terms a page hits most (see the module docstring)."""

    kind = "gold_keywords"

    def __init__(self, state: StatefulLFState, min_hits: int | None = None, *, validate: bool = True) -> None:
        self.state_version = state.version
        self.min_hits = int(min_hits or state.params.get("min_hits", StatefulLFParams.min_hits))
        self.term_classes: dict[str, list[int]] = {}
        keywords = state.keywords if not validate or state.validated(KEYWORDS_LF) else {}
        for c, terms in keywords.items():
            for term in terms:
                self.term_classes.setdefault(term, []).append(int(c))
        super().__init__(KEYWORDS_LF, labels=range(len(state.label_names)), fields=state.text_fields)

    def votes_for_texts(self, texts: Sequence[str]) -> np.ndarray:
        out = np.full(len(texts), ABSTAIN, dtype=np.int64)
        if not self.term_classes:
            return out
        for i, text in enumerate(texts):
            hits: dict[int, int] = {}
            for term in set(analyze(text)):
                for c in self.term_classes.get(term, ()):
                    hits[c] = hits.get(c, 0) + 1
            if not hits:
                continue
            ranked = sorted(hits.values(), reverse=True)
            best = max(hits, key=lambda c: (hits[c], -c))
            if ranked[0] >= self.min_hits and (len(ranked) == 1 or ranked[0] > ranked[1]):
                out[i] = best
        return out


class GoldNaiveBayesLF(ModelLF):
    """Naive Bayes over gold pages; votes only with a clear per-token margin."""

    kind = "gold_naive_bayes"

    def __init__(self, state: StatefulLFState, *, validate: bool = True) -> None:
        self.state_version = state.version
        p = state.params
        voting = not validate or state.validated(NAIVE_BAYES_LF)
        default_margin = StatefulLFParams.min_margin_per_token
        self.min_margin_per_token = float(p.get("min_margin_per_token", default_margin))
        self.min_tokens = int(p.get("min_tokens", StatefulLFParams.min_tokens))
        self.classes = np.asarray(state.nb_classes, dtype=np.int64)
        log_prob = np.asarray(state.nb_log_prob, dtype=float)
        self.log_prob = log_prob.reshape(len(self.classes), -1) if log_prob.size else np.zeros((0, 0))
        self.vectorizer = (
            CountVectorizer(analyzer=analyze, binary=True, vocabulary=state.nb_vocab)
            if state.nb_vocab and voting
            else None
        )
        super().__init__(NAIVE_BAYES_LF, labels=range(len(state.label_names)), fields=state.text_fields)

    def votes_for_texts(self, texts: Sequence[str]) -> np.ndarray:
        if self.vectorizer is None or len(self.classes) < 2 or not len(texts):
            return np.full(len(texts), ABSTAIN, dtype=np.int64)
        x = self.vectorizer.transform(list(texts))
        n_tokens = np.asarray(x.sum(axis=1)).ravel()
        jll = np.asarray(x @ self.log_prob.T)
        order = np.argsort(-jll, axis=1, kind="stable")
        rows = np.arange(len(texts))
        margin = jll[rows, order[:, 0]] - jll[rows, order[:, 1]]
        fire = (n_tokens >= self.min_tokens) & (margin / np.maximum(n_tokens, 1) >= self.min_margin_per_token)
        return np.where(fire, self.classes[order[:, 0]], ABSTAIN).astype(np.int64)


def build_stateful_lfs(state: StatefulLFState) -> list[ModelLF]:
    """The stateful LFs for a state (each abstains everywhere until it learned something *and* its
    out-of-fold precision on the gold validated it)."""
    return [GoldKeywordLF(state), GoldNaiveBayesLF(state)]


def load_current_state(store: ArtifactStore, asset: str, task: Task) -> StatefulLFState:
    """The newest state the ``asset`` wrote for ``task`` (``<asset>/current.json``), else an empty one.

    A state learned for another label space (the task changed) is ignored, not misapplied.
    """
    empty = StatefulLFState.empty(task.name, task.label_names, (task.text_field,))
    if not store.exists(asset, "current.json"):
        return empty
    state = StatefulLFState.from_json(store.read_json(asset, "current"))
    if state.task != task.name or tuple(state.label_names) != tuple(task.label_names):
        return empty
    return state


def save_state(store: ArtifactStore, asset: str, state: StatefulLFState) -> str:
    """Write ``<asset>/<version>.json`` (kept: every version stays inspectable) and ``current.json``."""
    store.write_json(asset, state.version, state.to_json())
    store.write_json(asset, "current", state.to_json())
    return state.version
