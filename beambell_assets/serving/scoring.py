"""Score pages with a classifier into prediction rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.labeling.task import Task


def score_pages(model: Any, features: pd.DataFrame, task: Task, model_version: str) -> pd.DataFrame:
    """One row per page: the top class, its probability and the model version."""
    if features.empty:
        return pd.DataFrame(columns=["page_id", "url", "label", "probability", "model_version"])
    texts = features[task.text_field].fillna("").astype(str).tolist()
    return prediction_rows(features, np.asarray(model.predict_proba(texts)), task, model_version)


def prediction_rows(
    features: pd.DataFrame, proba: np.ndarray, task: Task, model_version: str
) -> pd.DataFrame:
    """The predictions rows for ``features`` from their (n, k) class probabilities."""
    top = proba.argmax(axis=1)
    return pd.DataFrame(
        {
            "page_id": features["page_id"].to_numpy(),
            "url": features["url"].to_numpy(),
            "label": [task.label_names[i] for i in top],
            "probability": proba[np.arange(len(top)), top],
            "model_version": model_version,
        }
    )
