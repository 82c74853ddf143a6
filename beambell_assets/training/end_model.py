"""The end model fitted to the task: a gold-free choice among a few featurisations.

One fixed featurisation (word 1-2-gram TF-IDF) served long web pages well and short texts
(comments, headlines) badly. ``auto`` picks, **without gold**, among a small fixed candidate set:

    features  word (1-2-gram TF-IDF) | char (2-5-gram ``char_wb`` TF-IDF) | both |
              encoder (sentence embeddings, only when an encoder is configured, ``encoder.py``) |
              both+encoder (the both blocks and the embeddings in one model; same condition)
    C         a small regularisation grid (default 1, 10)
    targets   soft (the label model's probabilities) | hard (their argmax)
    calibration  none | gold-free: a scale and per-class offsets on the log-probabilities, fitted
              on the candidate's own held-out predictions against the weak labels
              (``training/calibration.py``; it undoes the shrinkage that makes a regularised
              classifier under-predict rare classes)

by k-fold cross-validation on the weak labels themselves: each candidate is trained on k-1 folds
of the training set and scored on the held-out fold against that fold's weak labels. The folds are
stratified by the weak labels' argmax. The k-fold split can be **repeated** with other shuffles
(``repeats``; ``0``/``None``: as many as fit in a fixed text budget, :data:`CV_TEXT_BUDGET`
characters, at most :data:`MAX_REPEATS`, i.e. 3 on a few hundred headlines and 1 on long pages).
The default is one split: on AG News (title + description) three splits made the choice *steadier
but not better* -- expected accuracy against weak labels there systematically prefers char n-grams
(which mimic the keyword LFs) over word, both and encoder features that are better against gold, and
averaging more splits made it pick char in 4-5 of 5 outer folds (see the README). The score is
the held-out **cross-entropy** ``-mean_i Σ_c p_ic log q_ic`` of the candidate's probabilities
``q_i`` against the label model's distribution ``p_i`` (a proper scoring rule; no gold anywhere);
ties go to the higher expected accuracy ``mean_i p_i[ŷ_i]``, then to the earlier (simpler,
cheaper) candidate. Every candidate also comes **calibrated**, and the calibrated version of a
hard-label candidate is what makes hard and soft targets comparable on cross-entropy: a
miscalibrated label model cannot silently halve the score by its soft labels alone, and a hard-label
model's overconfidence is not what decides. (Until 2026-12-06 the score was expected accuracy,
which with calibrated candidates chose worse on the dev websites: the README has both.)
A calibrated candidate costs no extra fit: its score calibrates each held-out fold
with a calibration fitted on the other folds' held-out predictions, and the final model's
calibration is fitted on all of them. The search caps the rows it uses (``max_rows``) and
vectorises each fold once per featurisation (every ``C`` / target head reuses it), so it adds
seconds, not minutes.

**The model is an ensemble** (``combine="ensemble"``, the default since 2026-12-06): the mean of the
probabilities of the best candidate of each featurisation (``training/ensemble.py``; the word, char
and both members share two fitted vectorizers); with an encoder, of every calibrated encoder and
both+encoder candidate at the grid's smallest C instead (:func:`ensemble_members`). Which single
candidate is best against gold is within the fold-to-fold noise of a few hundred labelled rows, and
the weak-label criterion picked the wrong one often enough to cost 0.7-1.9 accuracy points against
the best single candidate chosen *with* gold; the average of the per-featurisation winners was
within 0.5 of it on the dev websites and AG News (``benchmarks/quality_report.py``, README). The
ensemble is also scored on the same held-out weak folds (a table row), but it is used whatever its
score: by convexity its cross-entropy is at most its members' mean, so that score would favour it
whatever gold says.
``combine="best"`` keeps the single best candidate (``BEAMBELL_END_MODEL_COMBINE``). The best single
candidate is still reported (``best_single``), and its featurisation, targets and calibration are
what the stream's one online model follows (:func:`end_model_spec`).

A task names its end model with ``Task.end_model``: ``"auto"`` (default), one featurisation
(``"word"``, ``"char"``, ``"both"``, ``"encoder"``, ``"both+encoder"``: its grid and targets still
chosen by CV),
``"fixed"`` (the pre-#13 model, no search) or a factory ``n_classes -> estimator`` with
``fit(texts, probs)`` / ``predict_proba(texts)``.

:func:`end_model_spec` reads the choice back from a registry entry's metrics: what the streaming
path needs to use the same featurisation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.model_selection import KFold, StratifiedKFold

from beambell_assets.training.calibration import LogitCalibration, cross_fitted, fit_calibration
from beambell_assets.training.corpus_counts import CorpusCounts, NoTermsRemain
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier, soft_targets
from beambell_assets.training.user_end_model import EndModelFactory, fit_factory_model

log = logging.getLogger(__name__)

FEATURISATIONS = ("word", "char", "both", "encoder", "both+encoder")
#: Featurisations that read the sentence encoder (searched only when one is configured).
ENCODER_FEATURES = ("encoder", "both+encoder")
TARGETS = ("soft", "hard")
#: Gold-free scores the search can choose by (see :func:`select_end_model`).
CRITERIA = ("cross_entropy", "expected_accuracy")
#: How the search turns its ranking into a model: ``"ensemble"`` averages the best candidate of each
#: featurisation (:func:`ensemble_members`), ``"best"`` keeps the single best candidate (the default
#: until 2026-12-06).
COMBINE = ("ensemble", "best")
DEFAULT_C_GRID = (1.0, 10.0)
#: Characters of each document the char n-grams read (the head of a long page carries its topic).
CHAR_MAX_CHARS = 3000
#: Characters of text the search may score per extra repeat of its k-fold split (cost grows with
#: the text vectorised and fitted, not with the row count): ~450 news items (~110k characters) get
#: :data:`MAX_REPEATS` splits, ~450 web pages (~2.5M characters) get one.
CV_TEXT_BUDGET = 1_000_000
MAX_REPEATS = 3


@dataclass(frozen=True)
class Candidate:
    """One end-model configuration the search can choose. ``calibrated``: the classifier's
    probabilities go through a gold-free calibration fitted on its held-out predictions
    (``training/calibration.py``)."""

    features: str
    C: float
    targets: str
    calibrated: bool = False

    @property
    def name(self) -> str:
        return f"{self.features}/C={self.C:g}/{self.targets}" + ("/calibrated" if self.calibrated else "")


@dataclass
class EndModelSelection:
    """The candidate the search chose and every candidate's held-out scores (one row each)."""

    chosen: Candidate
    table: pd.DataFrame
    n_rows: int
    folds: int
    seconds: float
    criterion: str = "cross_entropy"
    repeats: int = 1
    cpu_seconds: float = 0.0
    #: Each calibrated candidate's calibration, fitted on all its held-out predictions.
    calibrations: dict[str, LogitCalibration] = field(default_factory=dict)
    #: The ensemble's members (:func:`ensemble_members`), empty when the model is
    #: ``chosen`` alone.
    members: tuple[Candidate, ...] = ()

    @property
    def calibration(self) -> LogitCalibration | None:
        """The chosen candidate's calibration (None when the chosen one is uncalibrated)."""
        return self.calibrations.get(self.chosen.name) if self.chosen.calibrated else None

    @property
    def model_name(self) -> str:
        """What the search's model is: the ensemble's name, or the chosen candidate's."""
        return ensemble_name(self.members) if self.members else self.chosen.name

    def estimator(
        self,
        n_classes: int,
        *,
        class_weight: Sequence[float] | None = None,
        encoder_path: str | None = None,
    ) -> Any:
        """The unfitted model the search chose (an ensemble or one candidate)."""
        if not self.members:
            return candidate_estimator(
                self.chosen, n_classes, class_weight=class_weight, encoder_path=encoder_path
            )
        from beambell_assets.training.ensemble import AveragedTextClassifier

        return AveragedTextClassifier(
            [
                (
                    c.name,
                    candidate_estimator(c, n_classes, class_weight=class_weight, encoder_path=encoder_path),
                )
                for c in self.members
            ],
            targets=[c.targets for c in self.members],
            weights=ensemble_weights(self.members),
            n_classes=n_classes,
        )

    def calibrate(self, model: Any) -> Any:
        """Attach the search's gold-free calibration(s) to a fitted :meth:`estimator`."""
        if not self.members:
            return model.set_calibration(self.calibration)
        return model.set_calibrations(
            [self.calibrations.get(c.name) if c.calibrated else None for c in self.members]
        )

    def metrics(self) -> dict[str, Any]:
        """JSON-able summary for the registry (``metrics["end_model"]``) and asset metadata.
        ``features``/``C``/``targets``/``calibrated`` are the best single candidate's: what a
        one-model path (the stream's online model) follows."""
        row = self.table.loc[self.table["candidate"] == self.model_name].iloc[0]
        return {
            "spec": "auto",
            "chosen": self.model_name,
            "best_single": self.chosen.name,
            "ensemble": [c.name for c in self.members] or None,
            **asdict(self.chosen),
            "cv_cross_entropy": float(row["cross_entropy"]),
            "cv_expected_accuracy": float(row["expected_accuracy"]),
            "calibration": self.calibration.as_dict() if self.calibration is not None else None,
            "cv_rows": self.n_rows,
            "cv_folds": self.folds,
            "cv_repeats": self.repeats,
            "criterion": self.criterion,
            "seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "candidates": [
                {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in r.items()}
                for r in self.table.to_dict("records")
            ],
        }


