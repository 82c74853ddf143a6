"""Save and load scikit-learn models with skops — never pickle.

A model file is data, not code: ``load_model`` first lists the types the file would construct
(``skops.io.get_untrusted_types``) and refuses the file, with the offending type names, unless
every type skops does not already trust is on :data:`TRUSTED_TYPES` (our classifier and the
scikit-learn pieces it is made of) or was passed explicitly by the caller. Nothing is imported or
instantiated from a refused file.

``save_model`` writes atomically (temporary file + rename) and returns the file's SHA-256, which
``load_model(..., expected_sha256=...)`` can check before reading anything else.
"""

from __future__ import annotations

import hashlib
import os
import pkgutil
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_IMPORT_LOCK = threading.Lock()


def _skops() -> Any:
    """``skops.io``, imported on first use, without torch.

    Importing skops lists scikit-learn's estimators (``all_estimators``) to trust them by default.
    Its package walk imports every scikit-learn *package*, ``sklearn.externals.array_api_compat.torch``
    among them, which imports torch: ~2.8 s of CPU in every process that loads or saves a model,
    although ``all_estimators`` then ignores everything under ``externals`` and nothing here uses
    torch arrays. During that one import the walk does not descend into ``sklearn.externals``; the
    trusted types come out the same (tested).
    """
    if "skops.io" not in sys.modules:
        with _IMPORT_LOCK, _walk_packages_skipping("sklearn.externals."):
            import skops.io
    import skops.io

    return skops.io


@contextmanager
def _walk_packages_skipping(skip: str) -> Iterator[None]:
    """``pkgutil.walk_packages`` yields nothing below ``skip`` (so imports nothing there) while the
    block runs. Its recursion looks itself up by name, so the one patch covers every level."""
    original = pkgutil.walk_packages

    def walk(path: Any = None, prefix: str = "", onerror: Any = None) -> Iterator[Any]:
        if prefix.startswith(skip):
            return iter(())
        return original(path, prefix, onerror)

    pkgutil.walk_packages = walk  # type: ignore[assignment]
    try:
        yield
    finally:
        pkgutil.walk_packages = original


#: Types beambell trusts beyond skops' own defaults (fully qualified names as skops reports them).
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "beambell_assets.training.soft_classifier.SoftLabelTextClassifier",
        "beambell_assets.training.ensemble.AveragedTextClassifier",
        "beambell_assets.training.user_end_model.ClassIndexClassifier",
        "beambell_assets.training.soft_classifier.HeadLower",
        "beambell_assets.training.packed_vocabulary.PackedTfidfVectorizer",
        "beambell_assets.training.encoder.EncoderFeatures",
        "beambell_assets.training.streaming_classifier.StreamingSoftClassifier",
        "beambell_assets.training.hashed_features.TokenHasher",
        # a used TokenHasher holds its own token table's slot (saved empty: its max size only)
        "beambell_assets.labeling.tokens.TokenTableSlot",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.feature_extraction.text.CountVectorizer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.linear_model._stochastic_gradient.SGDClassifier",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.pipeline.Pipeline",
    }
)


class UntrustedModelError(ValueError):
    """The model file would construct types that are not on the allow-list."""

    def __init__(self, path: Path, types: list[str]) -> None:
        self.path = path
        self.types = types
        super().__init__(
            f"refusing to load {path}: it contains type(s) not on beambell's allow-list: "
            f"{', '.join(types)}. If you wrote and trust them, pass them in trusted=[...]."
        )


class ModelIntegrityError(ValueError):
    """The model file's SHA-256 is not the expected one."""


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(model: Any, path: str | os.PathLike[str]) -> str:
    """Write ``model`` to ``path`` in skops format (atomically); return the file's SHA-256."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        _skops().dump(model, tmp_name)
        digest = file_sha256(tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return digest


def untrusted_types(path: str | os.PathLike[str], trusted: Iterable[str] = ()) -> list[str]:
    """Types in the file that neither skops nor the allow-list (plus ``trusted``) trusts."""
    return _refused(_skops().get_untrusted_types(file=Path(path)), trusted)


def _refused(found: Iterable[str], trusted: Iterable[str]) -> list[str]:
    """Of the types skops does not trust, those neither on the allow-list nor in ``trusted``."""
    allowed = TRUSTED_TYPES | set(trusted)
    return sorted(t for t in found if t not in allowed)


#: Models loaded by :func:`load_registered_model`, newest last: ``(path, sha256) -> model``.
_REGISTERED: OrderedDict[tuple[str, str], Any] = OrderedDict()
_REGISTERED_MAX = 2
_REGISTERED_LOCK = threading.Lock()


def load_registered_model(path: str | os.PathLike[str], expected_sha256: str) -> Any:
    """:func:`load_model` of a registered model, kept for the next step of the same process.

    A batch run reads the champion in several steps (predictions, drift reference, annotation
    queue). Since vocabularies are packed (``training/packed_vocabulary.py``) a load costs ~0.06 s
    for the dev websites' 86k-term ensemble (it was ~4 s); reading the file once still saves
    reading ~10 MB per step. The file's SHA-256 is still checked on every call, so a changed file
    is never served from memory. The model is shared: callers must only predict with it.
    """
    key = (str(Path(path).resolve()), expected_sha256)
    with _REGISTERED_LOCK:
        model = _REGISTERED.get(key)
    if model is not None:
        _check_sha256(Path(path), expected_sha256)
        with _REGISTERED_LOCK:
            _REGISTERED.move_to_end(key)
        return model
    model = load_model(path, expected_sha256=expected_sha256)
    with _REGISTERED_LOCK:
        _REGISTERED[key] = model
        while len(_REGISTERED) > _REGISTERED_MAX:
            _REGISTERED.popitem(last=False)
    return model


def _check_sha256(source: Path, expected_sha256: str) -> None:
    if not source.is_file():
        raise FileNotFoundError(f"model file not found: {source}")
    actual = file_sha256(source)
    if actual != expected_sha256:
        raise ModelIntegrityError(
            f"{source}: SHA-256 is {actual}, expected {expected_sha256}: the file changed or is not the "
            "registered model"
        )


def load_model(
    path: str | os.PathLike[str],
    *,
    trusted: Iterable[str] = (),
    expected_sha256: str | None = None,
) -> Any:
    """Load a skops model file, refusing any type outside the allow-list (see module docstring)."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"model file not found: {source}")
    if expected_sha256 is not None:
        _check_sha256(source, expected_sha256)
    sio = _skops()
    found = sio.get_untrusted_types(file=source)  # one audit of the file (its JSON schema)
    refused = _refused(found, trusted)
    if refused:
        raise UntrustedModelError(source, refused)
    return sio.load(source, trusted=found)


def dump_model_bytes(model: Any) -> bytes:
    """``model`` in skops format, as bytes (for stores that hold bytes: checkpoints)."""
    return _skops().dumps(model)


def load_model_bytes(data: bytes, *, trusted: Iterable[str] = ()) -> Any:
    """:func:`load_model` for skops bytes: the same allow-list, nothing built from a refused blob."""
    sio = _skops()
    found = sio.get_untrusted_types(data=data)
    refused = _refused(found, trusted)
    if refused:
        raise UntrustedModelError(Path("<bytes>"), refused)
    return sio.loads(data, trusted=found)
