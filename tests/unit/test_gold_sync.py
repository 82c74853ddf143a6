"""Gold sync: inserts, updates and deletes exactly what changed, idempotently, on SQLite and PostgreSQL."""

import pandas as pd
import pytest

from beambell_assets.feedback.gold import gold_for_task, new_gold_count
from beambell_assets.feedback.gold_sync import label_studio_gold_rows, project_source, sync_gold
from beambell_assets.labeling.lf_types import KeywordLF
from beambell_assets.labeling.task import make_task
from beambell_assets.storage.warehouse import Warehouse, utcnow

TASK = make_task("t", ["News", "Travel"], [KeywordLF("kw", ["x"], 0)])


def _records(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "page_id": p,
                "url": f"https://{p}.example/",
                "label": label,
                "labeler": "ann@x.org",
                "labeled_at": updated,
                "ls_task_id": aid * 10,
                "ls_annotation_id": aid,
                "ls_updated_at": updated,
            }
            for p, label, aid, updated in rows
        ]
    )


@pytest.fixture
def wh(warehouse_url: str) -> Warehouse:
    w = Warehouse(warehouse_url)
    w.migrate()
    yield w
    w.dispose()


def test_sync_is_idempotent_and_tracks_changes_and_deletions(wh: Warehouse) -> None:
    src = project_source(7)
    first = _records([("a", "News", 1, "2026-01-01T00:00:00Z"), ("b", "Travel", 2, "2026-01-01T00:00:01Z")])
    assert sync_gold(wh, TASK, first, src, project_id=7).as_dict() == {
        "inserted": 2,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
    }
    before = label_studio_gold_rows(wh, TASK)
    assert sync_gold(wh, TASK, first, src, project_id=7).changed == 0
    pd.testing.assert_frame_equal(before, label_studio_gold_rows(wh, TASK))  # run twice -> same table

    second = _records([("a", "Travel", 1, "2026-01-02T00:00:00Z"), ("c", "News", 3, "2026-01-02T00:00:01Z")])
    assert sync_gold(wh, TASK, second, src, project_id=7).as_dict() == {
        "inserted": 1,
        "updated": 1,
        "deleted": 1,
        "unchanged": 0,
    }
    rows = label_studio_gold_rows(wh, TASK).set_index("page_id")
    assert sorted(rows.index) == ["a", "c"]
    assert rows.loc["a", "label"] == "Travel" and rows.loc["a", "labeler"] == "ann@x.org"
    assert rows.loc["a", "ls_project_id"] == 7 and rows.loc["c", "ls_annotation_id"] == 3


def test_label_studio_label_replaces_csv_row_and_counts_as_new_gold(wh: Warehouse, tmp_path) -> None:
    wh.insert(
        "gold_labels",
        [
            {
                "page_id": "a",
                "task": "t",
                "url": "https://a.example/",
                "label": "News",
                "source": "csv:g.csv",
                "loaded_at": utcnow(),
            }
        ],
    )
    since = utcnow()
    result = sync_gold(
        wh, TASK, _records([("a", "Travel", 1, "2026-01-01")]), project_source(1), project_id=1
    )
    assert result.updated == 1
    gold = gold_for_task(wh, TASK)
    assert gold["label"].tolist() == ["Travel"] and gold["source"].tolist() == ["label_studio:1"]
    assert new_gold_count(wh, tmp_path / "no-gold-dir", TASK, since) == 1
    # other sources are untouched by a project's sync
    assert sync_gold(wh, TASK, _records([]), project_source(2)).deleted == 0
    assert len(gold_for_task(wh, TASK)) == 1
