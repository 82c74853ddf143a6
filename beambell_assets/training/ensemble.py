"""An end model that averages several soft-label classifiers' probabilities.

The gold-free search (``end_model.py``) scores word, char and both TF-IDF (and encoder) candidates
against the weak labels. Which one is best against *gold* is within the fold-to-fold noise of a few
hundred labelled rows, so picking one candidate often picks the wrong one; averaging the best
candidate of each featurisation was as good as the best single candidate chosen *with* gold on the
dev websites and AG News (README, "The end model"). Like scikit-learn's ``VotingClassifier`` with
``voting="soft"``, but:

* every member learns from the same probabilistic labels, each with its own targets (``soft``: the
  label model's probabilities, ``hard``: their argmax) and its own gold-free calibration;
* each distinct featurisation **part** (word TF-IDF, char TF-IDF, encoder) is fitted and computed
  once and shared: a word member, a char member and a both member cost what one both model costs
  to vectorise, which dominates the cost of scoring a page; an encoder member and a
  ``both+encoder`` member embed each page once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

from beambell_assets.training.calibration import LogitCalibration
from beambell_assets.training.char_ngrams import build_index, transform
from beambell_assets.training.corpus_counts import CorpusCounts
from beambell_assets.training.encoder import EncoderFeatures
from beambell_assets.training.soft_classifier import (
    SoftLabelTextClassifier,
    _as_texts,
    fit_vectorizer,
    soft_targets,
)


def _parts(member: SoftLabelTextClassifier) -> list[tuple[tuple[Any, ...], Any]]:
    """A member's featurisation as (key, unfitted vectorizer) parts; equal keys are the same part."""
    built = member._build_vectorizer()
    vecs = [t for _, t in built.transformer_list] if isinstance(built, FeatureUnion) else [built]
    common = (member.min_df, member.max_df, member.max_features)
    out = []
    for vec in vecs:
        if isinstance(vec, EncoderFeatures):
            out.append((("encoder", vec.path, vec.max_seq_length), vec))
        elif vec.analyzer == "word":
            out.append((("word", tuple(member.word_ngram_range), *common), vec))
        else:
            out.append((("char", tuple(member.char_ngram_range), member.max_chars, *common), vec))
    return out


