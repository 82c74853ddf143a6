"""Stateful LFs: learned from gold, JSON round trip with a content version, identical row/column votes."""

import json

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import PandasLFApplier

from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.lf_types import KeywordLF
from beambell_assets.labeling.stateful import (
    STATEFUL_LF_NAMES,
    StatefulLFParams,
    StatefulLFState,
    build_stateful_lfs,
    fit_state,
    fit_state_with_out_of_fold_votes,
    load_current_state,
    out_of_fold_frame,
    save_state,
    with_out_of_fold_votes,
)
from beambell_assets.labeling.task import make_task
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.training.splits import GoldPolicy, gold_roles, split_gold

LABELS = ["Travel", "Food", "Sports"]
VOCAB = {
    0: "hotel flight beach resort booking luggage airport passport",
    1: "recipe pasta oven kitchen garlic dinner bake flour",
    2: "league goal match striker coach season stadium referee",
}


def _corpus(n: int, seed: int = 0) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    filler = ["page", "site", "home", "contact", "about", "news", "more"]
    for i in range(n):
        c = i % 3
        words = list(rng.choice(VOCAB[c].split(), 5)) + list(rng.choice(filler, 4))
        texts.append(" ".join(words))
        labels.append(c)
    return texts, labels


def test_fit_learns_discriminative_terms_and_votes_right() -> None:
    texts, labels = _corpus(60)
    state = fit_state(texts, labels, task="t", label_names=LABELS)
    assert state.fitted and set(state.keywords) == {"0", "1", "2"}
    assert "hotel" in state.keywords["0"] and "page" not in state.keywords["0"]
    lfs = build_stateful_lfs(state)
    assert [lf.name for lf in lfs] == list(STATEFUL_LF_NAMES)
    test_texts, test_labels = _corpus(30, seed=1)
    frame = pd.DataFrame({"text": test_texts})
    for lf in lfs:
        votes = lf.column_votes(frame)
        fired = votes != -1
        assert fired.mean() > 0.7
        assert (votes[fired] == np.array(test_labels)[fired]).mean() > 0.95


def test_state_round_trips_through_json_with_a_content_version(tmp_path) -> None:
    texts, labels = _corpus(30)
    state = fit_state(texts, labels, task="t", label_names=LABELS)
    again = StatefulLFState.from_json(json.loads(json.dumps(state.to_json())))
    assert again.version == state.version
    bad = state.to_json()
    bad["keywords"]["0"] = ["tampered"]
    with pytest.raises(ValueError, match="version"):
        StatefulLFState.from_json(bad)
    more = fit_state(*_corpus(45), task="t", label_names=LABELS)
    assert more.version != state.version

    task = make_task("t", LABELS, [KeywordLF("kw", ["hotel"], 0)])
    store = ArtifactStore(tmp_path)
    assert not load_current_state(store, "stateful_lfs", task).fitted  # nothing saved yet: abstain
    save_state(store, "stateful_lfs", state)
    save_state(store, "stateful_lfs", more)
    assert load_current_state(store, "stateful_lfs", task).version == more.version
    assert store.exists("stateful_lfs", f"{state.version}.json")  # every version is kept
    other = make_task("t", ["X", "Y"], [KeywordLF("kw", ["hotel"], 0)])
    assert not load_current_state(store, "stateful_lfs", other).fitted  # another label space


def test_too_little_gold_gives_abstaining_lfs() -> None:
    state = fit_state(["hotel beach"] * 3, [0, 0, 0], task="t", label_names=LABELS)
    assert not state.fitted
    frame = pd.DataFrame({"text": ["hotel beach resort flight", "x"]})
    for lf in build_stateful_lfs(state):
        assert (lf.column_votes(frame) == -1).all()


