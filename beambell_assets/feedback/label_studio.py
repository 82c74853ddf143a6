"""Label Studio, both ways: tasks out (with the classifier's pre-annotation), annotations back.

* :func:`label_config` — the labeling interface, generated from the task's label names (one
  single-choice ``Choices`` over the page text, with the URL shown above it).
* :func:`build_tasks` — Label Studio task JSON for annotation-queue picks: ``data`` carries
  ``page_id`` (how an annotation finds its page again), ``url``, ``text`` and ``uncertainty`` (the
  open-source edition has no active learning, but its data manager sorts by any ``data`` field);
  ``predictions`` carries the champion's label as a pre-annotation with ``model_version`` and
  ``score``.
* :func:`export_to_label_studio` (SDK, to a running server; idempotent: pages already in the
  project are not imported twice) and :func:`write_tasks_json` (a file for offline users, importable
  in the UI).
* :func:`fetch_annotations` / :func:`read_export_file` — every current annotation of a project (via
  the SDK's JSON export) or of a JSON export file, parsed by :func:`parse_export` into one gold
  record per page: the newest non-cancelled annotation wins, with who labeled it and when.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import pandas as pd

from beambell_assets.labeling.task import Task

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

FROM_NAME = "label"
TO_NAME = "text"
#: Columns of a parsed annotation record (see :func:`parse_export`).
RECORD_COLUMNS = [
    "page_id",
    "url",
    "label",
    "labeler",
    "labeled_at",
    "ls_task_id",
    "ls_annotation_id",
    "ls_updated_at",
]


def label_config(task: Task, *, text_field: str = "text") -> str:
    """The labeling interface for ``task``: the page's URL and text, one choice per label name."""
    choices = "\n".join(f"    <Choice value={quoteattr(name)}/>" for name in task.label_names)
    return (
        "<View>\n"
        '  <Header value="$url"/>\n'
        f'  <Text name="{TO_NAME}" value="${text_field}"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="false" '
        'required="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def _finite(value: Any, default: float = 0.0) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return default
    return f if f == f and f not in (float("inf"), float("-inf")) else default


def build_tasks(picks: pd.DataFrame, *, max_text_chars: int = 20_000) -> list[dict[str, Any]]:
    """Task JSON for queue picks.

    ``picks`` needs ``page_id``, ``url``, ``text``, ``score`` (the uncertainty); optional
    ``predicted_label``, ``predicted_probability``, ``model_version``, ``reason``,
    ``partition_key``, ``title``. A pick without a predicted label gets no pre-annotation.
    """
    tasks: list[dict[str, Any]] = []
    for row in picks.to_dict("records"):
        text = "" if row.get("text") is None or pd.isna(row.get("text")) else str(row["text"])
        data: dict[str, Any] = {
            "page_id": str(row["page_id"]),
            "url": str(row["url"]),
            "text": text[:max_text_chars],
            "uncertainty": round(_finite(row.get("score")), 6),
        }
        for extra in ("title", "partition_key", "reason", "predicted_label"):
            value = row.get(extra)
            if value is not None and not (isinstance(value, float) and pd.isna(value)):
                data[extra] = str(value)
        task: dict[str, Any] = {"data": data}
        label = row.get("predicted_label")
        if isinstance(label, str) and label:
            task["predictions"] = [
                {
                    "model_version": str(row.get("model_version") or "unknown"),
                    "score": round(_finite(row.get("predicted_probability")), 6),
                    "result": [
                        {
                            "from_name": FROM_NAME,
                            "to_name": TO_NAME,
                            "type": "choices",
                            "value": {"choices": [label]},
                        }
                    ],
                }
            ]
        tasks.append(task)
    return tasks


def write_tasks_json(tasks: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """A JSON file the Label Studio UI (or ``POST /api/projects/<id>/import``) imports as is."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(list(tasks), indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- server side


def ensure_project(client: LabelStudio, task: Task, *, title: str | None = None) -> int:
    """The id of the project titled ``title`` (default ``beambell <task>``), created if missing."""
    title = title or f"beambell {task.name}"
    for project in client.projects.list():
        if project.title == title:
            return int(project.id)
    created = client.projects.create(
        title=title,
        label_config=label_config(task),
        description=f"beambell annotation queue for task {task.name!r}; sort by data.uncertainty",
    )
    return int(created.id)


def project_page_ids(client: LabelStudio, project_id: int) -> dict[str, int]:
    """page_id -> Label Studio task id for every task already in the project."""
    out: dict[str, int] = {}
    for t in client.tasks.list(project=project_id, fields="all"):
        data = t.data or {}
        if data.get("page_id") is not None:
            out[str(data["page_id"])] = int(t.id)
    return out


@dataclass(frozen=True)
class ExportResult:
    project_id: int
    imported: int
    skipped_existing: int


def export_to_label_studio(
    client: LabelStudio, project_id: int, tasks: Sequence[Mapping[str, Any]]
) -> ExportResult:
    """Import tasks (with their predictions) into a project; pages already there are skipped."""
    existing = project_page_ids(client, project_id)
    new = [t for t in tasks if str(t["data"]["page_id"]) not in existing]
    if new:
        client.projects.import_tasks(id=project_id, request=list(new))
    return ExportResult(project_id, len(new), len(tasks) - len(new))


def export_json_from_server(client: LabelStudio, project_id: int) -> list[dict[str, Any]]:
    """The project's JSON export (annotated tasks), exactly what the UI's *Export → JSON* gives."""
    raw = b"".join(client.projects.exports.download_sync(project_id, export_type="JSON"))
    return json.loads(raw or b"[]")


def user_emails(client: LabelStudio) -> dict[int, str]:
    """User id -> email, to name the labeler of an annotation (exports give the id only)."""
    return {int(u.id): str(u.email or u.username or u.id) for u in client.users.list()}


def fetch_annotations(client: LabelStudio, project_id: int, task: Task) -> AnnotationBatch:
    """Every current annotation of the project as gold records (see :func:`parse_export`)."""
    return parse_export(export_json_from_server(client, project_id), task, users=user_emails(client))


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class AnnotationBatch:
    records: pd.DataFrame  # RECORD_COLUMNS, one row per page
    rejected: pd.DataFrame  # ls_task_id, ls_annotation_id, reason

    def fingerprint(self) -> str:
        """Changes when any annotation is added, changed or deleted (the sensor's change set key)."""
        import hashlib

        h = hashlib.sha256()
        for row in self.records.sort_values("ls_annotation_id").itertuples(index=False):
            h.update(f"{row.page_id}|{row.ls_annotation_id}|{row.ls_updated_at}|{row.label}\n".encode())
        return h.hexdigest()[:16]


def _labeler(completed_by: Any, users: Mapping[int, str]) -> str | None:
    if isinstance(completed_by, Mapping):
        return str(completed_by.get("email") or completed_by.get("username") or completed_by.get("id"))
    if completed_by is None:
        return None
    try:
        return users.get(int(completed_by), str(completed_by))
    except (TypeError, ValueError):
        return str(completed_by)


def _choice(result: Any) -> str | None:
    for item in result if isinstance(result, list) else []:
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "choices" and item.get("from_name", FROM_NAME) == FROM_NAME:
            value = item.get("value")
            choices = value.get("choices") if isinstance(value, Mapping) else None
            if isinstance(choices, list) and choices:
                return str(choices[0])
    return None


def _as_int(value: Any) -> int | None:
    """An id as Label Studio writes it (an integer, maybe as a string), else ``None``."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _task_problem(t: Any, position: int) -> str | None:
    """Why an exported item cannot be read as a Label Studio task, or ``None``."""
    if not isinstance(t, Mapping):
        return f"item {position} is not a task object but {type(t).__name__}"
    if "annotations" not in t:
        return "task has no 'annotations' list (a JSON-MIN or CSV export? use Export -> JSON)"
    if not isinstance(t.get("data") or {}, Mapping) or not isinstance(t.get("annotations") or [], list):
        return "malformed task: 'data' must be an object and 'annotations' a list"
    if any(not isinstance(a, Mapping) for a in t.get("annotations") or []):
        return "malformed task: an annotation is not an object"
    return None


def parse_export(
    exported: Sequence[Mapping[str, Any]], task: Task, *, users: Mapping[int, str] | None = None
) -> AnnotationBatch:
    """Gold records from Label Studio's JSON export format (one object per task).

    Per task, the newest (by ``updated_at``) annotation that is not cancelled and has a choice wins;
    a label outside the task's label space, or a task without ``data.page_id``, is rejected with a
    reason. Drafts and predictions are never gold.
    """
    users = users or {}
    names = set(task.label_names)
    records: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for position, t in enumerate(exported):
        problem = _task_problem(t, position)
        if problem:
            task_id = _as_int(t.get("id")) if isinstance(t, Mapping) else None
            rejected.append({"ls_task_id": task_id, "ls_annotation_id": None, "reason": problem})
            continue
        data = t.get("data") or {}
        annotations = [a for a in t.get("annotations") or [] if not a.get("was_cancelled")]
        if not annotations:
            continue
        newest = max(
            annotations,
            key=lambda a: (str(a.get("updated_at") or a.get("created_at")), _as_int(a.get("id")) or -1),
        )
        label = _choice(newest.get("result"))
        label = task.label_for(label) or label
        reason = None
        if data.get("page_id") is None:
            reason = "task has no data.page_id (not exported by beambell)"
        elif _as_int(newest.get("id")) is None:
            reason = "annotation has no integer id"
        elif label is None:
            reason = "annotation has no choice"
        elif label not in names:
            reason = f"label {label!r} not in the label space"
        if reason:
            ids = {"ls_task_id": _as_int(t.get("id")), "ls_annotation_id": _as_int(newest.get("id"))}
            rejected.append({**ids, "reason": reason})
            continue
        records.append(
            {
                "page_id": str(data["page_id"]),
                "url": str(data.get("url") or ""),
                "label": label,
                "labeler": _labeler(newest.get("completed_by"), users),
                "labeled_at": str(newest.get("updated_at") or newest.get("created_at") or ""),
                "ls_task_id": _as_int(t.get("id")),
                "ls_annotation_id": _as_int(newest.get("id")),
                "ls_updated_at": str(newest.get("updated_at") or ""),
            }
        )
    frame = pd.DataFrame(records, columns=RECORD_COLUMNS)
    frame = frame.sort_values("labeled_at").drop_duplicates("page_id", keep="last").reset_index(drop=True)
    rejects = pd.DataFrame(rejected, columns=["ls_task_id", "ls_annotation_id", "reason"])
    return AnnotationBatch(frame, rejects)


class LabelStudioExportError(ValueError):
    """A file that is not a Label Studio JSON export: empty, not UTF-8, not JSON (a truncated
    download) or not a list of tasks."""


def read_export_file(path: Path, task: Task) -> AnnotationBatch:
    """Parse a JSON export file downloaded from Label Studio (*Export → JSON*).

    A file that cannot be one raises :class:`LabelStudioExportError` saying why, before anything is
    written; items of the list that are not tasks are rejected one by one (:func:`parse_export`).
    """
    path = Path(path)
    raw = path.read_bytes()
    expected = "expected Label Studio's Export -> JSON"
    if not raw.strip():
        raise LabelStudioExportError(f"{path}: the file is empty ({expected})")
    try:
        exported = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise LabelStudioExportError(f"{path}: not UTF-8 text (byte {exc.start}; {expected})") from None
    except json.JSONDecodeError as exc:
        raise LabelStudioExportError(
            f"{path}: not valid JSON ({exc.msg}; line {exc.lineno}, column {exc.colno}): "
            "a truncated or half-written download?"
        ) from None
    except RecursionError:
        raise LabelStudioExportError(f"{path}: JSON nested too deeply to be an export") from None
    if isinstance(exported, Mapping) and ("annotations" in exported or "data" in exported):
        exported = [exported]  # a single task
    if not isinstance(exported, list):
        shape = (
            f"an object with keys {sorted(exported)[:5]}"
            if isinstance(exported, Mapping)
            else type(exported).__name__
        )
        raise LabelStudioExportError(f"{path}: {expected}, a JSON list of tasks; got {shape}")
    return parse_export(exported, task)
