"""Gold labels: hand labels from CSV files and from Label Studio (``feedback/gold_sync.py``).

A gold CSV has ``url,label`` and optionally ``labeler,labeled_at``. Labels must be names from the
task's label space; rows that are not are reported back, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.feedback.annotation_queue import AUDIT_REASON
from beambell_assets.ingest.contract import normalize_url, page_id_for
from beambell_assets.labeling.task import Task
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.training.splits import GoldPolicy, from_sources


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
            label = task.label_for(label) or label
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


def store_rejected(wh: Warehouse, conn: Any, task: str, rejected: pd.DataFrame) -> int:
    """Replace the task's CSV-sourced rows of ``rejected_gold_labels`` with ``rejected`` (in ``conn``)."""
    t = wh.table("rejected_gold_labels")
    conn.execute(t.delete().where((t.c.task == task) & t.c.source.like("csv:%")))
    now = utcnow()
    rows = [
        {
            "task": task,
            "source": f"csv:{r['file']}",
            "source_row": int(r["row"]),
            "url": r["url"],
            "label": r["label"],
            "reason": r["reason"],
            "rejected_at": now,
        }
        for r in rejected.to_dict("records")
    ]
    # one row per (file, row): a file-level problem (row 0) and its rows never collide
    unique = list({(r["source"], r["source_row"]): r for r in rows}.values())
    return wh.insert("rejected_gold_labels", unique, conn=conn)


def gold_for_task(wh: Warehouse, task: Task) -> pd.DataFrame:
    """Every gold label of the task (page_id, url, label, source), whatever its source."""
    return wh.read("SELECT page_id, url, label, source FROM gold_labels WHERE task = :t", {"t": task.name})


def gold_vector(gold: pd.DataFrame, task: Task, page_ids: pd.Series | np.ndarray) -> np.ndarray:
    """Class index per page (``-1`` where there is no gold label)."""
    index = {name: i for i, name in enumerate(task.label_names)}
    by_page = {
        pid: index[lbl] for pid, lbl in zip(gold["page_id"], gold["label"], strict=True) if lbl in index
    }
    return np.array([by_page.get(pid, -1) for pid in page_ids], dtype=np.int64)


def new_gold_count(wh: Warehouse, gold_dir: Path, task: Task, since: object | None) -> int:
    """Gold labels no model has been trained with yet: the retrain trigger's measure.

    CSV labels that are not yet in the table (or whose label changed) count, as do labels from
    other sources (Label Studio) loaded after ``since`` (the champion's creation time).
    """
    in_table = wh.read(
        "SELECT page_id, label, source, loaded_at FROM gold_labels WHERE task = :t", {"t": task.name}
    )
    known = set(zip(in_table["page_id"], in_table["label"], strict=True))
    files = read_gold_csvs(gold_dir, task).accepted
    other = in_table[~in_table["source"].astype(str).str.startswith("csv:")]
    human = set(other["page_id"])  # a Label Studio label shadows the CSV row of the same page
    unseen_csv = sum(
        1
        for pair in zip(files["page_id"], files["label"], strict=True)
        if pair not in known and pair[0] not in human
    )
    if since is not None and len(other):
        other = other[pd.to_datetime(other["loaded_at"]) > pd.Timestamp(since)]
    return int(unseen_csv + len(other))


def train_role_gold(gold: pd.DataFrame, roles: pd.Series) -> pd.DataFrame:
    """The gold rows with the *train* role (``training/splits.py::gold_roles``): what may be learned from."""
    return gold[roles.reindex(gold["page_id"].astype(str)).to_numpy() == "train"]


def gold_label_indices(gold: pd.DataFrame, label_names: list[str]) -> dict[str, float]:
    """page_id -> class index of its gold label (NaN for a label outside ``label_names``)."""
    index = {name: i for i, name in enumerate(label_names)}
    return dict(zip(gold["page_id"].astype(str), gold["label"].map(index), strict=True))


def texts_of_pages(
    frames: Iterable[pd.DataFrame], page_ids: Iterable[str], text_field: str
) -> dict[str, str]:
    """The ``text_field`` of the wanted pages, found in feature frames (later frames win)."""
    wanted = set(page_ids)
    texts: dict[str, str] = {}
    for frame in frames:
        hit = frame[frame["page_id"].astype(str).isin(wanted)]
        texts.update(zip(hit["page_id"].astype(str), hit[text_field].fillna("").astype(str), strict=True))
    return texts


def record_audit_picks(wh: Warehouse, task: Task, partition_key: str, picks: pd.DataFrame) -> int:
    """Remember the queue's audit picks (``audit_picks`` table, kept when the queue is replaced)."""
    audit = picks.loc[picks["reason"] == AUDIT_REASON, "page_id"].astype(str)
    rows = [
        {"task": task.name, "page_id": p, "partition_key": partition_key, "picked_at": utcnow()}
        for p in audit
    ]
    return wh.upsert("audit_picks", rows, key=("task", "page_id")) if rows else 0


def sampled_gold_mask(
    gold: pd.DataFrame,
    audit_page_ids: set[str],
    page_ids: pd.Series | np.ndarray,
    policy: GoldPolicy | None = None,
) -> np.ndarray:
    """Per row of ``page_ids``: its gold label is a *random sample* of the pages.

    Gold from the humans in the loop (``policy.training_sources``) was mostly asked for by the
    annotation queue *because* the models were unsure there: only the queue's audit picks (and any
    ``policy.sampled_sources``) are a sample. Other gold (a CSV brought with the data) counts as the
    user's sample. The label model takes its class prior, weights and aggregator choice from these
    rows only; every train-role gold label still overrides its weak label and teaches the stateful LFs.
    """
    policy = policy or GoldPolicy()
    if gold.empty:
        return np.zeros(len(page_ids), dtype=bool)
    in_loop = from_sources(gold, policy.training_sources)
    declared = from_sources(gold, policy.sampled_sources)
    pid = gold["page_id"].astype(str)
    ok = set(pid[~in_loop | declared | pid.isin(audit_page_ids).to_numpy()])
    return np.array([str(p) in ok for p in page_ids], dtype=bool)


def audit_pages(wh: Warehouse, task: Task) -> set[str]:
    """The task's recorded audit picks."""
    rows = wh.read("SELECT page_id FROM audit_picks WHERE task = :t", {"t": task.name})
    return set(rows["page_id"].astype(str))
