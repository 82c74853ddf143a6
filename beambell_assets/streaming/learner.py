"""Everything the stream learns, as one plain object: what the Beam pipeline keeps in keyed state.

A :class:`StreamLearner` holds, for one task:

* the label model's sufficient statistics (:class:`VoteStatistics`, updated page by page) and the
  label model fitted from them: the closed-form triplet fit every ``triplet_every`` pages, Snorkel's
  ``LabelModel`` every ``snorkel_every`` pages (the newer fit wins). Snorkel's fit takes seconds: it
  runs in a worker process on a snapshot of the statistics and takes effect ``snorkel_lag`` pages
  later (:mod:`~beambell_assets.streaming.background_fit`), so the pages meanwhile are not held up;
* the online end model (:class:`OnlineSoftClassifier`), trained on every covered page's label-model
  probabilities and on training-side gold. Its featurisation, targets and calibration follow the
  champion's gold-free end-model choice (``end_model_spec`` of its registry metrics, see
  :mod:`~beambell_assets.streaming.online_features`); with no champion yet, hashed words, soft
  labels, uncalibrated. A champion whose features or targets differ from the online model's starts
  a new online model (a new version ``online-<features>.<targets>-<updates>``, counted in
  ``online_models``): weights learned on other features cannot carry over; it is kept, written to
  Beam state and checkpointed like the old one, and predicts once it has learned
  ``online_min_pages`` pages. A change of calibration alone is switched on the model in place (its
  calibration is fitted on its own prequential predictions). A champion that goes away leaves the
  online model as it is;
* the stateful LFs' state (:mod:`beambell_assets.labeling.stateful`), refitted from training-side
  gold as feedback arrives; the next pages are voted on with the new version;
* the gold it has seen (page id, text, label, role) and prequential scores: each evaluation-side gold
  page is predicted by the champion, the online model and the label model *before* anything learns
  from it, so the online model's quality against the champion is measured on the same pages;
* the position of the last stream message it applied (so a restart never applies a page twice).

Per page, the learner first predicts (champion if there is one, else the online model once it has
learned from ``online_min_pages`` pages, else the label model) and then learns. Nothing here knows
about Beam, Redis or the warehouse: the pipeline feeds it chunks and persists what it returns.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.stateful import (
    STATEFUL_LF_NAMES,
    StatefulLFParams,
    StatefulLFState,
    build_stateful_lfs,
    fit_state,
)
from beambell_assets.labeling.task import Task
from beambell_assets.streaming.background_fit import PendingFit, SnorkelFitter
from beambell_assets.streaming.label_models import (
    StreamLabelModel,
    fit_snorkel,
    fit_triplet,
    majority_vote_model,
)
from beambell_assets.streaming.online_features import (
    DEFAULT_SPEC,
    ENCODER_FALLBACK,
    OnlineSpec,
    spec_from_end_model,
)
from beambell_assets.streaming.online_model import OnlineSoftClassifier
from beambell_assets.streaming.statistics import ABSTAIN, VoteStatistics
from beambell_assets.training.splits import GoldPolicy, gold_roles

log = logging.getLogger(__name__)

PREDICTOR_CHAMPION = "champion"
PREDICTOR_ONLINE = "online_model"
PREDICTOR_LABEL_MODEL = "label_model"
PREDICTORS = (PREDICTOR_CHAMPION, PREDICTOR_ONLINE, PREDICTOR_LABEL_MODEL)


@dataclass(frozen=True)
class LearnerConfig:
    """How the stream learns (``BEAMBELL_STREAM_*`` settings)."""

    decay: float = 1.0  # per page; 1.0 = every page counts the same
    triplet_every: int = 100
    snorkel_every: int = 2000
    snorkel_epochs: int = 500
    #: Snorkel's fit from the statistics at page P takes effect at page P + this (capped at half of
    #: ``snorkel_every``); meanwhile it runs in a worker process. 0: fitted inline at P.
    snorkel_lag: int = 1000
    online_min_pages: int = 300
    #: The online model takes one SGD step (plus replay) per this many covered pages: a step has a
    #: fixed cost (one binary problem per class), and the model's Beam state is rewritten per step.
    online_update_every: int = 64
    online_alpha: float = 1e-5
    online_replay_size: int = 4000
    online_replay_passes: int = 2
    prior_source: str = "posterior"  # gold-free class prior: online EM ("posterior") or "majority_vote"
    seed: int = 0

    def online_model(
        self, n_classes: int, n_lfs: int, spec: OnlineSpec = DEFAULT_SPEC, encoder_path: str | None = None
    ) -> OnlineSoftClassifier:
        """A new online end model with this config's settings (the learner's, and benchmarks')."""
        return OnlineSoftClassifier(
            n_classes,
            n_lfs,
            alpha=self.online_alpha,
            replay_size=self.online_replay_size,
            replay_passes=self.online_replay_passes,
            seed=self.seed,
            spec=spec,
            encoder_path=encoder_path,
        )