#: What each featurisation means as n-gram settings: what :func:`candidate_estimator` builds, and
#: what a hashed / streaming featuriser mirrors (``encoder``: the embeddings, alone or beside them).
FEATURE_SETTINGS: dict[str, dict[str, Any]] = {
    "word": {"word_ngram_range": (1, 2), "char_ngram_range": None},
    "char": {"word_ngram_range": None, "char_ngram_range": (2, 5), "max_chars": CHAR_MAX_CHARS},
    "both": {"word_ngram_range": (1, 2), "char_ngram_range": (2, 5), "max_chars": CHAR_MAX_CHARS},
    "encoder": {"encoder": True},
    "both+encoder": {
        "word_ngram_range": (1, 2),
        "char_ngram_range": (2, 5),
        "max_chars": CHAR_MAX_CHARS,
        "encoder": True,
    },
}


def candidate_estimator(
    cand: Candidate,
    n_classes: int,
    *,
    class_weight: Sequence[float] | None = None,
    encoder_path: str | None = None,
) -> SoftLabelTextClassifier:
    """The unfitted estimator of one candidate."""
    common: dict[str, Any] = {
        "n_classes": n_classes,
        "C": cand.C,
        "random_state": 0,
        "class_weight": None if class_weight is None else [float(x) for x in class_weight],
    }
    if cand.features not in FEATURE_SETTINGS:
        raise ValueError(f"unknown featurisation {cand.features!r}: expected one of {FEATURISATIONS}")
    ngrams = {k: v for k, v in FEATURE_SETTINGS[cand.features].items() if k != "encoder"}
    if FEATURE_SETTINGS[cand.features].get("encoder"):
        if not encoder_path:
            raise ValueError(f"the {cand.features} candidate needs an encoder path (BEAMBELL_ENCODER_PATH)")
        return SoftLabelTextClassifier(
            encoder_path=encoder_path, encoder_with_ngrams=bool(ngrams), **ngrams, **common
        )
    return SoftLabelTextClassifier(**ngrams, **common)