def test_fast_applier_matches_snorkel_with_stateful_lfs() -> None:
    texts, labels = _corpus(40)
    lfs = build_stateful_lfs(fit_state(texts, labels, task="t", label_names=LABELS))
    df = pd.DataFrame({"text": _corpus(25, seed=3)[0] + ["", "hotel"]})
    fast, _ = FastLFApplier(lfs, n_jobs=1).apply(df)
    slow = PandasLFApplier(lfs).apply(df, progress_bar=False)
    assert (fast == slow).all()


def test_gold_roles_and_split_keep_eval_and_overrides_disjoint() -> None:
    n = 400
    gold = pd.DataFrame(
        {"page_id": [f"p{i}" for i in range(n)], "source": ["label_studio:1"] * 300 + ["csv:g.csv"] * 100}
    )
    roles = gold_roles(gold)
    assert (roles.iloc[300:] == "eval").all()  # CSV gold stays evaluation-only
    share_train = (roles.iloc[:300] == "train").mean()
    assert 0.4 < share_train < 0.6
    few = gold_roles(gold.iloc[:10])
    assert (few == "eval").all()  # below the threshold every label is evaluation gold
    ids = [*gold["page_id"], *[f"w{i}" for i in range(600)]]
    is_gold = np.array([True] * n + [False] * 600)
    held, override = split_gold(ids, is_gold, roles)
    assert not (held & override).any()
    assert override.sum() == (roles == "train").sum() and held.sum() == (roles == "eval").sum()
    assert gold_roles(gold, GoldPolicy(training_sources=("label_studio", "csv"))).eq("train").sum() > 150


def test_lfs_vote_only_once_out_of_fold_validation_on_the_gold_supports_them() -> None:
    texts, labels = _corpus(60)
    good = fit_state(texts, labels, task="t", label_names=LABELS)
    # out-of-fold: every counted vote was made by an LF not learned from that page
    for name in STATEFUL_LF_NAMES:
        fired, correct = good.validation[name]
        assert fired > 0 and correct / fired > 0.9 and good.validated(name)
    # the same pages with shuffled labels: the LFs learn something, but it does not hold out of fold
    shuffled = list(np.random.default_rng(5).permutation(labels))
    noisy = fit_state(texts, shuffled, task="t", label_names=LABELS)
    assert noisy.fitted
    assert not any(noisy.validated(name) for name in STATEFUL_LF_NAMES)
    frame = pd.DataFrame({"text": texts})
    for lf in build_stateful_lfs(noisy):
        assert (lf.column_votes(frame) == -1).all()  # unvalidated: abstains everywhere
    # switching validation off trusts the fitted LFs unchecked
    trusting = fit_state(
        texts, shuffled, task="t", label_names=LABELS, params=StatefulLFParams(validation_folds=0)
    )
    assert all(trusting.validated(name) for name in STATEFUL_LF_NAMES)
    assert any((lf.column_votes(frame) != -1).any() for lf in build_stateful_lfs(trusting))
    # the counts survive the JSON round trip with the state
    assert StatefulLFState.from_json(json.loads(json.dumps(noisy.to_json()))).validation == noisy.validation


