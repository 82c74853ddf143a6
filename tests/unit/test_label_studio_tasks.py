"""Label Studio formats: label config from the task, task JSON with predictions, export parsing."""

import json
import xml.etree.ElementTree as ET

import pandas as pd

from beambell_assets.feedback.label_studio import build_tasks, label_config, parse_export, read_export_file
from beambell_assets.labeling.lf_types import KeywordLF
from beambell_assets.labeling.task import make_task

TASK = make_task("t", ["News", "Law & Order", "Travel"], [KeywordLF("kw", ["x"], 0)])


def test_label_config_is_valid_xml_with_every_label() -> None:
    root = ET.fromstring(label_config(TASK))
    choices = root.find("Choices")
    assert choices is not None and choices.get("toName") == "text" and choices.get("choice") == "single"
    assert [c.get("value") for c in choices.findall("Choice")] == ["News", "Law & Order", "Travel"]
    assert root.find("Text").get("value") == "$text"


def test_tasks_carry_text_url_uncertainty_and_prediction() -> None:
    picks = pd.DataFrame(
        {
            "page_id": ["p1", "p2"],
            "url": ["https://a.example/", "https://b.example/"],
            "text": ["hello", None],
            "score": [0.8, float("nan")],
            "predicted_label": ["News", None],
            "predicted_probability": [0.45, float("nan")],
            "model_version": ["v1", None],
            "reason": ["LFs disagree", "no LF covers it"],
        }
    )
    tasks = build_tasks(picks)
    assert tasks[0]["data"] == {
        "page_id": "p1",
        "url": "https://a.example/",
        "text": "hello",
        "uncertainty": 0.8,
        "reason": "LFs disagree",
        "predicted_label": "News",
    }
    pred = tasks[0]["predictions"][0]
    assert pred["model_version"] == "v1" and pred["score"] == 0.45
    assert pred["result"][0] == {
        "from_name": "label",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": ["News"]},
    }
    assert "predictions" not in tasks[1] and tasks[1]["data"]["text"] == ""
    json.dumps(tasks, allow_nan=False)  # strict JSON: no NaN leaks into a file or a request


def _ann(aid: int, label: str | None, updated: str, *, cancelled: bool = False, by: object = 1) -> dict:
    result = (
        [] if label is None else [{"from_name": "label", "type": "choices", "value": {"choices": [label]}}]
    )
    return {
        "id": aid,
        "result": result,
        "updated_at": updated,
        "was_cancelled": cancelled,
        "completed_by": by,
    }


def test_parse_export_newest_annotation_wins_and_rejects_are_reported(tmp_path) -> None:
    exported = [
        {
            "id": 1,
            "data": {"page_id": "p1", "url": "u1"},
            "annotations": [
                _ann(10, "News", "2026-01-01T10:00:00Z"),
                _ann(11, "Travel", "2026-01-02T10:00:00Z", by=2),
            ],
        },
        {
            "id": 2,
            "data": {"page_id": "p2", "url": "u2"},
            "annotations": [_ann(20, "Travel", "2026-01-03T00:00:00Z", cancelled=True)],
        },
        {"id": 3, "data": {"page_id": "p3", "url": "u3"}, "annotations": [_ann(30, "Nope", "2026-01-01")]},
        {"id": 4, "data": {"url": "u4"}, "annotations": [_ann(40, "News", "2026-01-01")]},
        {"id": 5, "data": {"page_id": "p5"}, "annotations": []},
        {
            "id": 6,
            "data": {"page_id": "p6"},
            "annotations": [_ann(60, "News", "2026-01-01", by={"email": "e@x.org"})],
        },
    ]
    batch = parse_export(exported, TASK, users={1: "a@x.org", 2: "b@x.org"})
    recs = batch.records.set_index("page_id")
    assert sorted(recs.index) == ["p1", "p6"]
    assert recs.loc["p1", "label"] == "Travel" and recs.loc["p1", "labeler"] == "b@x.org"
    assert recs.loc["p1", "ls_annotation_id"] == 11 and recs.loc["p1", "labeled_at"] == "2026-01-02T10:00:00Z"
    assert recs.loc["p6", "labeler"] == "e@x.org"
    assert sorted(batch.rejected["ls_task_id"]) == [3, 4]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported))
    assert read_export_file(path, TASK).fingerprint() == parse_export(exported, TASK).fingerprint()
    changed = json.loads(path.read_text())
    changed[0]["annotations"][1]["updated_at"] = "2026-01-05T00:00:00Z"
    assert parse_export(changed, TASK).fingerprint() != batch.fingerprint()
