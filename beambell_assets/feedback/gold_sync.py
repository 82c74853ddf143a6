"""Label Studio annotations -> the ``gold_labels`` table: new, changed and deleted, idempotently.

A *source* names where a set of annotations comes from: ``label_studio:<project id>`` for a live
project, ``label_studio_file:<file name>`` for an imported JSON export. A sync receives the
source's *complete* current set of annotations (one record per page, see
``feedback/label_studio.parse_export``) and makes the table match it in one transaction:

* a page not in the table is inserted;
* a page whose annotation id, ``updated_at`` or label differs is updated (``loaded_at`` moves, so
  the retrain trigger counts it as new gold);
* a row of this source whose page is no longer annotated (annotation deleted or cancelled) is
  deleted;
* anything else is left untouched, so running the same sync twice changes nothing.

One gold label per page and task (the table's key): a human label from Label Studio replaces a CSV
label of the same page (``gold_labels`` then skips that CSV row), and between two Label Studio
sources the later sync wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from beambell_assets.feedback.label_studio import read_export_file
from beambell_assets.labeling.task import Task
from beambell_assets.storage.warehouse import Warehouse, utcnow

LS_SOURCE_PREFIX = "label_studio"


def project_source(project_id: int) -> str:
    return f"{LS_SOURCE_PREFIX}:{int(project_id)}"


def file_source(name: str) -> str:
    return f"{LS_SOURCE_PREFIX}_file:{name}"


@dataclass(frozen=True)
class SyncResult:
    inserted: int
    updated: int
    deleted: int
    unchanged: int
    #: The inserted and updated gold rows (what a running stream is told about).
    written: tuple[dict[str, object], ...] = ()

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted

    def as_dict(self) -> dict[str, int]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
        }


def _same(old: dict[str, object], new: dict[str, object]) -> bool:
    return (
        old["source"] == new["source"]
        and str(old["label"]) == str(new["label"])
        and _int_or_none(old["ls_annotation_id"]) == _int_or_none(new["ls_annotation_id"])
        and str(old["ls_updated_at"] or "") == str(new["ls_updated_at"] or "")
        and str(old["labeler"] or "") == str(new["labeler"] or "")
    )


def _int_or_none(value: object) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return int(value)  # type: ignore[arg-type]


def sync_gold(
    wh: Warehouse,
    task: Task,
    records: pd.DataFrame,
    source: str,
    *,
    project_id: int | None = None,
) -> SyncResult:
    """Make the ``source`` rows of ``task`` in ``gold_labels`` equal ``records`` (see module doc)."""
    t = wh.table("gold_labels")
    now = utcnow()
    incoming = {
        str(r["page_id"]): {
            "page_id": str(r["page_id"]),
            "task": task.name,
            "url": str(r.get("url") or ""),
            "label": str(r["label"]),
            "labeler": r.get("labeler"),
            "labeled_at": r.get("labeled_at"),
            "source": source,
            "loaded_at": now,
            "ls_project_id": project_id,
            "ls_task_id": _int_or_none(r.get("ls_task_id")),
            "ls_annotation_id": _int_or_none(r.get("ls_annotation_id")),
            "ls_updated_at": r.get("ls_updated_at"),
        }
        for r in records.to_dict("records")
    }
    cols = [t.c[c] for c in ("page_id", "label", "labeler", "source", "ls_annotation_id", "ls_updated_at")]
    inserted = updated = deleted = unchanged = 0
    written: list[dict[str, object]] = []
    with wh.engine.begin() as conn:
        if wh.dialect == "postgresql":  # two syncs at once: the second waits for the first
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(726355)"))
        current = {
            row.page_id: row._asdict() for row in conn.execute(sa.select(*cols).where(t.c.task == task.name))
        }
        for page_id, old in current.items():
            if old["source"] == source and page_id not in incoming:
                conn.execute(t.delete().where((t.c.task == task.name) & (t.c.page_id == page_id)))
                deleted += 1
        for page_id, new in incoming.items():
            old = current.get(page_id)
            if old is not None and _same(old, new):
                unchanged += 1
                continue
            if old is not None:
                conn.execute(t.delete().where((t.c.task == task.name) & (t.c.page_id == page_id)))
                updated += 1
            else:
                inserted += 1
            wh.insert("gold_labels", [new], conn=conn)
            written.append(new)
    return SyncResult(inserted, updated, deleted, unchanged, tuple(written))


def label_studio_gold_rows(wh: Warehouse, task: Task) -> pd.DataFrame:
    """Gold rows that came from Label Studio (a project or an imported file)."""
    return wh.read(
        "SELECT page_id, url, label, labeler, labeled_at, source, ls_project_id, ls_task_id, "
        "ls_annotation_id, ls_updated_at, loaded_at FROM gold_labels WHERE task = :t AND source LIKE :p "
        "ORDER BY page_id",
        {"t": task.name, "p": f"{LS_SOURCE_PREFIX}%"},
    )


def import_label_studio_export_file(
    path: Path, task: Task, wh: Warehouse
) -> tuple[dict[str, int], pd.DataFrame]:
    """Load a Label Studio JSON export file into gold_labels (the CLI's ``label-studio-import``):
    the counts, and the rejected annotations with their reasons.

    The file is one source: importing it again changes nothing, and a newer download of the same
    file name replaces what the older one said (deleted annotations disappear). A file that is not
    an export raises ``LabelStudioExportError`` before anything is written.
    """
    batch = read_export_file(path, task)
    result = sync_gold(wh, task, batch.records, file_source(Path(path).name))
    return {**result.as_dict(), "rejected": len(batch.rejected)}, batch.rejected