#: Featurisations that are views of the same n-gram counts (one family in :func:`ensemble_weights`).
NGRAM_FEATURES = ("word", "char", "both")


def ensemble_featurisations(features: Sequence[str]) -> tuple[str, ...]:
    """The featurisations the ensemble draws its members from. Without an encoder: all (word,
    char, both). With one: only those that read it (encoder, both+encoder) when both are searched:
    ``both+encoder`` already holds the n-gram features, weighed jointly with the embeddings, while
    n-gram-only members averaged beside the encoder pulled the mean towards copying the keyword LFs
    (README, "The end model")."""
    reading = tuple(f for f in features if f in ENCODER_FEATURES)
    return reading if len(reading) > 1 else tuple(features)


def ensemble_members(
    ranked: pd.DataFrame, pooled: Sequence[str], by_name: dict[str, Candidate]
) -> tuple[Candidate, ...]:
    """The ensemble's members, in ranking order. N-gram featurisations: the best candidate of each.
    The two that read the encoder: every calibrated candidate of both (each target) at the
    *strongest regularisation searched* (the grid's smallest C). Which C and target is best there
    is what the weak labels could not tell: on AG News the held-out cross-entropy preferred
    encoder/C=1/soft where hard targets were 1-2 points better against gold, on the dev websites
    C=10/soft where C=1/hard was. Targets are averaged over; C is not, because the weak labels'
    errors are functions of the text (the LFs read it), so a weakly regularised head learns them
    and cross-validation *against those labels* rewards it; averaging in the C=10 heads cost
    0.5 points on AG News and on the dev websites (``benchmarks/ensemble_rules.py``, README)."""
    ranked = ranked[ranked["features"].isin(pooled)]
    if set(pooled) <= set(ENCODER_FEATURES):
        reading = [by_name[n] for n in ranked["candidate"]]
        strongest = min((c.C for c in reading), default=None)
        every = [c for c in reading if c.calibrated and strongest == c.C]
        if every:
            return tuple(every)
    return tuple(by_name[n] for n in ranked.drop_duplicates("features")["candidate"])


