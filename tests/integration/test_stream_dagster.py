"""The stream in the Dagster layer: its assets' metadata, the roll-up into batches, the health sensor."""

from __future__ import annotations

import dataclasses
import time

import pytest
import redis
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context, materialize

from beambell_assets.definitions import build_definitions
from beambell_assets.defs.automation.streaming import StreamUnhealthy
from beambell_assets.defs.resources import build_resources
from beambell_assets.devtools.stream import PrivateRedis, as_messages, run_with_test_stream
from beambell_assets.ingest.readers import read_landing_file
from beambell_assets.settings import Settings, load_settings
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.streaming.messages import StreamNames, sample_payloads
from beambell_assets.streaming.pipeline import job_from_settings
from beambell_assets.streaming.rollup import roll_up

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory):
    """A home whose stream has predicted ~140 sample pages (through TestStream), and its Redis."""
    root = tmp_path_factory.mktemp("stream-home")
    server = PrivateRedis(root / "redis").start()
    base = load_settings(root / "home")
    settings = dataclasses.replace(
        base, stream=dataclasses.replace(base.stream, redis_url=server.url, checkpoint_every=50)
    ).ensure_dirs()
    job = job_from_settings(settings, consumer="dagster-test")
    run_with_test_stream(job, [as_messages(sample_payloads(150, seed=41), 1_000, job.names.pages)])
    yield settings
    server.stop()


def test_stream_assets_show_what_the_stream_did_and_learned(streamed: Settings) -> None:
    defs = build_definitions(streamed)
    graph = defs.resolve_asset_graph()
    keys = [
        k
        for k in graph.get_all_asset_keys()
        if k.to_user_string() in ("stream_predictions", "stream_learned_state")
    ]
    assets = [defs.get_assets_def(k) for k in keys]
    with DagsterInstance.ephemeral() as instance:
        result = materialize(assets, resources=build_resources(streamed), instance=instance)
        assert result.success
        md = {
            m.asset_key.to_user_string(): m.metadata
            for m in result.asset_materializations_for_node(assets[0].op.name)
            + result.asset_materializations_for_node(assets[1].op.name)
        }
    wh = Warehouse(streamed.warehouse_url)
    committed = int(wh.scalar("SELECT COUNT(*) FROM stream_messages"))
    pred = md["stream_predictions"]
    assert pred["messages_committed"].value == committed == 150
    assert "label_model" in pred["by_predictor_and_version"].value
    assert "duplicate" in pred["quarantine_by_reason"].value
    state = md["stream_learned_state"]
    assert state["pages_learned"].value > 0 and "lf_weights" in state
    assert state["label_model"].value.split()[0] in ("triplet", "snorkel", "majority_vote")


def test_rollup_turns_stream_pages_into_one_landing_batch_each_page_once(streamed: Settings) -> None:
    wh = Warehouse(streamed.warehouse_url)
    names = StreamNames(streamed.stream.prefix, "web_content")
    pages = int(wh.scalar("SELECT COUNT(*) FROM stream_pages"))
    first = roll_up(wh, streamed.landing_dir, names.pages, "web_content")
    assert len(first.written) == 1 and first.pages == pages == first.pending_before
    again = roll_up(wh, streamed.landing_dir, names.pages, "web_content")
    assert again.written == [] and again.pending_before == 0
    batch = read_landing_file(first.written[0], first.written[0].name)
    assert len(batch.accepted) == pages and batch.rows_read == pages  # the contract accepts them all again
    # killed between assigning the pages and writing the file: the next roll-up writes it
    first.written[0].unlink()
    redo = roll_up(wh, streamed.landing_dir, names.pages, "web_content")
    assert [p.name for p in redo.written] == [first.written[0].name] and redo.pages == pages


def test_health_sensor_skips_a_stream_that_never_ran_fails_a_dead_one_and_refreshes_a_live_one(
    streamed: Settings,
) -> None:
    defs = build_definitions(streamed)
    sensor = defs.get_sensor_def("stream_health_sensor")
    resources = build_resources(streamed)
    client = redis.Redis.from_url(streamed.stream.redis_url)
    names = StreamNames(streamed.stream.prefix, "web_content")

    def tick():
        with (
            DagsterInstance.ephemeral() as instance,
            build_sensor_context(instance=instance, resources=resources) as context,
        ):
            return sensor(context)

    client.hset(names.status, "heartbeat", time.time())
    result = tick()
    assert isinstance(result, RunRequest) and result.run_key.startswith("stream_health_sensor:")
    client.hset(names.status, "heartbeat", time.time() - 3600)
    with pytest.raises(StreamUnhealthy, match="down: last heartbeat"):
        tick()
    client.hset(names.status, "heartbeat", time.time())
    pipe = client.pipeline(transaction=False)
    for _ in range(streamed.stream.max_lag + 1):  # a backlog nobody reads
        pipe.xadd(names.pages, {"json": b"{}"})
    pipe.execute()
    with pytest.raises(StreamUnhealthy, match="lag of"):
        tick()
    client.delete(names.status, names.pages)
    assert isinstance(tick(), SkipReason)


def test_gold_feedback_is_kept_in_the_warehouse_even_when_redis_is_down(streamed: Settings) -> None:
    from beambell_assets.feedback.publish import record_gold
    from beambell_assets.labeling.tasks.web_content import TASK

    wh = Warehouse(streamed.warehouse_url)
    url = wh.scalar("SELECT url FROM stream_pages LIMIT 1")
    dead = dataclasses.replace(streamed.stream, redis_url="redis://127.0.0.1:1/0")
    result = record_gold(
        wh, TASK, [{"url": url, "label": "Travel"}, {"url": url, "label": "Nope"}], stream=dead
    )
    assert len(result.accepted) == 1 and result.published == 0 and result.stream_error
    assert result.rejected == [{"index": 1, "reason": "unknown label 'Nope' for task 'web_content'"}]
    assert wh.scalar("SELECT label FROM gold_labels WHERE url = :u", {"u": url}) == "Travel"
