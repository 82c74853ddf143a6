"""The gold-free end-model search: the candidate table, the choice, and what the registry keeps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from beambell_assets.serving.model_store import load_model, save_model
from beambell_assets.training.end_model import (
    Candidate,
    candidate_estimator,
    end_model_spec,
    fit_end_model,
    select_end_model,
)
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier

WORDS = {0: ["goal", "match", "league", "coach"], 1: ["stock", "market", "shares", "profit"]}


def _corpus(n: int = 120, seed: int = 0, misspell: bool = False) -> tuple[list[str], np.ndarray]:
    """Two topics; with ``misspell`` every topical word gets a random suffix, so whole words never
    repeat but character n-grams do: only char features can learn it."""
    rng = np.random.default_rng(seed)
    texts, y = [], []
    for i in range(n):
        c = i % 2
        words = [str(rng.choice(WORDS[c])) for _ in range(3)] + ["the", "a", "news"]
        if misspell:
            words = [w + "".join(rng.choice(list("xyzq"), size=3)) for w in words]
        texts.append(" ".join(rng.permutation(words)))
        y.append(c)
    probs = np.eye(2)[y] * 0.8 + 0.1
    return texts, probs


def test_search_table_covers_every_candidate_and_marks_one() -> None:
    texts, probs = _corpus()
    sel = select_end_model(texts, probs, 2, c_grid=(1.0, 10.0), folds=3, combine="best")
    singles = sel.table[sel.table["features"] != "ensemble"]
    assert len(singles) == 3 * 2 * 2 * 2  # word/char/both x C x soft/hard x calibrated or not
    assert len(sel.table) == len(singles) + 1  # and the ensemble, scored but not chosen here
    assert sel.table["chosen"].sum() == 1 and not sel.members
    best = sel.table.loc[sel.table["chosen"]].iloc[0]
    assert best["cross_entropy"] == singles["cross_entropy"].min()  # the gold-free criterion
    assert set(singles["targets"]) == {"soft", "hard"}
    assert sel.table["expected_accuracy"].between(0, 1).all()
    json.dumps(sel.metrics())  # the registry stores it as JSON


def test_ensemble_averages_the_best_candidate_of_each_featurisation() -> None:
    texts, probs = _corpus()
    sel = select_end_model(texts, probs, 2, c_grid=(1.0, 10.0), folds=3)
    singles = sel.table[sel.table["features"] != "ensemble"].set_index("candidate")
    assert [c.features for c in sel.members] == list(
        dict.fromkeys(
            singles.sort_values(["cross_entropy", "expected_accuracy"], ascending=[True, False])["features"]
        )
    )
    for member in sel.members:  # each the lowest cross-entropy of its featurisation
        own = singles[singles["features"] == member.features]
        assert singles.loc[member.name, "cross_entropy"] == own["cross_entropy"].min()
    assert sel.members[0] == sel.chosen  # the best single leads (and is what the stream follows)
    row = sel.table.loc[sel.table["chosen"]].iloc[0]
    assert row["features"] == "ensemble" and row["candidate"] == sel.model_name
    # averaging probabilities: its held-out cross-entropy is at most the members' mean (convexity)
    assert row["cross_entropy"] <= singles.loc[[c.name for c in sel.members], "cross_entropy"].mean() + 1e-9
    m = sel.metrics()
    assert m["chosen"] == sel.model_name and m["ensemble"] == [c.name for c in sel.members]
    assert m["best_single"] == sel.chosen.name and m["features"] == sel.chosen.features
    one = select_end_model(texts, probs, 2, features=("word",), c_grid=(1.0,), folds=3)
    assert not one.members and "ensemble" not in set(one.table["features"])  # one featurisation
    with pytest.raises(ValueError, match="combine"):
        select_end_model(texts, probs, 2, combine="stack")


def test_char_features_win_when_words_never_repeat() -> None:
    texts, probs = _corpus(160, misspell=True)
    sel = select_end_model(texts, probs, 2, c_grid=(10.0,), folds=3)
    assert sel.chosen.features in ("char", "both")
    word = sel.table[sel.table["features"] == "word"]["expected_accuracy"].max()
    assert sel.table["expected_accuracy"].max() > word + 0.1


def test_row_cap_bounds_the_search() -> None:
    texts, probs = _corpus(200)
    sel = select_end_model(texts, probs, 2, features=("word",), c_grid=(1.0,), max_rows=60, folds=2)
    assert sel.n_rows == 60 and sel.folds == 2 and len(sel.table) == 4


def test_fit_end_model_specs_and_saved_model_roundtrip(tmp_path) -> None:
    texts, probs = _corpus()
    fixed = fit_end_model(texts, probs, 2, "fixed")
    assert fixed.selection is None and fixed.metrics()["features"] == "word"
    auto = fit_end_model(texts, probs, 2, "auto", c_grid=(10.0,), folds=2)
    assert auto.selection is not None
    m = auto.metrics()
    assert m["chosen"] == auto.selection.model_name and len(m["candidates"]) == 12 + 1
    assert type(auto.model).__name__ == "AveragedTextClassifier"
    spec = end_model_spec({"end_model": m})
    assert spec == {
        "features": auto.selection.chosen.features,
        "targets": m["targets"],
        "C": 10.0,
        "calibrated": auto.selection.chosen.calibrated,
    }
    path = tmp_path / "m.skops"
    save_model(auto.model, path)
    again = load_model(path)  # every type the candidates use is on the allow-list
    np.testing.assert_allclose(again.predict_proba(texts), auto.model.predict_proba(texts))
    only_char = fit_end_model(texts, probs, 2, "char", c_grid=(1.0,), folds=2)
    assert set(only_char.selection.table["features"]) == {"char"}
    factory = fit_end_model(texts, probs, 2, lambda k: SoftLabelTextClassifier(n_classes=k, C=3.0))
    assert factory.model.C == 3.0
    with pytest.raises(ValueError, match="end model"):
        fit_end_model(texts, probs, 2, "xgboost")
    with pytest.raises(ValueError, match="criterion"):
        select_end_model(texts, probs, 2, criterion="f1")


def test_end_model_spec_defaults_for_old_entries() -> None:
    assert end_model_spec({}) == {"features": "word", "targets": "soft", "C": 10.0, "calibrated": False}
    assert end_model_spec(None)["features"] == "word"


def test_char_only_and_class_weight_factors() -> None:
    texts, probs = _corpus()
    char = candidate_estimator(Candidate("char", 1.0, "soft"), 2).fit(texts, probs)
    assert char.vectorizer_.analyzer == "char_wb"
    word = Candidate("word", 1.0, "soft")
    tilted = candidate_estimator(word, 2, class_weight=[1.0, 0.05]).fit(texts, probs)
    plain = candidate_estimator(Candidate("word", 1.0, "soft"), 2).fit(texts, probs)
    assert tilted.predict_proba(texts)[:, 1].mean() < plain.predict_proba(texts)[:, 1].mean()
    with pytest.raises(ValueError, match="class_weight"):
        SoftLabelTextClassifier(n_classes=2, class_weight=[1.0]).fit(texts, probs)


def test_repeats_follow_the_text_budget() -> None:
    from beambell_assets.training.end_model import CV_TEXT_BUDGET, MAX_REPEATS, cv_repeats

    headlines = ["short news item"] * 400  # ~6k characters: as many splits as allowed
    pages = ["x" * 5000] * 400  # 2M characters: more than the budget already
    assert cv_repeats(headlines) == MAX_REPEATS
    assert cv_repeats(pages) == 1
    assert cv_repeats(["x" * (CV_TEXT_BUDGET // 2)]) == 2
    assert cv_repeats([]) == MAX_REPEATS


def test_splits_are_stratified_and_repeated() -> None:
    from beambell_assets.training.end_model import cv_splits

    y = np.array([0] * 90 + [1] * 9)  # a rare class: every held-out fold still gets 3 of them
    splits = cv_splits(y, folds=3, repeats=2, seed=0)
    assert len(splits) == 6
    for tr, te in splits:
        assert (y[te] == 1).sum() == 3 and len(np.intersect1d(tr, te)) == 0
    assert not np.array_equal(np.sort(splits[0][1]), np.sort(splits[3][1]))  # another shuffle
    tiny = cv_splits(np.array([0, 0, 0, 0, 1]), folds=3, repeats=1, seed=0)  # 1 < folds: plain k-fold
    assert sorted(np.concatenate([te for _, te in tiny]).tolist()) == list(range(5))


def test_search_records_repeats_and_cpu() -> None:
    texts, probs = _corpus(90)
    sel = select_end_model(texts, probs, 2, features=("word",), c_grid=(10.0,), folds=3, repeats=None)
    assert sel.repeats == 3  # short texts: the budget pays for every repeat
    m = sel.metrics()
    assert m["cv_repeats"] == 3 and m["cpu_seconds"] >= 0
    assert len(sel.table) == 4 and sel.table["expected_accuracy_sd"].ge(0).all()
    one = select_end_model(texts, probs, 2, features=("word",), c_grid=(10.0,), folds=3)
    assert one.repeats == 1  # the default: one split


def _rare_class_corpus(n: int = 300, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """10 % of the documents are class 1, each with one of its topical words among shared ones:
    a regularised model ranks them right but its argmax calls most of them class 0."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    texts = []
    for c in y:
        words = [str(rng.choice(["the", "a", "news", "today", "report", "story"])) for _ in range(6)]
        words.append(str(rng.choice(WORDS[1] if c else WORDS[0])))
        texts.append(" ".join(words))
    probs = np.where(y[:, None] == np.arange(2), 0.9, 0.1)
    return texts, probs, y