class AveragedTextClassifier(ClassifierMixin, BaseEstimator):
    """The (weighted) mean of its members' ``predict_proba``, members fitted on shared feature parts.

    Parameters
    ----------
    estimators: ``(name, SoftLabelTextClassifier)`` pairs, unfitted (they are cloned).
    targets: per member, ``"soft"`` (the probabilities ``y``) or ``"hard"`` (their argmax);
        ``None``: all soft.
    weights: per member, its share of the mean (normalised to sum to 1); ``None``: equal.
    n_classes: size of the fixed class space (``None``: taken from ``y``).

    ``set_calibrations`` attaches each member's gold-free calibration (``training/calibration.py``);
    a refit drops them, as for a single classifier.
    """

    def __init__(
        self,
        estimators: Sequence[tuple[str, SoftLabelTextClassifier]] = (),
        *,
        targets: Sequence[str] | None = None,
        weights: Sequence[float] | None = None,
        n_classes: int | None = None,
    ) -> None:
        self.estimators = estimators
        self.targets = targets
        self.weights = weights
        self.n_classes = n_classes

    def fit(self, X: Any, y: Any, corpus_counts: Sequence[CorpusCounts] = ()) -> AveragedTextClassifier:
        """Fit each distinct part once on ``X``, then every member's head on its parts.
        ``corpus_counts``: a search's n-gram counts of exactly ``X`` (``fit_vectorizer``)."""
        if len(self.estimators) == 0:
            raise ValueError("an ensemble needs at least one member")
        targets = list(self.targets) if self.targets is not None else ["soft"] * len(self.estimators)
        weights = np.ones(len(self.estimators)) if self.weights is None else np.asarray(self.weights, float)
        n = len(self.estimators)
        if weights.shape != (n,) or not np.all(np.isfinite(weights)) or (weights < 0).any():
            raise ValueError("weights must be non-negative finite numbers, one per member")
        if weights.sum() <= 0:
            raise ValueError("weights must not all be zero")
        self.weights_ = weights / weights.sum()
        if len(targets) != len(self.estimators) or set(targets) - {"soft", "hard"}:
            raise ValueError("targets must be 'soft' or 'hard', one per member")
        texts = _as_texts(X)
        probs = soft_targets(y, len(texts), self.n_classes)
        keys: list[tuple[Any, ...]] = []
        self.parts_: list[Any] = []
        blocks: list[Any] = []
        self.member_parts_: list[list[int]] = []
        self.members_: list[SoftLabelTextClassifier] = []
        for (_, est), kind in zip(self.estimators, targets, strict=True):
            member = clone(est)
            used = []
            for key, vec in _parts(member):
                if key not in keys:
                    keys.append(key)
                    fitted, block = _fit_part(vec, member, texts, corpus_counts)
                    self.parts_.append(fitted)
                    blocks.append(block)
                used.append(keys.index(key))
            member.fit_features(
                _stack([blocks[i] for i in used]), probs if kind == "soft" else probs.argmax(axis=1)
            )
            self.member_parts_.append(used)
            self.members_.append(member)
        self.classes_ = self.members_[0].classes_
        self.n_classes_ = self.members_[0].n_classes_
        return self

    def set_calibrations(self, calibrations: Sequence[LogitCalibration | None]) -> AveragedTextClassifier:
        """Each member's calibration (``None``: none), in member order."""
        check_is_fitted(self, "members_")
        if len(calibrations) != len(self.members_):
            raise ValueError(f"{len(calibrations)} calibrations for {len(self.members_)} members")
        for member, cal in zip(self.members_, calibrations, strict=True):
            member.set_calibration(cal)
        return self

    def transform_parts(self, X: Iterable[str]) -> list[Any]:
        """Each part's features of documents ``X`` (char n-grams counted vectorised)."""
        check_is_fitted(self, "parts_")
        texts = _as_texts(X)
        indexes = self.__dict__.get("_char_indexes")
        if indexes is None:
            indexes = [build_index(part) if hasattr(part, "vocabulary_") else {} for part in self.parts_]
            self.__dict__["_char_indexes"] = indexes  # a cache: never persisted (__getstate__)
        return [transform(part, texts, index) for part, index in zip(self.parts_, indexes, strict=True)]

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """(n, n_classes) mean of the members' (calibrated) probabilities."""
        check_is_fitted(self, "members_")
        texts = _as_texts(X)
        if not texts:
            return np.zeros((0, self.n_classes_))
        blocks = self.transform_parts(texts)
        out = np.zeros((len(texts), self.n_classes_))
        for member, used, w in zip(self.members_, self.member_parts_, self.weights_, strict=True):
            out += w * member.predict_proba_features(_stack([blocks[i] for i in used]))
        return out

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """The most probable class per document (ties: the lowest index)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def decision_confidence(self, X: Iterable[str]) -> np.ndarray:
        """Max class probability per document (for active learning and thresholds)."""
        return self.predict_proba(X).max(axis=1)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_char_indexes", None)
        return state

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def _fit_part(
    vec: Any, member: SoftLabelTextClassifier, texts: list[str], corpus_counts: Sequence[CorpusCounts]
) -> tuple[Any, Any]:
    """Fit one part, with a single model's ``min_df`` fallback (:func:`fit_vectorizer`)."""
    return fit_vectorizer(
        lambda min_df=None: vec if min_df is None else vec.set_params(min_df=min_df),
        texts,
        member.min_df,
        corpus_counts,
    )


def _stack(blocks: list[Any]) -> Any:
    if len(blocks) == 1:
        return blocks[0]
    if all(sp.issparse(b) for b in blocks):
        return sp.hstack(blocks, format="csr")
    return np.hstack([b.toarray() if sp.issparse(b) else np.asarray(b) for b in blocks])
