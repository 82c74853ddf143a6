"""A model-based LF on a pretrained sentence encoder: the nearest class prototype, or abstain.

Each class gets a prototype: the mean embedding of its description phrases (the task author's own
words: "news about football, tennis and the olympics") or of gold examples
(:meth:`EncoderPrototypeLF.from_examples`). A record votes the class whose prototype its
embedding is most similar to (cosine), only when that similarity reaches ``min_similarity`` and
beats the runner-up by ``min_margin``; otherwise it abstains, so it stays an LF, not a classifier.

Unlike keyword LFs it generalises past the words written down (paraphrases, synonyms), which is
what the encoder adds. The encoder is read from a local directory (``training/encoder.py``), never
downloaded; embeddings are shared with the end model through the per-process cache, so a page is
encoded once. ``lf(row)`` and ``column_votes(df)`` give the same vote (the embedding of a text does
not depend on its batch, up to float rounding far below the thresholds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from beambell_assets.training.encoder import DEFAULT_MAX_SEQ_LENGTH, embed

ABSTAIN = -1


class EncoderPrototypeLF(LabelingFunction):
    """Votes the nearest class prototype in sentence-embedding space (see the module docstring)."""

    kind = "encoder_prototype"

    def __init__(
        self,
        name: str,
        prototypes: Mapping[int, str | Sequence[str]],
        encoder_path: str,
        *,
        field: str = "text",
        min_similarity: float = 0.2,
        min_margin: float = 0.03,
        max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    ) -> None:
        if len(prototypes) < 2:
            raise ValueError("an encoder prototype LF needs prototypes for at least two classes")
        self.labels = sorted(int(c) for c in prototypes)
        self.phrases = {int(c): [p] if isinstance(p, str) else list(p) for c, p in prototypes.items()}
        self.encoder_path = str(encoder_path)
        self.field = field
        self.min_similarity = float(min_similarity)
        self.min_margin = float(min_margin)
        self.max_seq_length = int(max_seq_length)
        self._matrix: np.ndarray | None = None
        self.label = None  # votes for several classes (the task validator skips it)
        super().__init__(name=name, f=self._vote)

    @classmethod
    def from_examples(
        cls, name: str, texts: Sequence[str], labels: Sequence[int], encoder_path: str, **kwargs: Any
    ) -> EncoderPrototypeLF:
        """Prototypes from labelled examples (e.g. gold): each class's examples are its phrases."""
        by_class: dict[int, list[str]] = {}
        for text, label in zip(texts, labels, strict=True):
            if int(label) != ABSTAIN:
                by_class.setdefault(int(label), []).append(str(text))
        return cls(name, by_class, encoder_path, **kwargs)

    def prototype_matrix(self) -> np.ndarray:
        """(classes, d) unit prototype vectors, computed on first use."""
        if self._matrix is None:
            rows = []
            for c in self.labels:
                mean = embed(self.phrases[c], self.encoder_path, max_seq_length=self.max_seq_length).mean(0)
                rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
            self._matrix = np.vstack(rows)
        return self._matrix

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, classes) cosine similarity of each text to each prototype."""
        vecs = embed(texts, self.encoder_path, max_seq_length=self.max_seq_length)
        return vecs @ self.prototype_matrix().T

    def votes_from_similarities(self, sims: np.ndarray, empty: np.ndarray) -> np.ndarray:
        order = np.argsort(-sims, axis=1)
        best = sims[np.arange(len(sims)), order[:, 0]]
        second = sims[np.arange(len(sims)), order[:, 1]]
        fire = (best >= self.min_similarity) & (best - second >= self.min_margin) & ~empty
        return np.where(fire, np.asarray(self.labels)[order[:, 0]], ABSTAIN).astype(np.int64)

    def column_votes(self, df: pd.DataFrame) -> np.ndarray:
        """Votes for every row of ``df`` at once (int64, -1 = abstain)."""
        if self.field not in df.columns:
            return np.full(len(df), ABSTAIN, dtype=np.int64)
        texts = ["" if pd.isna(t) else str(t) for t in df[self.field]]
        if not texts:
            return np.zeros(0, dtype=np.int64)
        empty = np.array([not t.strip() for t in texts])
        return self.votes_from_similarities(self.similarities(texts), empty)

    def _vote(self, x: Any) -> int:
        value = getattr(x, self.field, None)
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        return int(self.votes_from_similarities(self.similarities([text]), np.array([not text.strip()]))[0])

    def __getstate__(self) -> dict[str, Any]:  # worker processes re-embed the prototypes
        state = self.__dict__.copy()
        state["_matrix"] = None
        return state
