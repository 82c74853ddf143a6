"""The label model's sufficient statistics, accumulated page by page.

Snorkel's ``LabelModel`` sees a label matrix ``L`` only through the overlap matrix
``O = L_ind^T L_ind / n`` of the one-hot vote indicators (column ``j*k + c`` is "LF ``j`` voted class
``c``"), the number of rows ``n`` and the number of LFs ``m``. So a stream needs no rows to refit
it: it adds each page's outer product ``l l^T`` (at most ``m^2`` non-zeros, usually a few dozen) to a
sparse ``d x d`` matrix and counts pages. A fit from these statistics equals the batch fit on the
same rows (tested), and they cost kilobytes, not the rows.

``decay`` (``0 < decay <= 1``) fades old data: before a page is added every statistic is
multiplied by ``decay``, so a page seen ``t`` pages ago weighs ``decay**t`` (a half-life of
``ln 2 / -ln(decay)`` pages). ``decay = 1`` keeps every page at weight 1: the batch statistics.

Beside ``O`` the statistics keep, per class, the (decayed) number of covered pages whose majority
vote is that class and the sum of the label model's posteriors: two gold-free estimates of the
class prior (the second is online EM: the prior is the average posterior).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

ABSTAIN = -1


def vote_indicators(L: np.ndarray, k: int) -> sp.csr_matrix:
    """The one-hot vote matrix ``L_ind`` (n x m*k) of a label matrix (``-1`` = abstain)."""
    L = np.asarray(L)
    n, m = L.shape
    rows, lfs = np.nonzero(L != ABSTAIN)
    cols = lfs * k + L[rows, lfs].astype(np.int64)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, m * k))


def majority_vote_probs(L: np.ndarray, k: int) -> np.ndarray:
    """Majority vote as probabilities: ties share the mass; rows without votes are uniform."""
    counts = np.zeros((len(L), k))
    rows, cols = np.nonzero(np.asarray(L) != ABSTAIN)
    np.add.at(counts, (rows, np.asarray(L)[rows, cols]), 1.0)
    top = (counts == counts.max(axis=1, keepdims=True)) & (counts > 0)
    covered = top.any(axis=1)
    out = np.full((len(L), k), 1.0 / k)
    out[covered] = top[covered] / top[covered].sum(axis=1, keepdims=True)
    return out


@dataclass
class VoteStatistics:
    """Decayed sufficient statistics of the votes of ``m`` LFs over ``k`` classes."""

    m: int
    k: int
    decay: float = 1.0
    n: float = 0.0  # decayed number of pages
    pages: int = 0  # pages seen, undecayed
    overlaps: sp.csr_matrix = field(default=None)  # type: ignore[assignment]  # (m*k)^2, decayed sums
    mv_counts: np.ndarray = field(default=None)  # type: ignore[assignment]  # (k,)
    posterior_sums: np.ndarray = field(default=None)  # type: ignore[assignment]  # (k,)
    posterior_n: float = 0.0

    def __post_init__(self) -> None:
        if self.m < 1 or self.k < 2:
            raise ValueError(f"need m >= 1 LFs and k >= 2 classes, got m={self.m}, k={self.k}")
        if not 0.0 < self.decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {self.decay}")
        d = self.m * self.k
        if self.overlaps is None:
            self.overlaps = sp.csr_matrix((d, d))
        if self.overlaps.shape != (d, d):
            raise ValueError(f"overlaps has shape {self.overlaps.shape}, expected {(d, d)}")
        if self.mv_counts is None:
            self.mv_counts = np.zeros(self.k)
        if self.posterior_sums is None:
            self.posterior_sums = np.zeros(self.k)

    # ------------------------------------------------------------------ updates

    def _weights(self, b: int) -> tuple[np.ndarray, float]:
        """Per-row weights of a chunk of ``b`` pages (the newest weighs 1) and the factor on the past."""
        if self.decay == 1.0:
            return np.ones(b), 1.0
        return self.decay ** np.arange(b - 1, -1, -1, dtype=float), self.decay**b

    def update(self, L: np.ndarray) -> VoteStatistics:
        """Add the pages of ``L`` (rows in arrival order), as if added one at a time."""
        L = np.asarray(L)
        if L.ndim != 2 or L.shape[1] != self.m:
            raise ValueError(f"L must have {self.m} LF columns, got shape {L.shape}")
        if L.size and (L.min() < ABSTAIN or L.max() >= self.k):
            raise ValueError(f"L has votes outside [-1, {self.k - 1}]")
        b = len(L)
        if b == 0:
            return self
        w, past = self._weights(b)
        ind = vote_indicators(L, self.k)
        weighted = sp.diags(w) @ ind
        self.overlaps = (self.overlaps * past + (ind.T @ weighted).tocsr()).tocsr()
        self.n = self.n * past + float(w.sum())
        self.pages += b
        mv = majority_vote_probs(L, self.k)
        covered = (L != ABSTAIN).any(axis=1)
        self.mv_counts = self.mv_counts * past + (mv[covered] * w[covered, None]).sum(axis=0)
        return self

    def add_posteriors(self, probs: np.ndarray) -> None:
        """Fold the label model's posteriors of new covered pages into the prior estimate."""
        probs = np.asarray(probs, dtype=float)
        if not len(probs):
            return
        w, past = self._weights(len(probs))
        self.posterior_sums = self.posterior_sums * past + (probs * w[:, None]).sum(axis=0)
        self.posterior_n = self.posterior_n * past + float(w.sum())

    # ------------------------------------------------------------------ views

    @property
    def diagonal(self) -> np.ndarray:
        """(m*k,) decayed count of each (LF, class) vote."""
        return np.asarray(self.overlaps.diagonal()).ravel()

    def vote_counts(self) -> np.ndarray:
        """(m, k) decayed vote counts."""
        return self.diagonal.reshape(self.m, self.k)

    def lf_coverage(self) -> np.ndarray:
        """(m,) share of pages each LF voted on."""
        if self.n <= 0:
            return np.zeros(self.m)
        return self.vote_counts().sum(axis=1) / self.n

    def active_lfs(self) -> np.ndarray:
        return np.flatnonzero(self.vote_counts().sum(axis=1) > 0)

    def voted_classes(self) -> np.ndarray:
        return np.flatnonzero(self.vote_counts().sum(axis=0) > 0)

    def sub_overlaps(self, lfs: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Dense ``O`` (already divided by ``n``) restricted to ``lfs`` x ``classes``, in the column
        order Snorkel builds for the remapped label matrix (LF-major, then class)."""
        idx = (np.asarray(lfs)[:, None] * self.k + np.asarray(classes)[None, :]).ravel()
        sub = self.overlaps[idx][:, idx].toarray()
        return sub / self.n if self.n > 0 else sub

    def class_prior(self, source: str = "posterior", smoothing: float = 1.0) -> np.ndarray:
        """A gold-free class prior: the average posterior (``"posterior"``, online EM; falls back to
        the majority vote before any posterior was added) or the majority-vote shares
        (``"majority_vote"``), Laplace-smoothed so no class gets 0."""
        if source == "posterior" and self.posterior_n > 0:
            counts = self.posterior_sums
        elif source in ("posterior", "majority_vote"):
            counts = self.mv_counts
        else:
            raise ValueError(f"unknown prior source {source!r}")
        counts = np.asarray(counts, dtype=float) + smoothing
        return counts / counts.sum()

    # ------------------------------------------------------------------ serialisation

    def to_arrays(self) -> dict[str, Any]:
        """Plain arrays and scalars (for ``np.savez``: no pickle)."""
        coo = self.overlaps.tocoo()
        return {
            "m": np.int64(self.m),
            "k": np.int64(self.k),
            "decay": np.float64(self.decay),
            "n": np.float64(self.n),
            "pages": np.int64(self.pages),
            "overlaps_row": coo.row.astype(np.int32),
            "overlaps_col": coo.col.astype(np.int32),
            "overlaps_data": coo.data.astype(np.float64),
            "mv_counts": self.mv_counts.astype(np.float64),
            "posterior_sums": self.posterior_sums.astype(np.float64),
            "posterior_n": np.float64(self.posterior_n),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, Any]) -> VoteStatistics:
        m, k = int(a["m"]), int(a["k"])
        d = m * k
        overlaps = sp.csr_matrix(
            (np.asarray(a["overlaps_data"]), (np.asarray(a["overlaps_row"]), np.asarray(a["overlaps_col"]))),
            shape=(d, d),
        )
        return cls(
            m=m,
            k=k,
            decay=float(a["decay"]),
            n=float(a["n"]),
            pages=int(a["pages"]),
            overlaps=overlaps,
            mv_counts=np.asarray(a["mv_counts"], dtype=float),
            posterior_sums=np.asarray(a["posterior_sums"], dtype=float),
            posterior_n=float(a["posterior_n"]),
        )
