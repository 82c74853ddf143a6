"""The streaming pipeline for real: a `beambell stream` process, a private Redis, the warehouse.

What must hold whatever happens: every message sent ends as exactly one accounting row (predicted,
quarantined, or a feedback event), accepted pages have exactly one prediction row, and the learned
state counts every committed page once. The faults are real: SIGKILL of the pipeline, a Redis
restart, poison pages; and a promotion and gold labels reach the running stream.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from beambell_assets.demo.sample import generate_sample
from beambell_assets.devtools.stream import (
    PrivateRedis,
    StreamProcess,
    committed,
    rows_per_message,
    wait_until,
)
from beambell_assets.settings import load_settings
from beambell_assets.streaming.messages import StreamNames, sample_payloads, send

pytestmark = pytest.mark.integration
PAGES = StreamNames("beambell", "web_content")


@pytest.fixture
def redis_server(tmp_path: Path):
    server = PrivateRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def stream(tmp_path: Path, redis_server: PrivateRedis):
    proc = StreamProcess(tmp_path / "home", redis_server.url, {"BEAMBELL_STREAM_CHECKPOINT_EVERY": "100"})
    yield proc
    proc.stop()


def expected_reasons(pages: int, seed: int) -> list[str]:
    return sorted(
        r.expected_reason
        for b in generate_sample(1, pages, seed=seed)
        for r in b.records
        if r.expected_reason
    )


def summary(redis_server: PrivateRedis) -> dict:
    raw = redis_server.client().hget(PAGES.status, "summary")
    return json.loads(raw) if raw else {}


def assert_exactly_once(proc: StreamProcess, sent: list[str]) -> None:
    wh = proc.warehouse
    rows = rows_per_message(wh)
    assert set(rows) == set(sent), f"{len(set(sent) - set(rows))} messages without a row"
    assert set(rows.values()) == {1}
    predicted = wh.scalar("SELECT COUNT(DISTINCT page_id) FROM stream_messages WHERE outcome = 'predicted'")
    assert wh.scalar("SELECT COUNT(*) FROM predictions WHERE partition_key = 'stream'") == predicted
    assert wh.scalar("SELECT COUNT(*) FROM stream_pages") == predicted
    quarantined = wh.scalar("SELECT COUNT(*) FROM quarantine WHERE partition_key = 'stream'")
    outcomes = wh.read("SELECT outcome, COUNT(*) AS n FROM stream_messages GROUP BY outcome")
    counts = dict(zip(outcomes["outcome"], outcomes["n"], strict=True))
    assert counts.get("quarantined", 0) == quarantined
    assert sum(counts.values()) == len(sent)
    wh.dispose()


def test_every_page_gets_one_prediction_or_quarantine_row_and_the_status_says_what_runs(
    stream: StreamProcess, redis_server: PrivateRedis
) -> None:
    stream.start()
    client = redis_server.client()
    sent = send(client, PAGES.pages, sample_payloads(150, seed=21))
    wait_until(lambda: committed(stream.warehouse) >= len(sent), 180, "150 committed messages", 0.5)
    assert_exactly_once(stream, sent)
    wh = stream.warehouse
    reasons = sorted(wh.read("SELECT reason FROM quarantine WHERE partition_key = 'stream'")["reason"])
    assert reasons == expected_reasons(150, 21)
    row = wh.read("SELECT * FROM predictions WHERE partition_key = 'stream' LIMIT 1").iloc[0]
    assert row["source"] == "stream" and row["predictor"] == "label_model" and json.loads(row["lf_votes"])
    assert client.xlen(PAGES.predictions) == wh.scalar(
        "SELECT COUNT(*) FROM stream_messages WHERE outcome='predicted'"
    )
    assert client.xlen(PAGES.pages) == 0  # acknowledged and deleted after the commit
    status = stream.cli("stream", "status", "--json")
    assert '"reachable": true' in status and '"pages_lag"' in status
    stream.stop()
    assert stream.proc is not None and stream.proc.returncode == 0, stream.log()


@pytest.mark.slow
def test_kill9_mid_stream_then_restart_loses_nothing_and_learns_nothing_twice(
    stream: StreamProcess, redis_server: PrivateRedis
) -> None:
    client = redis_server.client()
    sent = send(client, PAGES.pages, sample_payloads(900, seed=22))
    stream.start()
    wait_until(lambda: committed(stream.warehouse) >= 250, 240, "250 committed before the kill", 0.2)
    stream.kill9()
    done_before = committed(stream.warehouse)
    assert done_before < len(sent), "the kill came too late to test anything"
    stream.start()
    wait_until(lambda: committed(stream.warehouse) >= len(sent), 300, "every message after the restart", 0.5)
    assert_exactly_once(stream, sent)
    wh = stream.warehouse
    predicted = int(wh.scalar("SELECT COUNT(*) FROM stream_messages WHERE outcome = 'predicted'"))
    assert wh.scalar("SELECT COUNT(*) FROM stream_checkpoints") >= 2
    s = wait_until(
        lambda: summary(redis_server).get("pages_applied") == predicted and summary(redis_server),
        30,
        "the restored learner's page count",
    )
    assert s["pages_applied"] == predicted  # restored from the checkpoint + replayed tail: once each
    assert client.xinfo_groups(PAGES.pages)[0]["pending"] == 0


@pytest.mark.slow
def test_a_redis_restart_mid_stream_is_survived_and_caught_up(
    stream: StreamProcess, redis_server: PrivateRedis
) -> None:
    client = redis_server.client()
    sent = send(client, PAGES.pages, sample_payloads(600, seed=23))
    stream.start()
    wait_until(lambda: committed(stream.warehouse) >= 100, 240, "100 committed before the restart", 0.2)
    redis_server.stop()
    time.sleep(3)
    redis_server.start()  # same port; the append-only file brings the stream and the group back
    more = send(redis_server.client(), PAGES.pages, sample_payloads(100, seed=24))
    wait_until(
        lambda: committed(stream.warehouse) >= len(sent) + len(more), 300, "catch-up after the restart", 0.5
    )
    assert_exactly_once(stream, sent + more)
    assert stream.proc is not None and stream.proc.poll() is None, "the pipeline died instead of reconnecting"


def test_poison_pages_are_quarantined_and_the_stream_goes_on(
    tmp_path: Path, redis_server: PrivateRedis
) -> None:
    task_file = tmp_path / "raising_task.py"
    task_file.write_text(
        "from snorkel.labeling import labeling_function\n"
        "from beambell_assets.labeling.tasks.web_content import TASK as BASE\n"
        "from beambell_assets.labeling.task import make_task\n"
        "@labeling_function()\n"
        "def lf_raises_on_poison(x):\n"
        "    if 'POISON' in (x.text or ''):\n"
        "        raise ValueError('this LF cannot read this page')\n"
        "    return -1\n"
        "TASK = make_task('web_content', BASE.label_names, [*BASE.lfs, lf_raises_on_poison])\n"
    )
    proc = StreamProcess(tmp_path / "home", redis_server.url, {"BEAMBELL_TASK": str(task_file)})
    client = redis_server.client()
    text = "Hotels, flights and beach holidays: the travel guide to Lisbon and the Algarve coast."
    payloads: list = [
        {"url": "https://poison.example/lf", "text": "POISON " + text},
        {"url": "https://poison.example/huge", "text": "word " * 10_000_000},  # 50 MB
        b'{"url": "https://poison.example/utf8", "text": "caf\xe9 au lait \xff\xfe"}',
        b'{"url": "https://poison.example/deep", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        *[{"url": f"https://ok.example/{i}", "text": f"{text} Page {i}."} for i in range(20)],
    ]
    try:
        proc.start()
        sent = send(client, PAGES.pages, payloads)
        wait_until(
            lambda: committed(proc.warehouse) >= len(sent), 240, "the poison pages and the good ones", 0.5
        )
        assert_exactly_once(proc, sent)
        wh = proc.warehouse
        by_url = dict(wh.read("SELECT url, reason FROM quarantine WHERE partition_key = 'stream'").to_numpy())
        assert by_url == {
            "https://poison.example/huge": "text_too_large",
            "https://poison.example/utf8": "bad_encoding",
            "https://poison.example/deep": "malformed_line",
        }
        # the raising LF abstains on its page (fault tolerant, as in the batch path) and is counted
        assert wh.scalar("SELECT COUNT(*) FROM predictions WHERE url = 'https://poison.example/lf'") == 1
        wait_until(
            lambda: summary(redis_server).get("lf_faults", {}).get("lf_raises_on_poison") == 1,
            20,
            "the LF fault in the status",
        )
        more = send(client, PAGES.pages, [{"url": "https://ok.example/after", "text": text + " After."}])
        wait_until(lambda: committed(proc.warehouse) >= len(sent) + 1, 60, "a page after the poison")
        assert proc.proc is not None and proc.proc.poll() is None
        assert more
    finally:
        proc.stop()


@pytest.mark.slow
def test_a_backlog_of_5000_pages_drains_with_every_page_accounted(
    stream: StreamProcess, redis_server
) -> None:
    """Ten reads' worth (``read_count`` 500) waiting before the pipeline starts. 10,000 pages cost
    twice the CPU and test nothing more; ``benchmarks/streaming.py`` measures larger backlogs."""
    client = redis_server.client()
    sent = []
    for seed in range(40, 60):  # 20 x 250 sample pages, bad ones included
        sent += send(client, PAGES.pages, sample_payloads(250, seed=seed))
    assert len(sent) == 5_000
    stream.start()
    peak = {"rss_mb": 0.0}

    def drained() -> bool:
        status = Path(f"/proc/{stream.proc.pid}/status").read_text() if stream.proc else ""
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak["rss_mb"] = int(line.split()[1]) / 1024
        return committed(stream.warehouse) >= len(sent)

    wait_until(drained, 900, "5,000 pages drained", 1.0)
    assert_exactly_once(stream, sent)
    print(f"\n5,000-page backlog: peak RSS of the pipeline process {peak['rss_mb']:.0f} MiB")


@pytest.mark.slow
def test_a_promotion_and_gold_labels_reach_the_running_stream_without_a_restart(
    stream: StreamProcess, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    from beambell_assets.devtools.prediction_service import (
        register_sample_champion,
        running_prediction_service,
    )

    stream.start()
    client = redis_server.client()
    records = [r for r in generate_sample(1, 160, seed=25)[0].records if r.expected_reason is None]
    pages = [json.loads(json.dumps(r.fields, default=str)) for r in records]
    send(client, PAGES.pages, pages[:80])
    wait_until(lambda: committed(stream.warehouse) >= 80, 180, "the first 80 pages", 0.5)

    settings = load_settings(stream.home)
    promoted_at = time.time()
    register_sample_champion(settings, "v-stream-test")
    pickup = None
    for page in pages[80:140]:  # one page every 0.5 s until one is scored by the new champion
        send(client, PAGES.pages, [page])
        time.sleep(0.5)
        got = stream.warehouse.read(
            "SELECT p.predictor FROM predictions p JOIN stream_messages m ON m.page_id = p.page_id "
            "WHERE p.partition_key = 'stream' AND p.predictor = 'champion' LIMIT 1"
        )
        if len(got):
            pickup = time.time() - promoted_at
            break
    assert pickup is not None, "the stream never scored with the promoted champion"
    print(f"\nchampion picked up by the stream {pickup:.1f} s after the promotion (target <= 10 s)")

    # gold labels through the prediction service: stored, published, learned by the running stream
    before = summary(redis_server).get("lf_state_version")
    token = "t0ken"
    env = {"BEAMBELL_REDIS_URL": redis_server.url}
    with running_prediction_service(stream.home, token, tmp_path / "serve.log", env=env) as (url, _proc):
        labels = [
            {"url": p["url"], "label": r.label, "labeler": "tester"}
            for p, r in zip(pages[:80], records[:80], strict=True)
        ]
        reply = httpx.post(
            f"{url}/v1/feedback",
            json={"labels": labels},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["accepted"] == 80 and reply.json()["published_to_stream"] == 80
        bad = httpx.post(
            f"{url}/v1/feedback",
            json={"labels": [{"url": pages[0]["url"], "label": "Nope"}]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert bad.json()["rejected"][0]["reason"].startswith("unknown label")
    s = wait_until(
        lambda: (summary(redis_server).get("gold_train", 0) > 0) and summary(redis_server),
        30,
        "the stream learning from the gold",
    )
    assert s["lf_state_version"] != before and s["online_model"]["gold_learned"] == s["gold_train"]
    assert s["prequential"].get("champion", {}).get("n_gold", 0) == s["gold_eval"] > 0