@dataclass
class Champion:
    """The registry's champion as the stream scores with it; ``end_model`` its chosen end model
    (``training.end_model.end_model_spec`` of its metrics), which the online model follows."""

    version: str
    model: Any
    end_model: dict[str, Any] | None = None


@dataclass(frozen=True)
class Position:
    """A Redis stream id ``<ms>-<seq>``, ordered numerically."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, message_id: str) -> Position:
        ms, _, seq = str(message_id).partition("-")
        return cls(int(ms), int(seq or 0))

    def __lt__(self, other: Position) -> bool:
        return (self.ms, self.seq) < (other.ms, other.seq)

    def __le__(self, other: Position) -> bool:
        return (self.ms, self.seq) <= (other.ms, other.seq)

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


@dataclass
class PagePrediction:
    message_id: str
    page_id: str
    url: str
    label: str
    probability: float
    model_version: str
    predictor: str
    lf_votes: dict[str, str]


@dataclass
class Prequential:
    """Confusion counts (gold x predicted) per predictor on evaluation-side gold."""

    k: int
    confusion: dict[str, list[list[int]]] = field(default_factory=dict)

    def add(self, predictor: str, gold: int, predicted: int) -> None:
        mat = self.confusion.setdefault(predictor, [[0] * self.k for _ in range(self.k)])
        mat[gold][predicted] += 1

    def scores(self) -> dict[str, dict[str, float | int]]:
        out: dict[str, dict[str, float | int]] = {}
        for name, mat in self.confusion.items():
            c = np.asarray(mat, dtype=float)
            n = int(c.sum())
            present = c.sum(axis=1) > 0
            tp = np.diag(c)
            prec = np.divide(tp, c.sum(axis=0), out=np.zeros(self.k), where=c.sum(axis=0) > 0)
            rec = np.divide(tp, c.sum(axis=1), out=np.zeros(self.k), where=c.sum(axis=1) > 0)
            f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(self.k), where=(prec + rec) > 0)
            out[name] = {
                "n_gold": n,
                "accuracy": float(tp.sum() / n) if n else float("nan"),
                "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
            }
        return out


class StreamLearner:
    """See the module docstring."""

    def __init__(
        self, task: Task, config: LearnerConfig | None = None, gold_policy: GoldPolicy | None = None
    ) -> None:
        self.task = task
        self.config = config = config or LearnerConfig()
        self.gold_policy = gold_policy or GoldPolicy()
        self.lf_names: list[str] = [*task.lf_names, *STATEFUL_LF_NAMES]
        self.m, self.k = len(self.lf_names), task.cardinality
        self.stats = VoteStatistics(self.m, self.k, decay=config.decay)
        self.label_model: StreamLabelModel = majority_vote_model(self.stats)
        self.online = self._new_online(DEFAULT_SPEC)
        self.lf_state = StatefulLFState.empty(task.name, task.label_names, (task.text_field,))
        self._stateful_applier: FastLFApplier | None = None
        self._appliers: dict[str, FastLFApplier] | None = None  # shared cache, see bind()
        #: Covered pages not yet learned by the online model: (texts, probabilities, L rows); they are
        #: featurised when learned, by the online model of that moment.
        self._pending: list[tuple[list[str], np.ndarray, np.ndarray]] = []
        self.gold = pd.DataFrame(columns=["page_id", "text", "label", "source"])
        self.prequential = Prequential(self.k)
        self.last_applied: Position | None = None
        self.counters: dict[str, int] = {
            "pages": 0,
            "pages_applied": 0,
            "triplet_fits": 0,
            "snorkel_fits": 0,
            "feedback": 0,
            "gold_train": 0,
            "gold_eval": 0,
            "lf_state_versions": 0,
            "online_models": 1,
        }
        self.predictor_counts: dict[str, int] = dict.fromkeys(PREDICTORS, 0)
        self._pages_at_triplet = 0
        self._pages_at_snorkel = 0
        self._snorkel_pending: PendingFit | None = None
        self._fitter: SnorkelFitter | None = None  # a process-level resource, see bind()
        self.last_refit: dict[str, Any] = {}
        self.last_snorkel: dict[str, Any] = {}  # the last Snorkel fit (triplet fits follow it)
        self.lf_faults: dict[str, int] = {}
        self._fingerprint = task.fingerprint()

    # ------------------------------------------------------------------ as Beam state

    def __getstate__(self) -> dict[str, Any]:
        """Beam keeps the learner in keyed state: the task (LF code) and caches are not part of it."""
        state = dict(self.__dict__)
        state["task"] = None
        state["_stateful_applier"] = None
        state["_appliers"] = None
        state["_fitter"] = None
        return state

    def bind(
        self,
        task: Task,
        appliers: dict[str, FastLFApplier] | None = None,
        fitter: SnorkelFitter | None = None,
    ) -> StreamLearner:
        """Attach the task after the learner came back from state; ``appliers`` is a cache of
        stateful-LF appliers by state version that outlives the learner (it holds code, not state);
        ``fitter`` runs Snorkel's fits off the stream's path (without one they run inline)."""
        if task.fingerprint() != self._fingerprint:
            raise ValueError(
                f"the learned state is for another label space or LF set than task {task.name!r}"
            )
        self.task = task
        self._appliers = appliers
        self._fitter = fitter
        return self

    def detach(self) -> OnlineSoftClassifier:
        """Hand the online model over to be kept in its own state cell (see ``pipeline.Learn``); the
        learner holds none until it is given one again."""
        online, self.online = self.online, None
        return online

    # ------------------------------------------------------------------ the online model's spec

    def _new_online(self, spec: OnlineSpec, encoder_path: str | None = None) -> OnlineSoftClassifier:
        return self.config.online_model(self.k, self.m, spec, encoder_path)

    def follow_champion(self, champion: Champion | None) -> bool:
        """Make the online model's featurisation, targets and calibration the champion's end-model
        choice; True when that started a new online model (the old one's pending pages go to the
        new one). Calibration alone does not: it is switched on the model that has learned."""
        if champion is None or champion.end_model is None:
            return False
        encoder = None
        if champion.end_model.get("features") in ENCODER_FALLBACK:
            from beambell_assets.training.encoder import configured_encoder

            encoder = configured_encoder()
        spec = spec_from_end_model(champion.end_model, encoder)
        if spec == self.online.spec:
            return False
        if spec.model_spec == self.online.spec.model_spec:  # only the calibration changes
            log.info(
                "online model follows champion %s: %s -> %s", champion.version, self.online.spec.tag, spec.tag
            )
            self.online.set_spec(spec)
            return False
        old = self.online
        self.online = self._new_online(spec, encoder)
        self.counters["online_models"] = self.counters.get("online_models", 1) + 1
        log.info(
            "online model follows champion %s: %s -> %s (was %s)",
            champion.version,
            old.spec.tag,
            spec.tag,
            old.version,
        )
        return True

    # ------------------------------------------------------------------ votes

    @property
    def stateful_applier(self) -> FastLFApplier:
        if self._stateful_applier is None:
            version = self.lf_state.version
            cached = self._appliers.get(version) if self._appliers is not None else None
            if cached is None:
                cached = FastLFApplier(build_stateful_lfs(self.lf_state), n_jobs=1)
                if self._appliers is not None:
                    self._appliers.clear()
                    self._appliers[version] = cached
            self._stateful_applier = cached
        return self._stateful_applier

    def votes(self, features: pd.DataFrame, L_task: np.ndarray) -> np.ndarray:
        """The full label matrix: the task's LF votes (computed upstream) + the stateful LFs' votes."""
        if len(features) == 0:
            return np.zeros((0, self.m), dtype=np.int64)
        L_state, _ = self.stateful_applier.apply(features)
        return np.hstack([np.asarray(L_task, dtype=np.int64), L_state])

    def fired(self, row: np.ndarray) -> dict[str, str]:
        return {self.lf_names[j]: self.task.label_names[v] for j, v in enumerate(row) if v != ABSTAIN}

    # ------------------------------------------------------------------ pages

    def _texts(self, features: pd.DataFrame) -> list[str]:
        return features[self.task.text_field].fillna("").astype(str).tolist()

    def predict(
        self, features: pd.DataFrame, L: np.ndarray, champion: Champion | None
    ) -> tuple[np.ndarray, str, str]:
        """(n, k) probabilities, the predictor's name and its model version."""
        if champion is not None:
            return (
                np.asarray(champion.model.predict_proba(self._texts(features))),
                PREDICTOR_CHAMPION,
                champion.version,
            )
        if self.online.fitted and self.online.pages_learned >= self.config.online_min_pages:
            return self.online.predict_proba(self._texts(features)), PREDICTOR_ONLINE, self.online.version
        return (
            self.label_model.predict_proba(L),
            PREDICTOR_LABEL_MODEL,
            f"{self.label_model.method}:{self.label_model.version}",
        )

    def process_pages(
        self,
        message_ids: Sequence[str],
        features: pd.DataFrame,
        L_task: np.ndarray,
        champion: Champion | None = None,
        apply: np.ndarray | None = None,
    ) -> list[PagePrediction]:
        """Predict each page, then learn from it. ``apply[i]`` False: the page's contribution is
        already in the state (a redelivery after a restart): predict only."""
        n = len(features)
        if n == 0:
            return []
        apply = np.ones(n, dtype=bool) if apply is None else np.asarray(apply, dtype=bool).copy()
        positions = [Position.parse(m) for m in message_ids]
        if self.last_applied is not None:
            apply &= np.array([self.last_applied < p for p in positions])
        self.follow_champion(champion)
        L = self.votes(features, L_task)
        probs, predictor, version = self.predict(features, L, champion)
        top = probs.argmax(axis=1)
        out = [
            PagePrediction(
                message_id=str(message_ids[i]),
                page_id=str(features["page_id"].iloc[i]),
                url=str(features["url"].iloc[i]),
                label=self.task.label_names[int(top[i])],
                probability=float(probs[i, top[i]]),
                model_version=version,
                predictor=predictor,
                lf_votes=self.fired(L[i]),
            )
            for i in range(n)
        ]
        self.counters["pages"] += n
        self.predictor_counts[predictor] = self.predictor_counts.get(predictor, 0) + n
        if apply.any():
            self.learn(L[apply], self._texts(features.iloc[np.flatnonzero(apply)]))
            self.last_applied = max(p for p, a in zip(positions, apply, strict=True) if a)
        return out

    def learn(self, L: np.ndarray, texts: list[str]) -> None:
        """Fold pages into the statistics, train the online model, refit when due.

        Chunks are cut at the refit boundaries and each segment is scored with the label model in
        force *before* the refit it triggers, so the statistics, the label model and the prior come
        out the same however the pages were chunked (a replay after a restart gives the same state).
        """
        start = 0
        while start < len(L):
            end = start + max(1, self._pages_to_next_refit())
            seg, seg_texts = L[start:end], texts[start:end]
            self.stats.update(seg)
            self.counters["pages_applied"] += len(seg)
            covered = (seg != ABSTAIN).any(axis=1)
            if covered.any():
                lm_probs = self.label_model.predict_proba(seg[covered])
                self.stats.add_posteriors(lm_probs)
                kept = [t for t, c in zip(seg_texts, covered, strict=True) if c]
                self._pending.append((kept, lm_probs, seg[covered]))
                if self.pending_online >= self.config.online_update_every:
                    self.flush_online()
            self._maybe_refit()
            start = end

    def flush_online(self) -> bool:
        """Teach the online model the pending pages (one step); True when it changed."""
        if not self._pending:
            return False
        counts = self.online.counts([t for texts, _p, _l in self._pending for t in texts])
        probs = np.vstack([p for _c, p, _l in self._pending])
        L = np.vstack([lrow for _c, _p, lrow in self._pending])
        self._pending = []
        self.online.learn(counts, probs, L, relabel=self._relabel)
        return True

    @property
    def pending_online(self) -> int:
        return sum(len(texts) for texts, _p, _l in self._pending)

    def _pages_to_next_refit(self) -> int:
        pages = self.stats.pages
        due = [
            self.config.triplet_every - (pages - self._pages_at_triplet),
            self.config.snorkel_every - (pages - self._pages_at_snorkel),
        ]
        if self._snorkel_pending is not None:
            due.append(self._snorkel_pending.adopt_at - pages)
        return min(due)

    @property
    def snorkel_lag(self) -> int:
        return max(0, min(self.config.snorkel_lag, self.config.snorkel_every // 2))

    @property
    def snorkel_pending(self) -> bool:
        """A Snorkel fit has started and not yet taken effect."""
        return self._snorkel_pending is not None

    @property
    def checkpoint_would_wait(self) -> bool:
        """A checkpoint now would wait for (or run) a Snorkel fit: the pipeline writes it later."""
        pending = self._snorkel_pending
        if pending is None or pending.model is not None:
            return False
        return pending.future is None or not pending.future.done()

    def _relabel(self, L: np.ndarray) -> np.ndarray:
        probs = self.label_model.predict_proba(L)
        probs[~(L != ABSTAIN).any(axis=1)] = 0.0  # no evidence: nothing to replay
        return probs

    def prior(self) -> np.ndarray:
        return self.stats.class_prior(self.config.prior_source)

    def _maybe_refit(self) -> None:
        pages = self.stats.pages
        if self._snorkel_pending is not None and pages >= self._snorkel_pending.adopt_at:
            self._adopt_snorkel()
        elif pages - self._pages_at_snorkel >= self.config.snorkel_every:
            if self.snorkel_lag:
                self._start_snorkel()
                if pages - self._pages_at_triplet >= self.config.triplet_every:
                    self.refit("triplet")
            else:
                self.refit("snorkel")
        elif pages - self._pages_at_triplet >= self.config.triplet_every:
            self.refit("triplet")

    def _start_snorkel(self) -> None:
        """Snapshot the statistics and start Snorkel's fit (in the worker when there is one)."""
        snapshot = VoteStatistics.from_arrays(self.stats.to_arrays())
        prior = self.prior()
        future = None
        if self._fitter is not None:
            future = self._fitter.submit(snapshot, prior, self.config.seed, self.config.snorkel_epochs)
        pages = self.stats.pages
        self._snorkel_pending = PendingFit(pages, pages + self.snorkel_lag, snapshot, prior, future)
        self._pages_at_snorkel = pages

    def _adopt_snorkel(self) -> None:
        pending, self._snorkel_pending = self._snorkel_pending, None
        assert pending is not None
        model = pending.result(self.config.seed, self.config.snorkel_epochs)
        self.label_model = model
        self._pages_at_triplet = self.stats.pages
        self.counters["snorkel_fits"] += 1
        self._record_refit(
            model,
            pending.prior,
            float(pending.fit_seconds or 0.0),
            snorkel=True,
            slow=pending.waited_seconds > 0.5,  # the fit itself ran beside the stream
            fitted_on_pages=pending.started_at,
            waited_seconds=round(pending.waited_seconds, 3),
            where=pending.where,
        )

    def _record_refit(
        self,
        model: StreamLabelModel,
        prior: np.ndarray,
        seconds: float,
        *,
        snorkel: bool,
        slow: bool,
        **extra: Any,
    ) -> None:
        """``last_refit`` (and ``last_snorkel`` for a Snorkel fit), logged at INFO when it held pages up."""
        self.last_refit = {
            "method": model.method,
            "version": model.version,
            "pages": self.stats.pages,
            "prior": [round(float(p), 4) for p in prior],
            "seconds": round(seconds, 3),
            **extra,
        }
        if snorkel:
            self.last_snorkel = self.last_refit
        log.log(logging.INFO if slow else logging.DEBUG, "label model refit: %s", self.last_refit)

    def refit(self, method: str) -> StreamLabelModel:
        started = time.perf_counter()
        prior = self.prior()
        if method == "snorkel":
            model = fit_snorkel(self.stats, prior, seed=self.config.seed, n_epochs=self.config.snorkel_epochs)
            self._pages_at_snorkel = self._pages_at_triplet = self.stats.pages
            self.counters["snorkel_fits"] += 1
        elif method == "triplet":
            model = fit_triplet(self.stats, prior)
            self._pages_at_triplet = self.stats.pages
            self.counters["triplet_fits"] += 1
        else:
            raise ValueError(f"unknown label-model fit {method!r}")
        self.label_model = model
        seconds = time.perf_counter() - started
        self._record_refit(model, prior, seconds, snorkel=method == "snorkel", slow=seconds > 0.5)
        return model

    # ------------------------------------------------------------------ feedback

    def roles(self) -> pd.Series:
        return gold_roles(self.gold[["page_id", "source"]], self.gold_policy)

    def process_feedback(
        self,
        page_ids: Sequence[str],
        labels: Sequence[str],
        sources: Sequence[str],
        features: pd.DataFrame,
        L_task: np.ndarray,
        champion: Champion | None = None,
    ) -> dict[str, Any]:
        """Gold labels for pages (their features and task votes given). Evaluation-side gold is
        scored prequentially; training-side gold teaches the stateful LFs and the online model."""
        known = {name: i for i, name in enumerate(self.task.label_names)}
        keep = [i for i, lbl in enumerate(labels) if lbl in known]
        result: dict[str, Any] = {"received": len(labels), "unknown_label": len(labels) - len(keep)}
        if not keep:
            return result
        self.follow_champion(champion)
        features = features.iloc[keep].reset_index(drop=True)
        L = self.votes(features, np.asarray(L_task)[keep])
        texts = self._texts(features)
        y = np.array([known[labels[i]] for i in keep], dtype=np.int64)
        new = pd.DataFrame(
            {
                "page_id": [str(page_ids[i]) for i in keep],
                "text": texts,
                "label": [labels[i] for i in keep],
                "source": [str(sources[i]) for i in keep],
            }
        )
        self.gold = pd.concat([self.gold[~self.gold["page_id"].isin(new["page_id"])], new], ignore_index=True)
        roles = self.roles().reindex(new["page_id"]).fillna("eval").to_numpy()
        evaluate = roles == "eval"
        if evaluate.any():
            self._score(features.iloc[np.flatnonzero(evaluate)], L[evaluate], y[evaluate], champion)
        train = ~evaluate
        if train.any():
            self.online.learn_gold(
                self.online.counts([t for t, tr in zip(texts, train, strict=True) if tr]), L[train], y[train]
            )
        before = self.lf_state.version
        self._refit_lf_state()
        self.counters["feedback"] += len(keep)
        self.counters["gold_eval"] += int(evaluate.sum())
        self.counters["gold_train"] += int(train.sum())
        result.update(
            eval=int(evaluate.sum()),
            train=int(train.sum()),
            lf_state_version=self.lf_state.version,
            lf_state_changed=self.lf_state.version != before,
        )
        return result

    def _score(self, features: pd.DataFrame, L: np.ndarray, y: np.ndarray, champion: Champion | None) -> None:
        texts = self._texts(features)
        candidates: dict[str, np.ndarray] = {PREDICTOR_LABEL_MODEL: self.label_model.predict_proba(L)}
        if champion is not None:
            candidates[PREDICTOR_CHAMPION] = np.asarray(champion.model.predict_proba(texts))
        if self.online.fitted:
            candidates[PREDICTOR_ONLINE] = self.online.predict_proba(texts)
        for name, probs in candidates.items():
            for gold, pred in zip(y, probs.argmax(axis=1), strict=True):
                self.prequential.add(name, int(gold), int(pred))

    def _refit_lf_state(self) -> None:
        roles = self.roles()
        train = self.gold[self.gold["page_id"].map(roles).eq("train").to_numpy()]
        known = {name: i for i, name in enumerate(self.task.label_names)}
        state = fit_state(
            train["text"].tolist(),
            [known[v] for v in train["label"]],
            task=self.task.name,
            label_names=self.task.label_names,
            text_fields=(self.task.text_field,),
            params=StatefulLFParams(),
        )
        if state.version != self.lf_state.version:
            self.lf_state = state
            self._stateful_applier = None
            self.counters["lf_state_versions"] += 1

    def load_gold(self, gold: pd.DataFrame) -> None:
        """Start from the warehouse's gold (page_id, text, label, source): the source of truth."""
        cols = ["page_id", "text", "label", "source"]
        self.gold = (
            gold[cols].astype(object).reset_index(drop=True) if len(gold) else pd.DataFrame(columns=cols)
        )
        self._refit_lf_state()

    # ------------------------------------------------------------------ status and persistence

    def summary(self) -> dict[str, Any]:
        return {
            "task": self.task.name,
            **self.counters,
            "predictors": dict(self.predictor_counts),
            "label_model": {
                "method": self.label_model.method,
                "version": self.label_model.version,
                "pages": self.label_model.pages,
            },
            "last_refit": self.last_refit,
            "last_snorkel": self.last_snorkel,
            "snorkel_pending": (
                {"started_at": self._snorkel_pending.started_at, "adopt_at": self._snorkel_pending.adopt_at}
                if self._snorkel_pending is not None
                else None
            ),
            "online_model": {
                "version": self.online.version,
                "spec": self.online.spec.tag,
                "calibration": (
                    self.online.calibration.as_dict() if self.online.calibration is not None else None
                ),
                "held_out_pages": len(self.online.held_q),
                "pages_learned": self.online.pages_learned,
                "gold_learned": self.online.gold_learned,
                "pending": self.pending_online,
            },
            "lf_state_version": self.lf_state.version,
            "n_gold": len(self.gold),
            "prequential": self.prequential.scores(),
            "class_prior": [round(float(p), 4) for p in self.prior()],
            "last_applied": str(self.last_applied) if self.last_applied else None,
            "lf_faults": dict(self.lf_faults),
        }

    def state_json(self) -> dict[str, Any]:
        """Everything but the statistics' arrays and the online model (those are stored beside)."""
        return {
            "format": 1,
            "task": self.task.name,
            "task_fingerprint": self.task.fingerprint(),
            "lf_names": self.lf_names,
            "config": asdict(self.config),
            "counters": self.counters,
            "predictor_counts": self.predictor_counts,
            "pages_at_triplet": self._pages_at_triplet,
            "pages_at_snorkel": self._pages_at_snorkel,
            "snorkel_pending": self._pending_json(),
            "last_refit": self.last_refit,
            "last_snorkel": self.last_snorkel,
            "label_model": self.label_model.to_json(),
            "lf_state": self.lf_state.to_json(),
            "gold": self.gold.to_dict("records"),
            "prequential": self.prequential.confusion,
            "last_applied": str(self.last_applied) if self.last_applied else None,
            "lf_faults": self.lf_faults,
        }

    def _pending_json(self) -> dict[str, Any] | None:
        """The started Snorkel fit, with its model (waits for the worker: the pipeline checkpoints
        only when no fit is pending, so it never waits here)."""
        pending = self._snorkel_pending
        if pending is None:
            return None
        model = pending.result(self.config.seed, self.config.snorkel_epochs)
        return {
            "started_at": pending.started_at,
            "adopt_at": pending.adopt_at,
            "prior": [float(p) for p in pending.prior],
            "model": model.to_json(),
        }

    def restore_json(self, obj: dict[str, Any]) -> None:
        if obj.get("format") != 1:
            raise ValueError(f"unknown learner checkpoint format {obj.get('format')!r}")
        if obj["task_fingerprint"] != self.task.fingerprint() or obj["lf_names"] != self.lf_names:
            raise ValueError("the checkpoint was written for another task or LF set")
        self.counters.update(obj["counters"])
        self.predictor_counts.update(obj["predictor_counts"])
        self._pages_at_triplet = int(obj["pages_at_triplet"])
        self._pages_at_snorkel = int(obj["pages_at_snorkel"])
        pending = obj.get("snorkel_pending")
        self._snorkel_pending = (
            PendingFit(
                int(pending["started_at"]),
                int(pending["adopt_at"]),
                None,
                np.asarray(pending["prior"], dtype=float),
                model=StreamLabelModel.from_json(pending["model"]),
            )
            if pending
            else None
        )
        self.last_refit = dict(obj.get("last_refit") or {})
        self.last_snorkel = dict(obj.get("last_snorkel") or {})
        self.label_model = StreamLabelModel.from_json(obj["label_model"])
        self.lf_state = StatefulLFState.from_json(obj["lf_state"])
        self._stateful_applier = None
        gold = pd.DataFrame(obj.get("gold") or [], columns=["page_id", "text", "label", "source"])
        self.gold = gold.astype(object)
        self.prequential = Prequential(self.k, {k: v for k, v in obj.get("prequential", {}).items()})
        self.last_applied = Position.parse(obj["last_applied"]) if obj.get("last_applied") else None
        self.lf_faults = dict(obj.get("lf_faults") or {})


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=float).encode("utf-8")
