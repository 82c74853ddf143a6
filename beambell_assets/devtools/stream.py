"""A private Redis server and a real `beambell stream` process, for the stream's integration tests.

Each test gets its own ``redis-server`` (a free port, append-only file in a temp folder), so a test
may restart it mid-stream without touching the machine's shared Redis, and its own beambell home.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from beambell_assets.devtools.local_dagster import free_port
from beambell_assets.settings import child_environment
from beambell_assets.storage.warehouse import Warehouse


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, persisting to an append-only file (restarts keep the data)."""

    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _ping(client), 20, f"redis on port {self.port}")
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _ping(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@dataclass
class StreamProcess:
    """``beambell stream`` in a subprocess on a home of its own."""

    home: Path
    redis_url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        env = child_environment()
        env.update(
            BEAMBELL_HOME=str(self.home),
            BEAMBELL_REDIS_URL=self.redis_url,
            BEAMBELL_STREAM_BLOCK_MS="500",
            BEAMBELL_STREAM_CHAMPION_POLL_S="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env_extra)
        return env

    def start(self, consumer: str = "test-consumer") -> StreamProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / f"stream-{int(time.time() * 1000)}.log"
        fh = open(self.log_path, "wb")  # noqa: SIM115 - the child writes to it until it ends
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "beambell_assets.cli", "stream", "--consumer", consumer],
            env=self.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        return self

    def cli(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "beambell_assets.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(f"sqlite:///{self.home / 'warehouse.db'}")


def committed(wh: Warehouse) -> int:
    try:
        return int(wh.scalar("SELECT COUNT(*) FROM stream_messages") or 0)
    except Exception:  # the table does not exist before the pipeline's first migrate
        return 0


def rows_per_message(wh: Warehouse) -> dict[str, int]:
    """message id -> number of accounting rows (must be exactly 1 each)."""
    df = wh.read("SELECT message_id, COUNT(*) AS n FROM stream_messages GROUP BY message_id")
    return dict(zip(df["message_id"], df["n"].astype(int), strict=True))


def as_messages(payloads: list[Any], start_ms: int, stream: str, deliveries: int = 1) -> list[Any]:
    """Stream messages (ids ``<start_ms + i>-0``) carrying ``payloads`` as a producer would send them."""
    from beambell_assets.streaming.messages import encode
    from beambell_assets.streaming.source import PAYLOAD_FIELD, StreamMessage

    return [
        StreamMessage(
            stream,
            f"{start_ms + i}-0",
            p if isinstance(p, bytes) else encode(p)[PAYLOAD_FIELD],
            {},
            deliveries,
        )
        for i, p in enumerate(payloads)
    ]


def run_with_test_stream(job: Any, elements: list[list[Any]]) -> None:
    """Prepare -> Learn over a Beam TestStream (one element, i.e. one read, per list), streaming mode."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
    from apache_beam.testing.test_stream import TestStream as BeamTestStream

    from beambell_assets.streaming.pipeline import Learn, Prepare

    ts = BeamTestStream()
    for i, el in enumerate(elements):
        ts = ts.add_elements([el]).advance_processing_time(1 + i)
    ts = ts.advance_watermark_to_infinity()
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with beam.Pipeline(runner=BundleBasedDirectRunner(), options=options) as p:
        p | ts | beam.ParDo(Prepare(job)).with_output_types(tuple[str, object]) | beam.ParDo(Learn(job))