def ensemble_weights(members: Sequence[Candidate]) -> list[float]:
    """Each member's share of the ensemble's mean: equal across feature *families* (n-gram TF-IDF,
    encoder), then equal within one. Word, char and both are three views of the same n-gram counts
    and err together; weighted one each, they outvoted a better encoder member 3:1 on AG News
    (auto 0.750 with the encoder vs 0.796 for the encoder alone, README)."""
    families = [("ngram" if c.features in NGRAM_FEATURES else c.features) for c in members]
    return [1.0 / (len(set(families)) * families.count(f)) for f in families]


def ensemble_name(members: Sequence[Candidate]) -> str:
    """The table's name for an ensemble of candidates."""
    return "ensemble(" + " + ".join(c.name for c in members) + ")"


def candidates(
    features: Sequence[str] = ("word", "char", "both"),
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    targets: Sequence[str] = TARGETS,
    calibration: Sequence[bool] = (False, True),
) -> list[Candidate]:
    """The candidate set, in tie-break order (earlier wins a tie: uncalibrated first)."""
    return [
        Candidate(f, float(c), t, cal)
        for f in features
        for c in c_grid
        for t in targets
        for cal in calibration
    ]


def _targets(probs: np.ndarray, kind: str) -> np.ndarray:
    return probs if kind == "soft" else probs.argmax(axis=1)


def searched_features(encoder_path: str | None) -> tuple[str, ...]:
    """The featurisations ``auto`` searches: the n-gram ones, and those reading the encoder when one
    is configured."""
    return (*NGRAM_FEATURES, *(ENCODER_FEATURES if encoder_path else ()))


