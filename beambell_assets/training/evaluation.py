"""Metrics of predictions against gold labels.

``evaluate`` is the one place the project scores anything (label model, majority vote, classifier,
champion vs challenger), so every number means the same thing everywhere:

* Rows whose gold label is ``-1`` (unknown) are ignored.
* A prediction of ``-1`` means "no prediction" (an abstaining label model, a row no LF voted on).
  It counts as **wrong** in ``accuracy`` and ``macro_f1`` (a miss for the true class), so methods
  with different coverage are compared on the same rows; ``accuracy_on_predicted`` gives the
  accuracy over the rows that did get a prediction, and ``coverage`` the share of them.
* ``macro_f1`` averages F1 over the classes **present in the gold labels**. A class with no gold
  example has an undefined recall: averaging in a 0 (or skipping it inconsistently) would make the
  number depend on the size of the label space rather than on the model — a 16-class task scored
  on a 7-class gold set would be capped at 7/16. Predicting an absent class is still penalised: it
  is a miss for the row's true class. ``classes_evaluated`` lists the classes averaged over.
* No gold at all gives ``n_gold == 0`` and ``None`` for every metric, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support

NO_PREDICTION = -1
_ABSTAIN_COLUMN = "(no prediction)"


def _as_label_vector(y: Any, name: str, k: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_float = arr.astype(float)
        if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
            raise ValueError(f"{name} must hold integer class indices (-1 = unknown)")
        arr = as_float.astype(np.int64)
    arr = arr.astype(np.int64, copy=False)
    bad = (arr < -1) | (arr >= k)
    if bad.any():
        raise ValueError(f"{name} has values outside [-1, {k - 1}]: {sorted(set(arr[bad].tolist()))[:5]}")
    return arr


def evaluate(
    y_true: Any,
    y_pred: Any,
    label_names: Sequence[str],
    proba: np.ndarray | None = None,
) -> dict[str, Any]:
    """Score ``y_pred`` (class indices, ``-1`` = no prediction) against ``y_true`` (``-1`` = unknown).

    Returns a dict with ``n_gold``, ``n_predicted``, ``coverage``, ``accuracy``,
    ``accuracy_on_predicted``, ``macro_f1``, ``classes_evaluated``, ``per_class`` (DataFrame
    indexed by label name: precision, recall, f1, support; NaN where undefined), ``confusion``
    (DataFrame: gold classes present x predicted classes seen, plus a "(no prediction)" column
    when some rows have none) and, when ``proba`` (n x k) is given, ``log_loss`` and ``brier``
    over the gold rows.
    """
    label_names = list(label_names)
    k = len(label_names)
    if k < 2:
        raise ValueError("label_names must name at least two classes")
    y_true = _as_label_vector(y_true, "y_true", k)
    y_pred = _as_label_vector(y_pred, "y_pred", k)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {len(y_true)} rows but y_pred has {len(y_pred)}")
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.shape != (len(y_true), k):
            raise ValueError(f"proba must have shape ({len(y_true)}, {k}), got {proba.shape}")

    gold = y_true != NO_PREDICTION
    t, p = y_true[gold], y_pred[gold]
    n_gold = int(gold.sum())
    result: dict[str, Any] = {
        "n_gold": n_gold,
        "n_predicted": int((p != NO_PREDICTION).sum()),
        "coverage": None,
        "accuracy": None,
        "accuracy_on_predicted": None,
        "macro_f1": None,
        "classes_evaluated": [],
        "per_class": pd.DataFrame(
            {"precision": [], "recall": [], "f1": [], "support": pd.Series([], dtype="int64")}
        ),
        "confusion": pd.DataFrame(),
        "log_loss": None,
        "brier": None,
    }
    if n_gold == 0:
        return result

    predicted = p != NO_PREDICTION
    present = np.unique(t)
    result["coverage"] = float(predicted.mean())
    result["accuracy"] = float((t == p).mean())
    result["accuracy_on_predicted"] = (
        float((t[predicted] == p[predicted]).mean()) if predicted.any() else None
    )
    result["macro_f1"] = float(f1_score(t, p, labels=present, average="macro", zero_division=0.0))
    result["classes_evaluated"] = [label_names[c] for c in present]

    prec, rec, f1, support = precision_recall_fscore_support(
        t, p, labels=np.arange(k), average=None, zero_division=np.nan
    )
    result["per_class"] = pd.DataFrame(
        {"precision": prec, "recall": rec, "f1": f1, "support": support.astype(np.int64)},
        index=pd.Index(label_names, name="class"),
    )

    cols = sorted(set(present.tolist()) | set(p[predicted].tolist()))
    counts = np.zeros((k, k + 1), dtype=np.int64)  # last column: no prediction
    np.add.at(counts, (t, np.where(predicted, p, k)), 1)
    col_idx = cols + ([k] if (~predicted).any() else [])
    confusion = pd.DataFrame(
        counts[np.ix_(present, col_idx)],
        index=pd.Index([label_names[c] for c in present], name="gold"),
        columns=[label_names[c] for c in cols] + ([_ABSTAIN_COLUMN] if (~predicted).any() else []),
    )
    result["confusion"] = confusion

    if proba is not None:
        q = proba[gold]
        q = np.clip(q, 1e-15, None)
        q = q / q.sum(axis=1, keepdims=True)
        result["log_loss"] = float(-np.mean(np.log(q[np.arange(n_gold), t])))
        onehot = np.eye(k)[t]
        result["brier"] = float(np.mean(np.sum((q - onehot) ** 2, axis=1)))
    return result


def flat_metrics(result: dict[str, Any], prefix: str = "") -> dict[str, float | int | None]:
    """The scalar entries of an :func:`evaluate` result (for run metadata, logs, tables)."""
    keys = ("n_gold", "n_predicted", "coverage", "accuracy", "accuracy_on_predicted", "macro_f1")
    out = {f"{prefix}{key}": result.get(key) for key in keys}
    for key in ("log_loss", "brier"):
        if result.get(key) is not None:
            out[f"{prefix}{key}"] = result[key]
    return out
