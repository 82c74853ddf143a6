"""The averaged end model: members share their feature parts and average their probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from beambell_assets.serving.model_store import load_model, save_model
from beambell_assets.training.calibration import LogitCalibration
from beambell_assets.training.end_model import (
    Candidate,
    candidate_estimator,
    ensemble_featurisations,
    ensemble_weights,
)
from beambell_assets.training.ensemble import AveragedTextClassifier

TOPICS = {
    0: "goal match league coach striker",
    1: "stock market shares profit bank",
    2: "rain storm wind sun cloud",
}


def _corpus(n: int = 90, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts, y = [], []
    for i in range(n):
        c = i % 3
        words = list(rng.choice(TOPICS[c].split(), size=3)) + list(
            rng.choice(TOPICS[(c + 1) % 3].split(), size=1)
        )
        texts.append(" ".join([*words, "the", "news"]))
        y.append(c)
    probs = np.eye(3)[y] * 0.7 + 0.1
    return texts, probs


def _members(k: int = 3) -> list[Candidate]:
    return [
        Candidate("word", 10.0, "soft", True),
        Candidate("char", 1.0, "hard"),
        Candidate("both", 10.0, "soft"),
    ]


def _ensemble(cands: list[Candidate], k: int = 3) -> AveragedTextClassifier:
    return AveragedTextClassifier(
        [(c.name, candidate_estimator(c, k)) for c in cands], targets=[c.targets for c in cands], n_classes=k
    )


def test_mean_of_the_members_fitted_alone(tmp_path) -> None:
    texts, probs = _corpus()
    cands = _members()
    ens = _ensemble(cands).fit(texts, probs)
    cal = LogitCalibration(1.7, np.array([0.2, -0.1, 0.0]))
    ens.set_calibrations([cal, None, None])
    # the same members fitted on their own, each with its own vectorizer
    alone = []
    for c in cands:
        m = candidate_estimator(c, 3).fit(texts, probs if c.targets == "soft" else probs.argmax(axis=1))
        alone.append(m.set_calibration(cal if c.calibrated else None).predict_proba(texts[:20]))
    np.testing.assert_allclose(ens.predict_proba(texts[:20]), np.mean(alone, axis=0), atol=1e-6)
    # word, char and both use two parts, not three (a both member costs no extra vectorising)
    assert len(ens.parts_) == 2 and ens.member_parts_ == [[0], [1], [0, 1]]
    assert ens.predict(texts[:3]).tolist() == [0, 1, 2]
    path = tmp_path / "ens.skops"
    save_model(ens, path)  # the allow-list covers it
    np.testing.assert_allclose(load_model(path).predict_proba(texts), ens.predict_proba(texts))


def test_refit_drops_calibrations_and_bad_arguments_fail_clearly() -> None:
    texts, probs = _corpus()
    ens = _ensemble(_members()).fit(texts, probs)
    before = ens.predict_proba(texts)
    ens.set_calibrations([LogitCalibration(3.0, np.zeros(3)), None, None])
    assert not np.allclose(ens.predict_proba(texts), before)
    np.testing.assert_allclose(ens.fit(texts, probs).predict_proba(texts), before)
    assert ens.predict_proba([]).shape == (0, 3)
    with pytest.raises(ValueError, match="calibrations"):
        ens.set_calibrations([None])
    with pytest.raises(ValueError, match="targets"):
        AveragedTextClassifier(
            [("w", candidate_estimator(Candidate("word", 1.0, "soft"), 3))], targets=["x"]
        ).fit(texts, probs)
    with pytest.raises(ValueError, match="at least one"):
        AveragedTextClassifier([]).fit(texts, probs)


def test_weights_split_equally_across_feature_families() -> None:
    word, char, both = (
        Candidate("word", 1.0, "soft"),
        Candidate("char", 1.0, "soft"),
        Candidate("both", 1.0, "soft"),
    )
    enc = Candidate("encoder", 1.0, "soft")
    np.testing.assert_allclose(ensemble_weights([word, char, both]), [1 / 3] * 3)
    np.testing.assert_allclose(ensemble_weights([enc, word, char, both]), [1 / 2, 1 / 6, 1 / 6, 1 / 6])
    texts, probs = _corpus()
    cands = [word, char]
    plain = _ensemble(cands).fit(texts, probs)
    weighted = AveragedTextClassifier(
        [(c.name, candidate_estimator(c, 3)) for c in cands], weights=[3.0, 1.0], n_classes=3
    ).fit(texts, probs)
    alone = [candidate_estimator(c, 3).fit(texts, probs).predict_proba(texts) for c in cands]
    np.testing.assert_allclose(weighted.predict_proba(texts), 0.75 * alone[0] + 0.25 * alone[1], atol=1e-6)
    np.testing.assert_allclose(plain.predict_proba(texts), 0.5 * alone[0] + 0.5 * alone[1], atol=1e-6)
    with pytest.raises(ValueError, match="weights"):
        AveragedTextClassifier([(c.name, candidate_estimator(c, 3)) for c in cands], weights=[1.0]).fit(
            texts, probs
        )


def test_with_an_encoder_the_members_are_the_featurisations_that_read_it() -> None:
    ngrams = ("word", "char", "both")
    assert ensemble_featurisations(ngrams) == ngrams
    assert ensemble_featurisations((*ngrams, "encoder", "both+encoder")) == ("encoder", "both+encoder")
    # one featurisation reading the encoder is no ensemble of its own: every featurisation is pooled
    assert ensemble_featurisations(("word", "encoder")) == ("word", "encoder")
    assert ensemble_featurisations(("encoder",)) == ("encoder",)
    pair = [Candidate("encoder", 1.0, "hard"), Candidate("both+encoder", 10.0, "soft")]
    np.testing.assert_allclose(ensemble_weights(pair), [0.5, 0.5])


def test_tiny_corpus_parts_fall_back_to_min_df_1_as_a_single_model_does() -> None:
    texts, y = ["alpha beta", "gamma delta", "epsilon zeta"], np.array([0, 1, 2])
    ens = _ensemble([Candidate("word", 10.0, "soft"), Candidate("char", 10.0, "soft")]).fit(texts, y)
    assert ens.parts_[0].min_df == 1  # no word is in two documents; char n-grams are
    single = candidate_estimator(Candidate("word", 10.0, "soft"), 3).fit(texts, y)
    assert ens.parts_[0].vocabulary_ == single.vectorizer_.vocabulary_
