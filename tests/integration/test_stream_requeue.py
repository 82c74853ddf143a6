"""`beambell stream requeue`: quarantined stream pages go through the stream again once the task is
fixed, each still accounted for once (a private Redis, a SQLite warehouse, the stream's own Prepare)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from beambell_assets.devtools.stream import PrivateRedis
from beambell_assets.labeling.task import make_task
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.storage.warehouse import Warehouse, utcnow
from beambell_assets.streaming.messages import StreamNames, send
from beambell_assets.streaming.prepare import PROCESSING_FAILED, PagePreparer
from beambell_assets.streaming.requeue import requeue_quarantined
from beambell_assets.streaming.source import StreamMessage

pytestmark = pytest.mark.integration
PAGES = StreamNames("beambell", "web_content").pages


def test_requeued_pages_are_processed_again_and_leave_quarantine(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path / "redis").start()
    try:
        client = server.client()
        pages = [
            {"url": f"https://example.org/{i}", "text": f"page {i} about the football league and its games"}
            for i in range(3)
        ]
        pages[1]["text"] = "POISON " + pages[1]["text"]
        ids = send(client, PAGES, pages)

        def broken(frame: pd.DataFrame) -> pd.DataFrame:  # the task's bug: one page makes it raise
            if frame["text"].str.contains("POISON").any():
                raise RuntimeError("prepare failed")
            return frame

        def read(message_ids: list[str]) -> list[StreamMessage]:
            return [
                StreamMessage(PAGES, i, client.xrange(PAGES, i, i)[0][1][b"json"], {}) for i in message_ids
            ]

        first = PagePreparer(make_task(TASK.name, TASK.label_names, TASK.lfs, prepare=broken)).prepare(
            PAGES, read(ids)
        )
        assert [q["reason"] for q in first.quarantine] == [PROCESSING_FAILED]
        wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
        wh.migrate()
        gone = {**first.quarantine[0], "source_file": f"{PAGES}#1-0"}  # a message trimmed away since
        other = {**first.quarantine[0], "source_file": f"{PAGES}#{ids[2]}", "reason": "bad_url"}
        wh.insert("quarantine", [*first.quarantine, gone, other])
        accounting = {"stream": PAGES, "enqueued_ms": 0, "seq": 0, "task": TASK.name, "kind": "page"}
        wh.insert(
            "stream_messages",
            [
                {**accounting, "message_id": i, "outcome": o, "page_id": None, "committed_at": utcnow()}
                for i, o in zip(ids, ["predicted", "quarantined", "quarantined"], strict=True)
            ],
        )

        result = requeue_quarantined(client, wh, PAGES)
        assert list(result.requeued) == [ids[1]] and result.missing == ["1-0"]
        new_id = result.requeued[ids[1]]
        assert (
            client.xlen(PAGES) == 4
            and client.xrange(PAGES, new_id, new_id)[0][1] == client.xrange(PAGES, ids[1], ids[1])[0][1]
        )
        left = wh.read("SELECT source_file, reason FROM quarantine ORDER BY source_file")
        assert left.values.tolist() == [[f"{PAGES}#1-0", PROCESSING_FAILED], [f"{PAGES}#{ids[2]}", "bad_url"]]
        outcomes = wh.read("SELECT message_id, outcome FROM stream_messages ORDER BY message_id")
        assert outcomes["outcome"].tolist() == ["predicted", "requeued", "quarantined"]
        assert requeue_quarantined(client, wh, PAGES).requeued == {}  # nothing twice

        fixed = PagePreparer(TASK).prepare(PAGES, read([new_id]))  # the task, fixed
        assert fixed.message_ids == [new_id] and not fixed.quarantine
        wh.dispose()
    finally:
        server.stop()
