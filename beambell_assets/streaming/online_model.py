"""The stream's end model: hashed TF-IDF + logistic SGD, learning page by page from soft labels.

Its featurisation and targets follow the champion's gold-free choice of end model (an
:class:`~beambell_assets.streaming.online_features.OnlineSpec`: hashed word tokens, hashed char_wb
n-grams, both, or sentence embeddings; soft or hard targets); the default is hashed words, soft.

It is the batch path's out-of-core classifier
(:class:`~beambell_assets.training.streaming_classifier.StreamingSoftClassifier`: the same hashed
features, the same soft-label row expansion, ``partial_fit``) with the two things a stream adds:

* **idf that keeps up**: document frequencies are counted as pages arrive and the idf is recomputed
  before each update (with scikit-learn's smoothing), so early pages do not fix the vocabulary.
* **a replay buffer**: one SGD step per page is far from the batch fit a retrain would give. The
  model keeps the hashed counts and label-matrix rows of the last ``replay_size`` pages, and after
  each update takes ``replay_passes`` extra steps over a random sample of them, **relabelled with
  the current label model** (which keeps improving as statistics accumulate) and with gold where a
  human labelled the page. That is experience replay, bounded in memory by ``replay_size``.

* **gold-free calibration, prequentially**: every page is predicted *before* the model learns it,
  so those predictions are held out for free. The model keeps the last ``calibration_window`` of
  them (raw probabilities, with the label model's probabilities the page was taught with; gold
  pages left out, as the annotation queue does not pick them at random) and, when its spec is
  ``calibrated`` (the champion's search chose a calibrated candidate), refits the batch path's
  calibration (``training/calibration.py``: one scale, per-class offsets on the log-probabilities)
  on them once it holds ``calibration_min_rows`` and then every ``calibration_refit_every`` new
  held-out pages (every quarter-window while the window is young). The offsets are shrunk
  towards none by an L2 penalty of ``calibration_prior_rows / n`` on the mean cross-entropy (n:
  the pages in the window): a window of a few hundred pages is a small sample for k offsets,
  and the online model, unlike the batch one, is not shrunk by a strong penalty to begin with
  (``benchmarks/online_calibration.py`` measures both). It records the predictions whatever the
  spec, so a champion that turns calibration on finds them there.

Gold labels are learned as one-hot targets weighted ``gold_weight``. Hard targets (``spec.targets``
= "hard", when the batch search preferred the argmax) turn every label-model row into its argmax.
The buffer also holds at most ``replay_max_nnz`` stored nonzeros (char n-grams give ~10x a page's
word count), so its memory and Beam-state size stay those of the word buffer whatever is chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from beambell_assets.streaming.online_features import (
    DEFAULT_SPEC,
    ENCODER_FALLBACK,
    OnlineFeaturizer,
    OnlineSpec,
)
from beambell_assets.training.calibration import LogitCalibration, fit_calibration
from beambell_assets.training.hashed_features import document_frequencies, idf_from_counts
from beambell_assets.training.streaming_classifier import StreamingSoftClassifier

log = logging.getLogger(__name__)

#: Relabels buffered pages: (L rows) -> (n, k) probabilities.
Relabel = Callable[[np.ndarray], np.ndarray]


class OnlineSoftClassifier:
    """See the module docstring. ``learn`` / ``predict_proba_counts`` take hashed counts
    (:meth:`counts`), so a caller hashes a page once for both."""

    def __init__(
        self,
        n_classes: int,
        n_lfs: int,
        *,
        n_features: int = 2**18,
        alpha: float = 1e-5,
        min_prob: float = 0.05,
        replay_size: int = 4000,
        replay_passes: int = 2,
        replay_batch: int = 256,
        gold_weight: float = 3.0,
        seed: int = 0,
        spec: OnlineSpec = DEFAULT_SPEC,
        encoder_path: str | None = None,
        replay_max_nnz: int = 2_000_000,
        calibration_window: int = 2000,
        calibration_min_rows: int = 200,
        calibration_prior_rows: float = 10.0,
        calibration_refit_every: int = 256,
    ) -> None:
        if n_classes < 2:
            raise ValueError("need at least two classes")
        self.n_classes = int(n_classes)
        self.n_lfs = int(n_lfs)
        self.n_features = int(n_features)
        self.alpha = float(alpha)
        self.min_prob = float(min_prob)
        self.replay_size = int(replay_size)
        self.replay_passes = int(replay_passes)
        self.replay_batch = int(replay_batch)
        self.gold_weight = float(gold_weight)
        self.seed = int(seed)
        self.spec = spec
        self.encoder_path = encoder_path if spec.features in ENCODER_FALLBACK else None
        self.replay_max_nnz = int(replay_max_nnz)
        self.calibration_window = int(calibration_window)
        self.calibration_min_rows = int(calibration_min_rows)
        self.calibration_prior_rows = float(calibration_prior_rows)
        self.calibration_refit_every = int(calibration_refit_every)
        self.featurizer = OnlineFeaturizer(spec.features, self.n_features, self.encoder_path)
        self.width = self.featurizer.width
        self.df = np.zeros(self.width, dtype=np.int64)
        self.n_docs = 0
        self.updates = 0
        self.pages_learned = 0
        self.gold_learned = 0
        self.clf = StreamingSoftClassifier(
            self.n_classes,
            n_features=self.width,
            alpha=self.alpha,
            min_prob=self.min_prob,
            random_state=self.seed,
        ).start(idf_from_counts(self.df, 0), n_classes=self.n_classes)
        # The replay buffer: a ring of hashed counts, label-matrix rows and gold (-1: none).
        self.buf_counts = sp.csr_matrix((0, self.width), dtype=np.float32)
        self.buf_L = np.zeros((0, self.n_lfs), dtype=np.int8 if n_classes < 127 else np.int16)
        self.buf_gold = np.zeros(0, dtype=np.int64)
        # Prequential predictions (raw, before learning the page) and the label model's targets.
        self.held_q = np.zeros((0, self.n_classes), dtype=np.float32)
        self.held_p = np.zeros((0, self.n_classes), dtype=np.float32)
        self.calibration: LogitCalibration | None = None
        self.held_since_fit = 0  # held-out pages added since the calibration was last fitted
        self._rng = np.random.default_rng(self.seed)

    @property
    def fitted(self) -> bool:
        return self.updates > 0

    @property
    def version(self) -> str:
        """``online-<updates>`` for the default spec, ``online-<spec tag>-<updates>`` else (e.g.
        ``online-both.soft.calibrated-42``)."""
        if self.spec == DEFAULT_SPEC:
            return f"online-{self.updates}"
        return f"online-{self.spec.tag}-{self.updates}"

    def counts(self, texts: list[str]) -> sp.csr_matrix:
        return self.featurizer.counts(texts)

    def _idf(self) -> np.ndarray:
        return idf_from_counts(self.df, self.n_docs)

    def _raw_proba(self, counts: sp.csr_matrix) -> np.ndarray:
        return self.clf.predict_proba_features(self.featurizer.weight(counts, self._idf()))

    def predict_proba_counts(self, counts: sp.csr_matrix) -> np.ndarray:
        if not self.fitted:
            raise RuntimeError("the online model has not learned anything yet")
        probs = self._raw_proba(counts)
        if self.spec.calibrated and self.calibration is not None:
            probs = self.calibration.apply(probs)
        return probs

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.predict_proba_counts(self.counts(texts))

    def _targets(self, probs: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        targets = np.asarray(probs, dtype=float).copy()
        if self.spec.targets == "hard" and len(targets):
            targets = np.eye(self.n_classes)[targets.argmax(axis=1)]
        weights = np.ones(len(targets))
        has_gold = gold >= 0
        if has_gold.any():
            targets[has_gold] = np.eye(self.n_classes)[gold[has_gold]]
            weights[has_gold] = self.gold_weight
        return targets, weights

    def _step(self, counts: sp.csr_matrix, targets: np.ndarray, weights: np.ndarray) -> None:
        """One SGD pass; a row of weight ``w`` is repeated ``round(w)`` times (gold rows)."""
        X = self.featurizer.weight(counts, self._idf())
        if (weights != 1).any():
            idx = np.repeat(np.arange(len(targets)), np.maximum(1, np.round(weights).astype(int)))
            X, targets = X[idx], targets[idx]
        self.clf.partial_fit_features(X, targets)

    def learn(
        self,
        counts: sp.csr_matrix,
        probs: np.ndarray,
        L: np.ndarray,
        gold: np.ndarray | None = None,
        relabel: Relabel | None = None,
    ) -> None:
        """One update from new pages: ``probs`` their label-model probabilities (rows without any
        signal should not be passed), ``L`` their label-matrix rows, ``gold`` class or -1."""
        n = counts.shape[0]
        if n == 0:
            return
        gold = np.full(n, -1, dtype=np.int64) if gold is None else np.asarray(gold, dtype=np.int64)
        if self.fitted:
            self._hold_out(counts[gold < 0], np.asarray(probs)[gold < 0])
        self.df += document_frequencies(counts)
        self.n_docs += n
        self.clf.idf_ = self._idf()
        targets, weights = self._targets(probs, gold)
        self._step(counts, targets, weights)
        self.updates += 1
        self.pages_learned += n
        self.gold_learned += int((gold >= 0).sum())
        self._replay(relabel)
        self._remember(counts, L, gold)
        self._maybe_refit_calibration()

    def _hold_out(self, counts: sp.csr_matrix, probs: np.ndarray) -> None:
        """Keep the model's predictions for pages it has not learned yet (held out by time)."""
        if counts.shape[0] == 0 or self.calibration_window <= 0:
            return
        q = self._raw_proba(counts).astype(np.float32)
        self.held_q = np.vstack([self.held_q, q])[-self.calibration_window :]
        self.held_p = np.vstack([self.held_p, probs.astype(np.float32)])[-self.calibration_window :]
        self.held_since_fit += len(q)

    def _maybe_refit_calibration(self) -> None:
        """Refit as soon as the window is first big enough, then once ``calibration_refit_every``
        pages (or a quarter of the window, if fewer: a young window changes fast and is cheap to
        fit) have joined it since the last fit. A fit on 2,000 x 16 probabilities costs ~40 ms:
        after every 64-page step that would be ~0.6 ms a page."""
        if not self.spec.calibrated:
            return
        due = min(self.calibration_refit_every, max(1, len(self.held_q) // 4))
        if self.calibration is None or self.held_since_fit >= due:
            self.refit_calibration()

    def refit_calibration(self) -> None:
        """The calibration a ``calibrated`` spec applies: fitted on the held-out window once it
        holds ``calibration_min_rows`` pages (before that, or uncalibrated, none)."""
        if not self.spec.calibrated or len(self.held_q) < max(1, self.calibration_min_rows):
            self.calibration = None
            return
        self.calibration = fit_calibration(
            self.held_q, self.held_p, bias_l2=self.calibration_prior_rows / len(self.held_q)
        )
        self.held_since_fit = 0

    def set_spec(self, spec: OnlineSpec) -> None:
        """Turn calibration on or off (the weights stay: only a new featurisation or new targets
        need a new model)."""
        if spec.model_spec != self.spec.model_spec:
            raise ValueError(f"{spec.tag} needs a new online model, not {self.spec.tag}")
        self.spec = spec
        self.refit_calibration()

    def _replay(self, relabel: Relabel | None) -> None:
        size = self.buf_counts.shape[0]
        if relabel is None or size == 0 or self.replay_passes <= 0:
            return
        for _ in range(self.replay_passes):
            idx = self._rng.choice(size, size=min(self.replay_batch, size), replace=False)
            probs = np.asarray(relabel(self.buf_L[idx].astype(np.int64)), dtype=float)
            keep = probs.sum(axis=1) > 0
            gold = self.buf_gold[idx]
            keep |= gold >= 0
            if not keep.any():
                continue
            probs = np.where(keep[:, None], probs, 1.0 / self.n_classes)
            targets, weights = self._targets(probs[keep], gold[keep])
            self._step(self.buf_counts[idx[keep]], targets, weights)

    def _remember(self, counts: sp.csr_matrix, L: np.ndarray, gold: np.ndarray) -> None:
        self.buf_counts = sp.vstack([self.buf_counts, counts.astype(np.float32)], format="csr")
        self.buf_L = np.vstack([self.buf_L, np.asarray(L, dtype=self.buf_L.dtype)])
        self.buf_gold = np.concatenate([self.buf_gold, gold])
        extra = self.buf_counts.shape[0] - self.replay_size
        nnz = np.diff(self.buf_counts.indptr)
        over = int(nnz.sum()) - self.replay_max_nnz
        if over > 0:  # drop the oldest rows until the buffer fits its nonzero budget
            extra = max(extra, int(np.searchsorted(np.cumsum(nnz), over, side="left")) + 1)
        if extra > 0:
            self.buf_counts = self.buf_counts[extra:]
            self.buf_L = self.buf_L[extra:]
            self.buf_gold = self.buf_gold[extra:]

    def learn_gold(self, counts: sp.csr_matrix, L: np.ndarray, gold: np.ndarray) -> None:
        """Learn from pages a human labelled (one-hot targets, ``gold_weight`` each)."""
        probs = np.eye(self.n_classes)[np.asarray(gold, dtype=np.int64)]
        self.learn(counts, probs, L, gold=gold)


# --------------------------------------------------------------------------- persistence (no pickle)


def online_model_arrays(model: OnlineSoftClassifier) -> dict[str, np.ndarray]:
    """The model's counters and replay buffer as arrays; its SGD part goes to skops separately."""
    c = model.buf_counts.tocsr()
    return {
        "params": np.array(
            [
                model.n_classes,
                model.n_lfs,
                model.n_features,
                model.replay_size,
                model.replay_passes,
                model.replay_batch,
                model.seed,
                model.n_docs,
                model.updates,
                model.pages_learned,
                model.gold_learned,
            ],
            dtype=np.int64,
        ),
        "floats": np.array(
            [model.alpha, model.min_prob, model.gold_weight, model.calibration_prior_rows], dtype=np.float64
        ),
        "spec": np.array([model.spec.features, model.spec.targets, model.encoder_path or ""]),
        "limits": np.array([model.replay_max_nnz], dtype=np.int64),
        "calibration_params": np.array(
            [
                int(model.spec.calibrated),
                model.calibration_window,
                model.calibration_min_rows,
                model.calibration_refit_every,
                model.held_since_fit,
            ],
            dtype=np.int64,
        ),
        "held_q": model.held_q,
        "held_p": model.held_p,
        "calibration": (
            np.concatenate([[model.calibration.scale], model.calibration.bias])
            if model.calibration is not None
            else np.zeros(0)
        ),
        "df": model.df,
        "buf_data": c.data.astype(np.float32),
        "buf_indices": c.indices.astype(np.int32),
        "buf_indptr": c.indptr.astype(np.int64),
        "buf_L": model.buf_L,
        "buf_gold": model.buf_gold,
    }


def online_model_from_arrays(
    a: dict[str, np.ndarray], clf: StreamingSoftClassifier, encoder_path: str | None = None
) -> OnlineSoftClassifier:
    """The model :func:`online_model_arrays` stored (checkpoints from before the spec: word, soft).
    An encoder model restores with ``encoder_path`` (default: the stored one); where no encoder can
    be used it comes back as a fresh default model (the next champion check picks the spec again)."""
    (k, m, nf, replay_size, replay_passes, replay_batch, seed, n_docs, updates, pages, gold) = (
        int(v) for v in a["params"]
    )
    alpha, min_prob, gold_weight = (float(v) for v in a["floats"][:3])
    prior_rows = float(a["floats"][3]) if len(a["floats"]) > 3 else 10.0
    features, targets, stored_path = (str(v) for v in a["spec"]) if "spec" in a else ("word", "soft", "")
    calibrated, cal_window, cal_min, cal_every, since_fit = (
        (int(v) for v in a["calibration_params"]) if "calibration_params" in a else (0, 2000, 200, 256, 0)
    )
    spec = OnlineSpec(features, targets, bool(calibrated))
    max_nnz = int(a["limits"][0]) if "limits" in a else 2_000_000
    if spec.features in ENCODER_FALLBACK:
        encoder_path = encoder_path or stored_path or None
        from beambell_assets.training.encoder import encoder_available, resolve_encoder_path

        try:
            encoder_path = resolve_encoder_path(encoder_path)
        except FileNotFoundError as exc:
            log.warning("the online model's encoder is gone (%s)", exc)
            encoder_path = None
        if not encoder_available(encoder_path):
            log.warning("no encoder to restore the online model with: starting a default one")
            encoder_path = None
        if encoder_path is None:
            return OnlineSoftClassifier(k, m, n_features=nf, alpha=alpha, seed=seed)
    model = OnlineSoftClassifier(
        k,
        m,
        n_features=nf,
        alpha=alpha,
        min_prob=min_prob,
        replay_size=replay_size,
        replay_passes=replay_passes,
        replay_batch=replay_batch,
        gold_weight=gold_weight,
        seed=seed,
        spec=spec,
        encoder_path=encoder_path,
        replay_max_nnz=max_nnz,
        calibration_window=cal_window,
        calibration_min_rows=cal_min,
        calibration_prior_rows=prior_rows,
        calibration_refit_every=cal_every,
    )
    model.df = np.asarray(a["df"], dtype=np.int64)
    model.n_docs, model.updates, model.pages_learned, model.gold_learned = n_docs, updates, pages, gold
    model.clf = clf
    n_buf = len(a["buf_indptr"]) - 1
    model.buf_counts = sp.csr_matrix(
        (a["buf_data"], a["buf_indices"], a["buf_indptr"]), shape=(n_buf, model.width)
    )
    model.buf_L = np.asarray(a["buf_L"], dtype=model.buf_L.dtype)
    model.buf_gold = np.asarray(a["buf_gold"], dtype=np.int64)
    if "held_q" in a:
        model.held_q = np.asarray(a["held_q"], dtype=np.float32).reshape(-1, k)
        model.held_p = np.asarray(a["held_p"], dtype=np.float32).reshape(-1, k)
    # a calibrated model with a full enough window always has its fit stored (learn, set_spec)
    stored = np.asarray(a.get("calibration", np.zeros(0)), dtype=float)
    if spec.calibrated and len(stored) == k + 1:
        model.calibration = LogitCalibration(float(stored[0]), stored[1:].copy())
    model.held_since_fit = since_fit
    model._rng = np.random.default_rng([seed, updates])  # a fresh, reproducible stream after a restore
    return model
