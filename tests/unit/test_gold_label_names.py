"""Gold labels name the task's labels the way people write them: spaces and case are forgiven
when exactly one label matches, and the stored label is the task's own spelling."""

from __future__ import annotations

from pathlib import Path

from snorkel.labeling import labeling_function

from beambell_assets.feedback.gold import read_gold_csvs
from beambell_assets.feedback.publish import record_gold
from beambell_assets.labeling.task import make_task
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.storage.warehouse import Warehouse


def test_label_for_forgives_spaces_and_case_only_when_one_label_matches() -> None:
    assert TASK.label_for(" Sports ") == "Sports" and TASK.label_for("sports") == "Sports"
    assert TASK.label_for("E-COMMERCE") == "E-Commerce"
    assert TASK.label_for("sport") is None and TASK.label_for(None) is None and TASK.label_for(3) is None

    @labeling_function()
    def lf(x) -> int:
        return -1

    twins = make_task("t", ["News", "news"], [lf])
    assert twins.label_for("news") == "news" and twins.label_for("NEWS") is None  # exact, else ambiguous


def test_gold_csvs_and_the_feedback_api_store_the_tasks_spelling(tmp_path: Path) -> None:
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    (gold_dir / "labels.csv").write_text(
        "url,label\nhttps://a.example/x,sports\nhttps://b.example/y, TRAVEL \nhttps://c.example/z,sprots\n",
        encoding="utf-8",
    )
    load = read_gold_csvs(gold_dir, TASK)
    assert load.accepted["label"].tolist() == ["Sports", "Travel"]
    assert load.rejected["reason"].tolist() == ["label 'sprots' not in the label space"]
    wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    wh.migrate()
    items = [{"url": "https://d.example/", "label": "news"}, {"url": "https://e.example/", "label": "nope"}]
    result = record_gold(wh, TASK, items)
    assert [r["index"] for r in result.rejected] == [1]
    stored = wh.read("SELECT label FROM gold_labels WHERE task = :t", {"t": TASK.name})
    assert stored["label"].tolist() == ["News"]
