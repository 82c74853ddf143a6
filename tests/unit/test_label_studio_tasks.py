"""Label Studio formats: label config from the task, task JSON with predictions, export parsing."""

import json
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from beambell_assets.feedback.label_studio import (
    LabelStudioExportError,
    build_tasks,
    label_config,
    parse_export,
    read_export_file,
)
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


def test_items_that_are_not_readable_tasks_are_rejected_one_by_one_with_a_reason() -> None:
    good = {"id": 1, "data": {"page_id": "p1"}, "annotations": [_ann(10, "News", "2026-01-01")]}
    unnamed = {**_ann(0, "News", "2026-01-01"), "id": None}
    no_id = {"id": 2, "data": {"page_id": "p2"}, "annotations": [unnamed]}
    exported = [
        good,
        5,
        "text",
        {"id": 3, "page_id": "p3", "label": "News"},  # a JSON-MIN row
        {"id": 4, "data": "p4", "annotations": []},
        {"id": 5, "data": {"page_id": "p5"}, "annotations": ["News"]},
        no_id,
        {"id": "6", "data": {"page_id": "p6"}, "annotations": [{"id": "60", "result": [{"type": "x"}]}]},
        {"id": 7, "data": {"page_id": "p7"}, "annotations": [{"id": 70, "result": "News"}]},
    ]
    batch = parse_export(exported, TASK)
    assert batch.records["page_id"].tolist() == ["p1"]
    reasons = batch.rejected["reason"].tolist()
    assert len(reasons) == len(exported) - 1
    assert reasons[:2] == ["item 1 is not a task object but int", "item 2 is not a task object but str"]
    assert "JSON-MIN" in reasons[2] and "'data' must be an object" in reasons[3]
    assert "an annotation is not an object" in reasons[4] and reasons[5] == "annotation has no integer id"
    assert reasons[6:] == ["annotation has no choice"] * 2
    assert batch.rejected["ls_task_id"].tolist()[2:] == [3, 4, 5, 2, 6, 7]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'[{"id": 1, "data": {"page_id": "p', "not valid JSON (Unterminated string"),
        (b'{"tasks": []}', "a JSON list of tasks; got an object with keys ['tasks']"),
        (b"42", "a JSON list of tasks; got int"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["empty", "not-utf8", "truncated", "object", "number", "deep"],
)
def test_a_file_that_is_not_an_export_fails_with_the_reason(tmp_path, content: bytes, message: str) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(content)
    with pytest.raises(LabelStudioExportError, match=re.escape(message)):
        read_export_file(path, TASK)


def test_an_export_with_a_byte_order_mark_or_a_single_task_is_read(tmp_path) -> None:
    task = {"id": 1, "data": {"page_id": "p1"}, "annotations": [_ann(10, "Travel", "2026-01-01")]}
    path = tmp_path / "export.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([task]).encode())
    assert read_export_file(path, TASK).records["label"].tolist() == ["Travel"]
    path.write_text(json.dumps(task), encoding="utf-8")
    assert read_export_file(path, TASK).records["label"].tolist() == ["Travel"]


def test_the_import_command_says_why_a_file_is_refused_and_lists_rejection_reasons(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from beambell_assets.cli import main

    monkeypatch.delenv("BEAMBELL_TASK", raising=False)
    monkeypatch.delenv("BEAMBELL_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("BEAMBELL_HOME", str(tmp_path / "home"))  # main sets it too; restored after
    home = ["--home", str(tmp_path / "home")]
    truncated = tmp_path / "truncated.json"
    truncated.write_text('[{"id": 1, "data": {"page_id": "p', encoding="utf-8")
    assert main([*home, "label-studio-import", str(truncated)]) == 2
    assert "truncated.json: not valid JSON" in capsys.readouterr().err
    export = tmp_path / "export.json"
    nope = {"id": 1, "data": {"page_id": "p1"}, "annotations": [_ann(1, "Nope", "x")]}
    export.write_text(json.dumps([nope]), encoding="utf-8")
    assert main([*home, "label-studio-import", str(export)]) == 0
    out = capsys.readouterr().out
    assert "inserted 0" in out and "rejected 1: label 'Nope' not in the label space" in out