def test_calibration_undoes_shrinkage_on_a_rare_class() -> None:
    """C=0.1 shrinks the rare class below the argmax line; the held-out-fitted calibration brings
    its documents back, scores higher against the weak labels, and is chosen and applied."""
    texts, probs, y = _rare_class_corpus()
    sel = select_end_model(texts, probs, 2, features=("word",), c_grid=(0.1,), folds=3)
    score = sel.table.set_index("candidate")["expected_accuracy"]
    assert score["word/C=0.1/soft/calibrated"] > score["word/C=0.1/soft"] + 0.03
    assert sel.chosen.calibrated and sel.calibration is not None and sel.calibration.scale > 1
    fitted = fit_end_model(texts, probs, 2, "word", c_grid=(0.1,), folds=3)
    raw = candidate_estimator(fitted.selection.chosen, 2).fit(
        texts, probs if fitted.selection.chosen.targets == "soft" else probs.argmax(axis=1)
    )
    assert (raw.predict(texts) == 1).sum() < (y == 1).sum() / 2  # shrunk: most rare ones missed
    assert (fitted.model.predict(texts) == y).mean() > (raw.predict(texts) == y).mean() + 0.03
    np.testing.assert_allclose(
        fitted.model.predict_proba(texts), fitted.selection.calibration.apply(raw.predict_proba(texts))
    )
    assert fitted.metrics()["calibration"]["scale"] == pytest.approx(sel.calibration.scale)


