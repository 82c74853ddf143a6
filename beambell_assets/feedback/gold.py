"""Gold labels: hand labels loaded from CSV files now, from Label Studio later.

A gold CSV has ``url,label`` and optionally ``labeler,labeled_at``. Labels must be names from the
task's label space; rows that are not are reported back, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from beambell_assets.ingest.contract import normalize_url, page_id_for
from beambell_assets.labeling.task import Task
from beambell_assets.storage.warehouse import Warehouse


@dataclass(frozen=True)
class GoldLoad:
    accepted: pd.DataFrame  # page_id, url, label, labeler, labeled_at, source
    rejected: pd.DataFrame  # file, row, url, label, reason


def read_gold_csvs(gold_dir: Path, task: Task) -> GoldLoad:
    """Every ``*.csv`` in ``gold_dir``; later files win for the same page."""
    accepted: list[dict[str, object]] = []
    rejected: list[dict[str, object]] = []
    names = set(task.label_names)
    for path in sorted(gold_dir.glob("*.csv")) if gold_dir.exists() else []:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            rejected.append({"file": path.name, "row": 0, "url": None, "label": None, "reason": str(exc)})
            continue
        missing = {"url", "label"} - set(df.columns)
        if missing:
            rejected.append(
                {
                    "file": path.name,
                    "row": 0,
                    "url": None,
                    "label": None,
                    "reason": f"missing columns {sorted(missing)}",
                }
            )
            continue
        for i, row in enumerate(df.to_dict("records"), start=2):  # row 1 is the header
            url, label = row["url"].strip(), row["label"].strip()
            normalized = normalize_url(url)
            if normalized is None or label not in names:
                reason = (
                    "not an http(s) url" if normalized is None else f"label {label!r} not in the label space"
                )
                rejected.append({"file": path.name, "row": i, "url": url, "label": label, "reason": reason})
                continue
            accepted.append(
                {
                    "page_id": page_id_for(normalized),
                    "url": url,
                    "label": label,
                    "labeler": row.get("labeler") or None,
                    "labeled_at": row.get("labeled_at") or None,
                    "source": f"csv:{path.name}",
                }
            )
    acc = pd.DataFrame(accepted, columns=["page_id", "url", "label", "labeler", "labeled_at", "source"])
    acc = acc.drop_duplicates("page_id", keep="last").reset_index(drop=True)
    rej = pd.DataFrame(rejected, columns=["file", "row", "url", "label", "reason"])
    return GoldLoad(acc, rej)


def gold_for_task(wh: Warehouse, task: Task) -> pd.DataFrame:
    return wh.read("SELECT page_id, url, label FROM gold_labels WHERE task = :t", {"t": task.name})


def gold_vector(gold: pd.DataFrame, task: Task, page_ids: pd.Series | np.ndarray) -> np.ndarray:
    """Class index per page (``-1`` where there is no gold label)."""
    index = {name: i for i, name in enumerate(task.label_names)}
    by_page = {
        pid: index[lbl] for pid, lbl in zip(gold["page_id"], gold["label"], strict=True) if lbl in index
    }
    return np.array([by_page.get(pid, -1) for pid in page_ids], dtype=np.int64)