def test_out_of_fold_votes_are_what_the_lfs_say_on_gold_they_did_not_learn_from() -> None:
    texts, labels = _corpus(60)
    noisy = np.array(labels)
    flipped = np.arange(0, 60, 5)  # 12 mislabelled gold pages
    noisy[flipped] = (noisy[flipped] + 1) % 3
    state, oof = fit_state_with_out_of_fold_votes(texts, noisy.tolist(), task="t", label_names=LABELS)
    assert state.version == fit_state(texts, noisy.tolist(), task="t", label_names=LABELS).version
    assert all(state.validated(name) for name in STATEFUL_LF_NAMES)
    assert oof.shape == (60, len(STATEFUL_LF_NAMES))
    for j, name in enumerate(STATEFUL_LF_NAMES):  # the validation counted exactly these votes
        fired = oof[:, j] != -1
        assert [int(fired.sum()), int((oof[fired, j] == noisy[fired]).sum())] == state.validation[name]
    frame = pd.DataFrame({"text": texts})
    in_sample = np.column_stack([lf.column_votes(frame) for lf in build_stateful_lfs(state)])
    # on the mislabelled pages the out-of-fold LFs vote the page's true class, not the gold's
    nb = STATEFUL_LF_NAMES.index("gold_naive_bayes")
    assert (oof[flipped, nb] == np.array(labels)[flipped]).mean() > 0.8
    assert (in_sample[flipped, nb] == noisy[flipped]).sum() >= (oof[flipped, nb] == noisy[flipped]).sum()
    # an LF the gold did not validate abstains out of fold too
    shuffled = np.random.default_rng(5).permutation(labels).tolist()
    unvalidated, oof_unvalidated = fit_state_with_out_of_fold_votes(
        texts, shuffled, task="t", label_names=LABELS
    )
    assert unvalidated.fitted and (oof_unvalidated == -1).all()
    # with validation switched off the LFs are trusted, and still voted out of fold (two folds)
    unchecked = StatefulLFParams(validation_folds=0)
    trusted, oof_trusted = fit_state_with_out_of_fold_votes(
        texts, labels, task="t", label_names=LABELS, params=unchecked
    )
    assert not trusted.validation and (oof_trusted != -1).any(axis=0).all()


def test_the_label_model_reads_out_of_fold_votes_on_the_states_gold_pages() -> None:
    texts, labels = _corpus(30)
    state = fit_state(texts, labels, task="t", label_names=LABELS)
    oof = out_of_fold_frame(["a", "b"], np.array([[0, -1], [2, 1]]), state)
    assert list(oof.columns) == ["page_id", "state_version", *STATEFUL_LF_NAMES]
    votes = pd.DataFrame(
        {
            "page_id": ["a", "x", "b"],
            "kw_x": [1, 1, 1],
            STATEFUL_LF_NAMES[0]: [9, 9, 9],
            STATEFUL_LF_NAMES[1]: [8, 8, 8],
        }
    )
    out, n = with_out_of_fold_votes(votes, oof)
    assert n == 2
    assert out[list(STATEFUL_LF_NAMES)].to_numpy().tolist() == [[0, -1], [9, 8], [2, 1]]
    assert out["kw_x"].tolist() == [1, 1, 1] and votes[STATEFUL_LF_NAMES[0]].tolist() == [9, 9, 9]
    same, n_none = with_out_of_fold_votes(votes, None)
    assert same is votes and n_none == 0


def test_fold_term_matrices_are_what_countvectorizer_fits_on_the_fold() -> None:
    """The fit analyses the gold once and slices it per fold: same vocabulary, same ties, same counts."""
    from sklearn.feature_extraction.text import CountVectorizer

    from beambell_assets.labeling.model_lfs import analyze
    from beambell_assets.labeling.stateful import _gold_terms, _term_matrix

    texts, _ = _corpus(80, seed=2)
    terms = _gold_terms(texts)
    rows = np.random.default_rng(0).choice(80, size=50, replace=False)
    for limit in (None, 40, 7):  # 7: far fewer than the terms, so many frequency ties are cut
        x, vocab = _term_matrix(terms, rows, limit)
        vec = CountVectorizer(analyzer=analyze, binary=True, max_features=limit)
        ref = vec.fit_transform([texts[i] for i in rows])
        assert vocab.tolist() == vec.get_feature_names_out().tolist()
        assert (x != ref).nnz == 0


def test_wilson_lower_bound_needs_evidence() -> None:
    from beambell_assets.labeling.stateful import wilson_lower_bound

    assert wilson_lower_bound(0, 0, 1.645) == 0.0
    assert wilson_lower_bound(2, 2, 1.645) < 0.5 < wilson_lower_bound(30, 30, 1.645)
    assert wilson_lower_bound(60, 100, 1.645) < 0.6