def test_a_plain_scikit_learn_factory_learns_the_argmax_in_the_tasks_class_space(tmp_path) -> None:
    """Snorkel's tutorial end model (a pipeline of class indices) as ``Task.end_model``; the third
    class has no training row, so its column must still be there, and zero."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = [f"football match league goal {i}" for i in range(10)] + [
        f"hotel flight beach trip {i}" for i in range(10)
    ]
    probs = np.array([[0.8, 0.2, 0.0]] * 10 + [[0.3, 0.6, 0.1]] * 10)

    def tutorial(n_classes: int):
        return make_pipeline(TfidfVectorizer(), LogisticRegression())

    fitted = fit_end_model(texts, probs, 3, tutorial)
    m = fitted.metrics()
    assert (m["spec"], m["chosen"], m["features"]) == ("tutorial", "tutorial", "ClassIndexClassifier")
    assert m["targets"].startswith("hard: it refused probabilities (ValueError: y should be a 1d array")
    proba = fitted.model.predict_proba(["a goal in the league", "a cheap flight"])
    assert proba.shape == (2, 3) and (proba[:, 2] == 0).all()
    assert fitted.model.predict(["a goal in the league", "a cheap flight"]).tolist() == [0, 1]
    path = tmp_path / "m.skops"
    save_model(fitted.model, path)
    np.testing.assert_allclose(load_model(path).predict_proba(texts), fitted.model.predict_proba(texts))
    soft = fit_end_model(texts, probs, 3, lambda k: SoftLabelTextClassifier(n_classes=k))
    assert soft.targets == "soft" and soft.model.predict_proba(texts).shape == (20, 3)

    class TwoColumns:  # takes the probabilities, answers with a class too few
        def fit(self, X, y):
            return self

        def predict_proba(self, X):
            return np.full((len(X), 2), 0.5)

    with pytest.raises(ValueError, match=r"predict_proba of 2 pages has shape \(2, 2\), expected \(2, 3\)"):
        fit_end_model(texts, probs, 3, lambda k: TwoColumns())
