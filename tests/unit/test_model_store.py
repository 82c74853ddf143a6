"""Model files with skops: exact round trip, integrity hash, refusal of types off the allow-list."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from beambell_assets.serving.model_store import (
    TRUSTED_TYPES,
    ModelIntegrityError,
    UntrustedModelError,
    load_model,
    load_registered_model,
    save_model,
    untrusted_types,
)
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier

TEXTS = [
    "cheap flights and hotel deals",
    "book a hotel near the beach",
    "football scores and league results",
    "the match ended after a late goal",
    "election news and government policy",
    "parliament votes on the new budget",
]


class Tracked:
    """A type nobody put on the allow-list; counts how often it is brought back to life."""

    restored = 0

    def __init__(self) -> None:
        self.payload = [1, 2, 3]

    def __setstate__(self, state: dict) -> None:
        type(self).restored += 1
        self.__dict__.update(state)


@pytest.fixture
def fitted() -> SoftLabelTextClassifier:
    soft = np.array([[0.9, 0.1, 0.0, 0.0]] * 2 + [[0.1, 0.8, 0.1, 0.0]] * 2 + [[0.0, 0.2, 0.8, 0.0]] * 2)
    return SoftLabelTextClassifier(n_classes=4).fit(TEXTS, soft)


def test_round_trip_is_exact(fitted, tmp_path):
    path = tmp_path / "models" / "m.skops"
    digest = save_model(fitted, path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    loaded = load_model(path, expected_sha256=digest)
    assert isinstance(loaded, SoftLabelTextClassifier)
    queries = [*TEXTS, "hotel goal election", ""]
    np.testing.assert_array_equal(loaded.predict_proba(queries), fitted.predict_proba(queries))
    np.testing.assert_array_equal(loaded.predict(queries), fitted.predict(queries))
    assert loaded.get_params() == fitted.get_params()


def test_round_trip_with_char_ngrams(tmp_path):
    model = SoftLabelTextClassifier(n_classes=3, char_ngram_range=(2, 4)).fit(TEXTS, [0, 0, 1, 1, 2, 2])
    path = tmp_path / "char.skops"
    save_model(model, path)
    np.testing.assert_array_equal(load_model(path).predict_proba(TEXTS), model.predict_proba(TEXTS))


def test_plain_sklearn_model(tmp_path):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    path = tmp_path / "lr.skops"
    save_model(model, path)
    np.testing.assert_array_equal(load_model(path).predict_proba(X), model.predict_proba(X))


def test_our_classifier_is_the_only_type_skops_itself_does_not_trust(fitted, tmp_path):
    path = tmp_path / "m.skops"
    save_model(fitted, path)
    assert untrusted_types(path) == []
    assert "beambell_assets.training.soft_classifier.SoftLabelTextClassifier" in TRUSTED_TYPES


def test_refuses_a_type_off_the_allow_list_without_constructing_it(tmp_path):
    path = tmp_path / "evil.skops"
    save_model({"model": Tracked()}, path)
    Tracked.restored = 0
    with pytest.raises(UntrustedModelError, match="Tracked") as info:
        load_model(path)
    assert info.value.types == [f"{__name__}.Tracked"]
    assert Tracked.restored == 0
    # explicitly trusted by the caller: it loads
    loaded = load_model(path, trusted=[f"{__name__}.Tracked"])
    assert loaded["model"].payload == [1, 2, 3]
    assert Tracked.restored == 1


def test_integrity_check(fitted, tmp_path):
    path = tmp_path / "m.skops"
    save_model(fitted, path)
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        load_model(path, expected_sha256="0" * 64)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_model(tmp_path / "nope.skops")


def test_overwrite_keeps_a_complete_file(fitted, tmp_path):
    path = tmp_path / "m.skops"
    first = save_model(fitted, path)
    second = save_model(SoftLabelTextClassifier(n_classes=2).fit(TEXTS, [0, 1] * 3), path)
    assert first != second
    assert load_model(path, expected_sha256=second).n_classes_ == 2


def test_a_registered_model_is_read_once_per_process_and_its_file_still_checked(fitted, tmp_path):
    a, b = tmp_path / "a.skops", tmp_path / "b.skops"
    digest_a = save_model(fitted, a)
    first = load_registered_model(a, digest_a)
    assert load_registered_model(a, digest_a) is first  # the next step reuses it
    np.testing.assert_array_equal(first.predict_proba(TEXTS), fitted.predict_proba(TEXTS))
    # A file that changed after it was loaded is refused, never served from memory.
    save_model(SoftLabelTextClassifier(n_classes=4).fit(TEXTS[:4], np.eye(4)), a)
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        load_registered_model(a, digest_a)
    save_model(fitted, b)
    with pytest.raises(ModelIntegrityError, match="SHA-256"):  # checked before the first load too
        load_registered_model(b, "0" * 64)
    a.unlink()
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_registered_model(a, digest_a)


def test_skops_imports_without_torch_and_trusts_the_same_types(tmp_path):
    """``_skops`` keeps skops' estimator walk out of ``sklearn.externals`` (whose torch shim imports
    torch): a process that only saves and loads models never imports torch, and skops' default
    trust list is exactly what a plain walk gives."""
    code = textwrap.dedent(
        """
        import pkgutil, sys
        original = pkgutil.walk_packages
        from beambell_assets.serving.model_store import _skops, load_model, save_model
        from beambell_assets.training.soft_classifier import SoftLabelTextClassifier
        model = SoftLabelTextClassifier(n_classes=2).fit(["a b c", "d e f"] * 3, [0, 1] * 3)
        save_model(model, sys.argv[1])
        assert (load_model(sys.argv[1]).predict(["a b"]) == model.predict(["a b"])).all()
        assert "torch" not in sys.modules, "saving and loading imported torch"
        assert pkgutil.walk_packages is original, "the walk was not restored"
        trusted = list(_skops()._trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES)
        from sklearn.utils import all_estimators
        from skops.io._utils import get_type_name
        plain = [get_type_name(c) for _, c in all_estimators() if get_type_name(c).startswith("sklearn.")]
        assert "torch" in sys.modules, "a plain walk should import torch: then this test shows nothing"
        assert trusted == plain, sorted(set(trusted) ^ set(plain))
        print("ok", len(trusted))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "m.skops")], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok ")