def cv_repeats(texts: Sequence[str], budget: int = CV_TEXT_BUDGET, max_repeats: int = MAX_REPEATS) -> int:
    """How many k-fold splits the search scores: as many as ``budget`` characters pay for (at
    least one, at most ``max_repeats``); see the module docstring."""
    chars = sum(len(t) for t in texts)
    return int(min(max_repeats, max(1, budget // max(chars, 1))))


def cv_splits(
    targets: np.ndarray, folds: int, repeats: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``repeats`` shuffled k-fold splits, stratified by ``targets`` (the weak labels' argmax) when
    every class present has at least ``folds`` rows, else plain k-fold."""
    counts = np.bincount(targets)
    stratify = bool(counts[counts > 0].min() >= folds)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for r in range(repeats):
        if stratify:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + r)
            out.extend(splitter.split(np.zeros(len(targets)), targets))
        else:
            out.extend(KFold(n_splits=folds, shuffle=True, random_state=seed + r).split(targets))
    return out


def select_end_model(
    texts: Sequence[str],
    probs: np.ndarray,
    n_classes: int,
    *,
    features: Sequence[str] | None = None,
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    folds: int = 3,
    max_rows: int = 2000,
    seed: int = 0,
    class_weight: Sequence[float] | None = None,
    encoder_path: str | None = None,
    cv_tol: float = 1e-3,
    repeats: int | None = 1,
    criterion: str = "cross_entropy",
    combine: str = "ensemble",
    count_once: bool = True,
    counts_cache: dict[str, CorpusCounts | None] | None = None,
) -> EndModelSelection:
    """Score every candidate by k-fold CV against the weak labels; return the best and the table.

    ``features`` defaults to word, char, both, plus encoder when ``encoder_path`` is given.
    ``repeats``: k-fold splits to score (``None``/0: :func:`cv_repeats` of the searched texts).
    One by default: see the module docstring for why the budget rule is opt-in.
    ``criterion``: ``"cross_entropy"`` (default: lowest held-out cross-entropy, ties to the higher
    expected accuracy) or ``"expected_accuracy"`` (the reverse; the default until 2026-12-06).
    ``cv_tol`` is the solver tolerance of the CV fits, the final fit's by default: a looser one
    (1e-2) let L-BFGS stop at its starting point on near-uniform soft labels in some folds, which
    scored the soft candidates as if they predicted one class.
    ``combine`` (:data:`COMBINE`): ``"ensemble"`` (default) averages the best candidate of each
    featurisation when more than one is searched (scored like a candidate, from the members' held-out
    predictions); ``"best"`` keeps the single best candidate.
    ``count_once`` (default): count the texts' n-grams once for every fold and the final fit
    (``training/corpus_counts.py``, the same matrices); ``False`` fits each fold on its text (the
    reference for ``benchmarks/end_model_search.py``). ``counts_cache``: the caller's dict for those
    counts (per featurisation), so :func:`fit_end_model`'s final fit can reuse them; None: the
    search's own, dropped with it.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion {criterion!r}: expected one of {CRITERIA}")
    if combine not in COMBINE:
        raise ValueError(f"combine {combine!r}: expected one of {COMBINE}")
    t0, cpu0 = time.perf_counter(), time.process_time()
    texts = np.asarray([("" if t is None else str(t)) for t in texts], dtype=object)
    probs = soft_targets(probs, len(texts), n_classes)
    if features is None:
        features = searched_features(encoder_path)
    cands = candidates(features, c_grid)
    fitted = [c for c in cands if not c.calibrated]  # a calibrated one reuses its base's fits
    rng = np.random.default_rng(seed)
    idx = np.arange(len(texts))
    if len(idx) > max_rows:
        idx = np.sort(rng.choice(idx, size=max_rows, replace=False))
    folds = max(2, min(folds, len(idx)))
    X, P = texts[idx], probs[idx]
    repeats = int(repeats) if repeats else cv_repeats(X)
    splits = cv_splits(P.argmax(axis=1), folds, repeats, seed)
    feature_seconds: dict[str, float] = {}
    fold_cache: list[dict[str, tuple[Any, Any]]] = [{} for _ in splits]
    counted = {} if counts_cache is None else counts_cache  # n-gram counts of X, once for every fold
    # held-out predictions, per candidate fitted and split
    held_out: dict[str, list[np.ndarray]] = {c.name: [] for c in fitted}
    for feat in features:
        group = [c for c in fitted if c.features == feat]
        t_feat = time.perf_counter()
        for (tr, te), cache in zip(splits, fold_cache, strict=True):
            Xtr, Xte = fold_matrices(
                feat,
                X[tr],
                X[te],
                n_classes,
                encoder_path,
                cache,
                (counted, X, tr, te) if count_once else None,
            )
            for cand in group:
                est = candidate_estimator(
                    cand, n_classes, class_weight=class_weight, encoder_path=encoder_path
                )
                est.set_params(tol=cv_tol)
                est.fit_features(Xtr, _targets(P[tr], cand.targets))
                held_out[cand.name].append(est.predict_proba_features(Xte))
        feature_seconds[feat] = time.perf_counter() - t_feat
    scores: dict[str, list[tuple[float, float, float]]] = {}
    calibrations: dict[str, LogitCalibration] = {}
    tests = [te for _, te in splits]
    for cand in fitted:
        qs = held_out[cand.name]
        scores[cand.name] = [_held_out_scores(q, P[t]) for q, t in zip(qs, tests, strict=True)]
        cal = Candidate(cand.features, cand.C, cand.targets, True)
        if cal in cands:
            q_cal, all_q, all_p = _calibrated_held_out(qs, splits, P, folds)
            held_out[cal.name] = q_cal
            scores[cal.name] = [_held_out_scores(q, P[t]) for q, t in zip(q_cal, tests, strict=True)]
            calibrations[cal.name] = fit_calibration(all_q, all_p)
    rows = []
    for order, cand in enumerate(cands):
        rows.append(
            {
                "candidate": cand.name,
                "features": cand.features,
                "C": cand.C,
                "targets": cand.targets,
                **_score_columns(scores[cand.name]),
                "feature_seconds": round(feature_seconds[cand.features], 2),
                "calibration_scale": calibrations[cand.name].scale if cand.calibrated else np.nan,
                "_order": order,
            }
        )
    table = pd.DataFrame(rows)
    keys = ["cross_entropy", "expected_accuracy"]
    if criterion == "expected_accuracy":
        keys.reverse()
    ranked = table.sort_values([*keys, "_order"], ascending=[k == "cross_entropy" for k in keys] + [True])
    by_name = {c.name: c for c in cands}
    chosen = by_name[ranked.iloc[0]["candidate"]]
    members: tuple[Candidate, ...] = ()
    pooled = ensemble_featurisations(features)
    if len(pooled) > 1:
        ensemble = ensemble_members(ranked, pooled, by_name)
        w = ensemble_weights(ensemble)
        q_ens = [
            np.einsum("m,mij->ij", w, np.stack(qs))
            for qs in zip(*(held_out[c.name] for c in ensemble), strict=True)
        ]
        ens_row = {
            "candidate": ensemble_name(ensemble),
            "features": "ensemble",
            "C": np.nan,
            "targets": "/".join(c.targets for c in ensemble),
            **_score_columns([_held_out_scores(q, P[t]) for q, t in zip(q_ens, tests, strict=True)]),
            "feature_seconds": round(sum(feature_seconds.values()), 2),
            "calibration_scale": np.nan,
        }
        table = pd.concat([table, pd.DataFrame([ens_row])], ignore_index=True)
        if combine == "ensemble":
            members = ensemble
    table["chosen"] = table["candidate"] == (ensemble_name(members) if members else chosen.name)
    table = table.drop(columns="_order")
    seconds = time.perf_counter() - t0
    log.info(
        "end model: chose %s of %d candidates in %.1f s",
        ensemble_name(members) if members else chosen.name,
        len(cands),
        seconds,
    )
    return EndModelSelection(
        chosen=chosen,
        table=table,
        n_rows=len(idx),
        folds=folds,
        seconds=seconds,
        repeats=repeats,
        cpu_seconds=time.process_time() - cpu0,
        calibrations=calibrations,
        criterion=criterion,
        members=members,
    )


def _score_columns(scores: list[tuple[float, float, float]]) -> dict[str, float]:
    arr = np.asarray(scores)
    return {
        "expected_accuracy": float(arr[:, 0].mean()),
        "expected_accuracy_sd": float(arr[:, 0].std(ddof=1)) if len(arr) > 1 else 0.0,
        "agreement": float(arr[:, 1].mean()),
        "cross_entropy": float(arr[:, 2].mean()),
    }


def _held_out_scores(q: np.ndarray, p_te: np.ndarray) -> tuple[float, float, float]:
    """(expected accuracy, agreement with the weak argmax, cross-entropy) of held-out predictions."""
    pred = q.argmax(axis=1)
    expected_acc = float(p_te[np.arange(len(p_te)), pred].mean())
    agree = float((pred == p_te.argmax(axis=1)).mean())
    xent = float(-(p_te * np.log(np.clip(q, 1e-6, 1.0))).sum(axis=1).mean())
    return expected_acc, agree, xent


def _calibrated_held_out(
    held_out: list[np.ndarray], splits: list[tuple[np.ndarray, np.ndarray]], P: np.ndarray, folds: int
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Each split's held-out predictions calibrated by a fit on the other folds of the same k-fold
    split (so the calibrated score is itself held out), and all held-out predictions with their
    weak labels stacked (what the final calibration is fitted on). The targets are the label
    model's probabilities on covered rows, unweighted: calibrating against the class-weighted ones
    (keeping the label-shift factors P(y) / P(y | covered) intact) was measured and was worse (README)."""
    out: list[np.ndarray] = []
    for start in range(0, len(splits), folds):
        qs = held_out[start : start + folds]
        tes = [te for _, te in splits[start : start + folds]]
        q_all, p_all = np.vstack(qs), P[np.concatenate(tes)]
        groups = np.repeat(np.arange(len(qs)), [len(te) for te in tes])
        calibrated = cross_fitted(q_all, p_all, groups)
        out.extend(np.split(calibrated, np.cumsum([len(te) for te in tes])[:-1]))
    return out, np.vstack(held_out), P[np.concatenate([te for _, te in splits])]


#: One fold of a search over texts ``X``: (counts per featurisation, filled on first use; X; the
#: fold's training rows; its held-out rows).
FoldCounts = tuple[dict[str, CorpusCounts | None], np.ndarray, np.ndarray, np.ndarray]


def fold_matrices(
    feat: str,
    X_tr: np.ndarray,
    X_te: np.ndarray,
    n_classes: int,
    encoder_path: str | None,
    cache: dict[str, tuple[Any, Any]],
    counts: FoldCounts | None = None,
) -> tuple[Any, Any]:
    """One fold's (train, test) feature matrices of a featurisation, computed once per fold:
    ``both`` is the word and char matrices side by side (what its ``FeatureUnion`` computes),
    ``both+encoder`` those and the embeddings.

    With ``counts`` (``X_tr``/``X_te`` are rows of one corpus ``X``), an n-gram featurisation counts
    ``X`` once for all folds (``training/corpus_counts.py``: the same matrices as fitting each fold,
    without re-reading the text); otherwise, or where a fold keeps no term, it is fitted on the fold."""
    if feat in cache:
        return cache[feat]
    if feat in ("both", "both+encoder"):
        parts = ("word", "char") if feat == "both" else ("both", "encoder")
        blocks = [fold_matrices(p, X_tr, X_te, n_classes, encoder_path, cache, counts) for p in parts]
        cache[feat] = (
            sp.hstack([b[0] for b in blocks], format="csr"),
            sp.hstack([b[1] for b in blocks], format="csr"),
        )
        return cache[feat]
    base = candidate_estimator(Candidate(feat, 1.0, "soft"), n_classes, encoder_path=encoder_path)
    out = _counted_fold(feat, base, counts) if counts is not None and feat in NGRAM_FEATURES else None
    if out is None:
        vec = base._build_vectorizer()
        try:
            m_tr = vec.fit_transform(base._texts(X_tr))
        except ValueError:  # no term reaches min_df in a tiny fold
            vec = base._build_vectorizer(min_df=1)
            m_tr = vec.fit_transform(base._texts(X_tr))
        out = (m_tr, vec.transform(base._texts(X_te)))
    cache[feat] = out
    return out


def _counted_fold(feat: str, base: SoftLabelTextClassifier, counts: FoldCounts) -> tuple[Any, Any] | None:
    """A fold's matrices from the corpus's counts (None: no term survives; fit the fold instead)."""
    counted, X, tr, te = counts
    if feat not in counted:
        try:
            counted[feat] = CorpusCounts(base._build_vectorizer(), base._texts(X))
        except NoTermsRemain:
            counted[feat] = None
    corpus = counted[feat]
    if corpus is None:
        return None
    try:
        return corpus.fit_transform(tr, te)
    except NoTermsRemain:
        return None


@dataclass
class FittedEndModel:
    """A fitted end model and how it was chosen (``selection`` is None without a search)."""

    model: Any
    spec: str
    selection: EndModelSelection | None
    targets: str = "soft"  # a task's own estimator of class indices learns the argmax: "hard: why"

    def metrics(self) -> dict[str, Any]:
        if self.selection is not None:
            return {**self.selection.metrics(), "spec": self.spec}
        return {
            "spec": self.spec,
            "chosen": self.spec,
            "features": _features_of(self.model),
            "targets": self.targets,
        }


def _features_of(model: Any) -> str:
    if not isinstance(model, SoftLabelTextClassifier):
        return type(model).__name__
    if getattr(model, "encoder_path", None):
        return "both+encoder" if getattr(model, "encoder_with_ngrams", False) else "encoder"
    if model.word_ngram_range is None:
        return "char"
    return "both" if model.char_ngram_range is not None else "word"


def fit_end_model(
    texts: Sequence[str],
    probs: np.ndarray,
    n_classes: int,
    spec: str | EndModelFactory = "auto",
    *,
    class_weight: Sequence[float] | None = None,
    encoder_path: str | None = None,
    **search: Any,
) -> FittedEndModel:
    """Choose (per ``spec``, see the module docstring) and fit the end model on all rows.

    ``search`` goes to :func:`select_end_model` (``folds``, ``repeats``, ``max_rows``, ``c_grid``,
    ``seed``).
    """
    texts = list(texts)
    if callable(spec):
        model, targets = fit_factory_model(spec, texts, probs, n_classes)
        return FittedEndModel(model, getattr(spec, "__name__", "factory"), None, targets)
    if spec == "fixed":
        model = SoftLabelTextClassifier(n_classes=n_classes, random_state=0)
        model.fit(texts, probs)
        return FittedEndModel(model, "fixed", None)
    if spec == "auto":
        features = None
    elif spec in FEATURISATIONS:
        features = (spec,)
    else:
        raise ValueError(
            f"end model {spec!r}: expected 'auto', 'fixed', one of {FEATURISATIONS} or a factory"
        )
    counted: dict[str, CorpusCounts | None] = {}
    selection = select_end_model(
        texts,
        probs,
        n_classes,
        features=features,
        class_weight=class_weight,
        encoder_path=encoder_path,
        counts_cache=counted,
        **search,
    )
    model = selection.estimator(n_classes, class_weight=class_weight, encoder_path=encoder_path)
    probs = soft_targets(probs, len(texts), n_classes)
    # the search's counts are of exactly these texts when it kept every row (in order)
    reuse = [c for c in counted.values() if c is not None] if selection.n_rows == len(texts) else []
    model.fit(
        texts,
        probs if selection.members else _targets(probs, selection.chosen.targets),
        corpus_counts=reuse,
    )
    selection.calibrate(model)
    return FittedEndModel(model, spec, selection)


def end_model_spec(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The chosen end model of a registry entry, for other paths (e.g. streaming) to follow.

    Returns ``{"features": "word"|"char"|"both"|"encoder"|"both+encoder", "targets": "soft"|"hard",
    "C": float, "calibrated": bool}``; entries from before the search (or with a factory) read as
    the old default (word, soft, C=10, uncalibrated).
    ``features`` maps to TF-IDF settings via :data:`FEATURE_SETTINGS`.
    """
    em = (metrics or {}).get("end_model") or {}
    features = em.get("features") if em.get("features") in FEATURISATIONS else "word"
    targets = em.get("targets") if em.get("targets") in TARGETS else "soft"
    C = float(em["C"]) if isinstance(em.get("C"), int | float) else 10.0
    return {"features": features, "targets": targets, "C": C, "calibrated": bool(em.get("calibrated", False))}


def fit_task_end_model(
    texts: Sequence[str],
    probs: np.ndarray,
    n_classes: int,
    task_spec: str | EndModelFactory,
    settings: Any = None,
    *,
    class_weight: Sequence[float] | None = None,
    seed: int = 0,
) -> FittedEndModel:
    """:func:`fit_end_model` as the ``classifier`` asset runs it: the task's ``end_model`` unless
    ``settings.spec`` (``BEAMBELL_END_MODEL``) overrides it; the encoder candidate only when
    ``settings.encoder_path`` names one and ``sentence_transformers`` imports."""
    from beambell_assets.settings import EndModelSettings
    from beambell_assets.training.encoder import encoder_available, resolve_encoder_path

    settings = settings or EndModelSettings.from_env()
    spec = settings.spec or task_spec
    encoder = resolve_encoder_path(settings.encoder_path)
    if not encoder_available(encoder):
        if spec in ENCODER_FEATURES:
            raise ValueError(f"end model {spec!r} needs BEAMBELL_ENCODER_PATH and sentence-transformers")
        encoder = None
    return fit_end_model(
        texts,
        probs,
        n_classes,
        spec,
        class_weight=class_weight,
        encoder_path=encoder,
        folds=settings.cv_folds,
        max_rows=settings.cv_max_rows,
        repeats=settings.cv_repeats or None,
        combine=settings.combine,
        seed=seed,
    )
