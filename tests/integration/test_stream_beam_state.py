"""The pipeline's stateful steps under Beam's TestStream (BundleBasedDirectRunner, streaming mode).

Prepare -> Learn with the real warehouse (SQLite) and a private Redis for the acks and the status:
the learner lives in keyed state across bundles, a redelivered bundle is neither written nor learned
twice, checkpoints follow the page count, and a new pipeline (empty Beam state) resumes from the
durable checkpoint plus the committed tail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from beambell_assets.devtools.stream import PrivateRedis, as_messages, rows_per_message, run_with_test_stream
from beambell_assets.settings import StreamSettings
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.streaming.checkpoint import latest_checkpoint, load_checkpoint
from beambell_assets.streaming.learner import StreamLearner
from beambell_assets.streaming.messages import sample_payloads
from beambell_assets.streaming.pipeline import StreamJob
from beambell_assets.streaming.source import StreamMessage

pytestmark = pytest.mark.integration


def chunk(payloads: list, start: int, stream: str, deliveries: int = 1) -> list[StreamMessage]:
    return as_messages(payloads, start, stream, deliveries)


def run(job: StreamJob, elements: list[list[StreamMessage]]) -> None:
    run_with_test_stream(job, elements)


@pytest.fixture
def job(tmp_path: Path):
    server = PrivateRedis(tmp_path / "redis").start()
    settings = StreamSettings(
        redis_url=server.url, checkpoint_every=60, triplet_every=40, snorkel_every=150, snorkel_lag=20
    )
    yield StreamJob(
        task_spec="beambell_assets.labeling.tasks.web_content",
        warehouse_url=f"sqlite:///{tmp_path / 'warehouse.db'}",
        artifacts_root=str(tmp_path / "artifacts"),
        column_mapping="",
        stream=settings,
        consumer="teststream",
        task_name="web_content",
    )
    server.stop()


def test_state_redelivery_checkpoints_and_restore_through_test_stream(job: StreamJob) -> None:
    pages = job.names.pages
    first = chunk(sample_payloads(100, seed=31), 1_000, pages)
    second = chunk(sample_payloads(100, seed=32), 2_000, pages)
    redelivered = [StreamMessage(m.stream, m.id, m.payload, m.fields, 2) for m in first[:40]]
    run(job, [first, second, redelivered])

    wh = Warehouse(job.warehouse_url)
    sent = {m.id for m in first + second}
    rows = rows_per_message(wh)
    assert set(rows) == sent and set(rows.values()) == {1}
    predicted = int(wh.scalar("SELECT COUNT(*) FROM stream_messages WHERE outcome = 'predicted'"))
    ref = latest_checkpoint(wh, "web_content")
    assert ref is not None and wh.scalar("SELECT COUNT(*) FROM stream_checkpoints") >= 2
    store = ArtifactStore(job.artifacts_root)
    from beambell_assets.labeling.tasks.web_content import TASK

    state = load_checkpoint(store, ref, StreamLearner(TASK))
    assert state.stats.pages <= predicted and state.counters["triplet_fits"] >= 2

    # A new pipeline: empty Beam state, so the learner comes back from the checkpoint + the tail.
    third = chunk(sample_payloads(60, seed=33), 3_000, pages)
    run(job, [third])
    after = int(wh.scalar("SELECT COUNT(*) FROM stream_messages WHERE outcome = 'predicted'"))
    status = json.loads(redis.Redis.from_url(job.stream.redis_url).hget(job.names.status, "summary"))
    assert status["pages_applied"] == after  # every committed page learned exactly once
    assert status["restored_pages"] == predicted - state.stats.pages  # the replayed tail
    assert len(rows_per_message(wh)) == len(sent) + len(third)
