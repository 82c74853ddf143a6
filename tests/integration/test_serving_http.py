"""The prediction service over real HTTP: uvicorn in a subprocess on a loopback port.

The champion is a real skops model in the home's real SQLite registry; a promotion is the same
registry write ``beambell promote`` makes, from this (another) process, while clients hammer the
server from threads.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from beambell_assets.devtools.prediction_service import (
    register_sample_champion,
    running_prediction_service,
    sample_pages,
)
from beambell_assets.labeling.task import load_task
from beambell_assets.settings import DEFAULT_TASK, Settings, load_settings

pytestmark = pytest.mark.integration

TOKEN = "integration-token-" + "x" * 16
TASK = load_task(DEFAULT_TASK)
RELOAD_INTERVAL_S = 0.5


@dataclass
class Server:
    url: str
    settings: Settings
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    settings = load_settings(tmp_path / "home").ensure_dirs()
    register_sample_champion(settings, "v1", reason="integration test")
    log = tmp_path / "server.log"
    args = ("--reload-interval", str(RELOAD_INTERVAL_S), "--no-access-log")
    with running_prediction_service(settings.home, TOKEN, log, args=args) as (url, proc):
        yield Server(url, settings, proc, log)


def test_health_auth_and_malformed_bodies(server: Server) -> None:
    with server.client(token=None) as anon:
        health = anon.get("/health")
        assert health.status_code == 200
        assert health.json()["model_version"] == "v1" and health.json()["status"] == "UP"
        body = {"pages": [{"url": "https://a.example/", "text": "hotel and flights"}]}
        assert anon.post("/v1/predict", json=body).status_code == 401
    with server.client(token="wrong") as bad:
        resp = bad.post("/v1/predict", json=body)
        assert resp.status_code == 401 and "token" in resp.json()["detail"]
        assert bad.post("/predict", json={"tasks": []}).status_code == 401
    with server.client() as c:
        cases = [
            (b"{broken", "JSON decode error"),
            (b'{"pages": [{"url": "https://a.example/"}]}', "a page needs non-empty `text` or `html`"),
            (b'{"pages": [{"text": "hello"}]}', "pages.0.url: Field required"),
            (b'{"pages": []}', "at least 1 item"),
            (b"[]", "Input should be a valid dictionary"),
        ]
        for raw, fragment in cases:
            resp = c.post("/v1/predict", content=raw, headers={"Content-Type": "application/json"})
            assert resp.status_code == 422, raw
            assert fragment in resp.json()["message"], (raw, resp.json())
        ls_bad = c.post("/predict", json={"tasks": [{"no_data": 1}]})
        assert ls_bad.status_code == 422 and "tasks.0.data: Field required" in ls_bad.json()["message"]


def test_label_studio_protocol_and_batch_votes(server: Server) -> None:
    config = (
        '<View><Header value="$url"/><Text name="text" value="$text"/>'
        '<Choices name="label" toName="text" choice="single">'
        + "".join(f'<Choice value="{n}"/>' for n in TASK.label_names)
        + "</Choices></View>"
    )
    pages = sample_pages(seed=5)[:20]
    with server.client() as c:
        setup = c.post("/setup", json={"project": "1.1700000000", "schema": config, "hostname": "x"})
        assert setup.status_code == 200 and setup.json()["model_version"] == "v1"
        tasks = [
            {"id": i, "data": {"url": p["url"], "text": p.get("text") or ""}}
            for i, (p, _) in enumerate(pages)
        ]
        tasks = [t for t in tasks if t["data"]["text"]]
        resp = c.post("/predict", json={"tasks": tasks, "label_config": config, "model_version": "v1"})
        assert resp.status_code == 200
        results = resp.json()["results"]
        assert len(results) == len(tasks)
        for r in results:
            (item,) = r["result"]
            assert item["type"] == "choices" and item["from_name"] == "label" and item["to_name"] == "text"
            assert item["value"]["choices"][0] in TASK.label_names and 0 < r["score"] <= 1

        hook = c.post("/webhook", json={"action": "ANNOTATION_CREATED", "annotation": {"id": 1}})
        assert hook.status_code == 200

        batch = c.post("/v1/predict", json={"pages": [p for p, _ in pages], "top_k": 3})
        assert batch.status_code == 200
        preds = batch.json()["predictions"]
        assert len(preds) == len(pages)
        assert sum(p["n_votes"] > 0 for p in preds) >= len(preds) // 2  # the LFs do fire on sample pages
        for p in preds:
            assert len(p["votes"]) == p["n_votes"]
            assert all(v["lf"] in TASK.lf_names and v["label"] in TASK.label_names for v in p["votes"])
        calls = c.get("/v1/stats").json()["calls"]
        assert calls["setup"] == 1 and calls["predict"] == 1 and calls["webhook"] == 1


def test_model_swap_under_load_drops_nothing(server: Server) -> None:
    """Promote v2 while 4 threads hammer /v1/predict: no failure, and v2 serves within the interval."""
    page = {"pages": [{"url": "https://news.example/world/1", "text": "election results parliament vote"}]}
    stop = threading.Event()
    records: list[tuple[float, float, int, str | None]] = []  # (start, end, status, version)
    errors: list[str] = []
    lock = threading.Lock()

    def hammer() -> None:
        with server.client() as c:
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    resp = c.post("/v1/predict", json=page)
                    version = resp.json().get("model_version") if resp.status_code == 200 else None
                    status = resp.status_code
                except Exception as exc:  # a dropped connection would land here
                    status, version = -1, None
                    with lock:
                        errors.append(repr(exc))
                with lock:
                    records.append((t0, time.monotonic(), status, version))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        register_sample_champion(server.settings, "v2", C=0.5, reason="integration test")  # another process
        promoted_at = time.monotonic()
        deadline = promoted_at + 30
        while time.monotonic() < deadline:
            with lock:
                if any(v == "v2" for *_, v in records):
                    break
            time.sleep(0.05)
        time.sleep(1.0)  # keep the load on after the swap
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)

    assert not errors, errors[:3]
    statuses = {s for _, _, s, _ in records}
    assert statuses == {200}, statuses
    first_v2_end = min(end for _, end, _, v in records if v == "v2")
    swap_delay = first_v2_end - promoted_at
    # The poll runs every 0.5 s; loading + warming the new model comes on top: 3 s here when quiet,
    # 11 s seen with the full suite's load on 2 cores and 4 client threads. The bound is for "it
    # does swap"; no request may fail either way (asserted above).
    assert swap_delay < RELOAD_INTERVAL_S + 30, swap_delay
    # Once a response came from v2, every request that started afterwards is served by v2.
    assert all(v == "v2" for start, _, _, v in records if start > first_v2_end)
    before = [v for start, _, _, v in records if start < promoted_at]
    assert before and set(before) == {"v1"}
    print(f"{len(records)} requests, 0 failed; v2 answered {swap_delay:.2f} s after the promotion")
    with server.client() as c:
        swaps = c.get("/v1/stats").json()["swaps"]
    assert [s["version"] for s in swaps] == ["v1", "v2"]
