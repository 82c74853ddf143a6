"""The streaming pipeline, in Apache Beam: read → prepare → learn and predict (keyed state) → commit.

```
<p>:<task>:pages ───┐                                          ┌─ warehouse, one transaction per bundle:
<p>:<task>:feedback ┴ ReadFromRedisStreams ─ Prepare ─ Learn ──┤  predictions, stream_pages, quarantine,
   (unbounded SDF, one blocking  (contract,  (keyed by task:   │  stream_messages, gold, checkpoint
    XREADGROUP for both streams) features,   StreamLearner in  ├─ XACK, after the commit
                                 LF votes)   keyed state)      ├─ <p>:<task>:predictions (output stream)
                                                               └─ <p>:<task>:status (heartbeat, lag, ...)
```

* **ReadFromRedisStreams** is a splittable DoFn with an unbounded restriction: each call claims one
  position, does one ``XREADGROUP … BLOCK`` over both streams and defers the rest, so every read
  becomes its own bundle (low latency) and an idle pipeline waits on the Redis server (no spin).
* **Prepare** is stateless (:class:`~beambell_assets.streaming.prepare.PagePreparer`): it scales out
  with the runner's workers.
* **Learn** holds the :class:`~beambell_assets.streaming.learner.StreamLearner` in keyed state
  (one key per task: the label model's statistics are global to the task). On its first element it
  restores the newest durable checkpoint plus the committed tail. It writes everything of a bundle in
  ``finish_bundle``, in one transaction, then acknowledges the messages: at-least-once delivery,
  idempotent writes, exactly one row per message.

Only standard Beam is used (an SDF, keyed state, ``finish_bundle``): refits are counted in pages, not
timers, and model versions are published through the registry and Redis, not side inputs, because
the local FnApiRunner honours neither watermark-driven timers nor refreshing side inputs. Locally it
runs on the FnApiRunner; ``--runner=FlinkRunner`` / ``DataflowRunner`` (+ ``--streaming``) run the
same graph (``docs/streaming.md``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import apache_beam as beam
import numpy as np
import pandas as pd
import redis
from apache_beam.coders import PickleCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.runners.worker.statecache import CacheAware
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from beambell_assets.ingest.contract import ColumnMapping, normalize_url, page_id_for
from beambell_assets.settings import StreamSettings
from beambell_assets.streaming.messages import StreamNames, Undecodable, decode
from beambell_assets.streaming.prepare import PagePreparer, PreparedPages, quarantine_row
from beambell_assets.streaming.source import RedisStreamSource, StreamMessage

log = logging.getLogger(__name__)

_UNBOUNDED = 2**62
STOP_SUFFIX = ":stop"


@dataclass(frozen=True)
class StreamJob:
    """Everything the pipeline's workers need (plain values: it travels to every worker)."""

    task_spec: str
    warehouse_url: str
    artifacts_root: str
    column_mapping: str
    stream: StreamSettings
    consumer: str
    task_name: str

    @property
    def names(self) -> StreamNames:
        return StreamNames(self.stream.prefix, self.task_name)

    def learner_config(self) -> Any:
        from beambell_assets.streaming.learner import LearnerConfig

        s = self.stream
        return LearnerConfig(
            decay=s.decay,
            triplet_every=s.triplet_every,
            snorkel_every=s.snorkel_every,
            snorkel_lag=s.snorkel_lag,
            online_min_pages=s.online_min_pages,
        )


# --------------------------------------------------------------------------- source


def _one_thread_per_worker() -> None:
    """BLAS/OpenMP pools off: a stream scores small chunks, and idle pool threads spin-wait (seen here:
    1.7 cores busy at 10 pages/s with the default pools, most of it spinning). Parallelism comes
    from the runner's workers instead."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


class _Unbounded(RestrictionProvider):
    def initial_restriction(self, element: Any) -> OffsetRange:
        return OffsetRange(0, _UNBOUNDED)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: Any, restriction: OffsetRange) -> int:
        return 1

    def split(self, element: Any, restriction: OffsetRange) -> Iterator[OffsetRange]:
        yield restriction  # one reader per consumer; scale out with more consumers of the group


_RESTRICTION = beam.DoFn.RestrictionParam(_Unbounded())


class ReadFromRedisStreams(beam.DoFn):
    """Unbounded reader of Redis streams through a consumer group (see the module docstring).

    Emits one list of :class:`StreamMessage` per read. Stops when ``<status key>:stop`` is set.
    """

    def __init__(self, job: StreamJob) -> None:
        self.job = job

    def setup(self) -> None:
        names = self.job.names
        self.source = RedisStreamSource(
            self.job.stream.redis_url, [names.pages, names.feedback], self.job.stream.group, self.job.consumer
        )
        self.stop_key = names.status + STOP_SUFFIX
        self._next_stop_check = 0.0

    def _stopping(self) -> bool:
        now = time.monotonic()
        if now < self._next_stop_check:
            return False
        self._next_stop_check = now + 1.0
        try:
            client = self.source.client
            client.hset(
                self.job.names.status, mapping={"heartbeat": time.time(), "consumer": self.job.consumer}
            )
            return bool(client.exists(self.stop_key))
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    @beam.DoFn.unbounded_per_element()
    def process(
        self, element: Any, tracker: OffsetRestrictionTracker = _RESTRICTION
    ) -> Iterator[list[StreamMessage]]:
        position = tracker.current_restriction().start
        if self._stopping():
            tracker.try_claim(_UNBOUNDED)  # claims nothing and marks the restriction done
            return
        if not tracker.try_claim(position):
            return
        messages = self.source.read(self.job.stream.read_count, self.job.stream.block_ms)
        if messages:
            yield messages
        tracker.defer_remainder()

    def teardown(self) -> None:
        self.source.close()


# --------------------------------------------------------------------------- prepare


@dataclass
class PreparedFeedback:
    stream: str
    message_ids: list[str]
    page_ids: list[str]
    labels: list[str]
    sources: list[str]
    features: pd.DataFrame
    L_task: np.ndarray
    gold_rows: list[dict[str, Any]]
    unresolved: list[tuple[str, str, str | None]]  # (message id, outcome, page id)
    quarantine: list[dict[str, Any]]
    already_committed: list[str]


class Prepare(beam.DoFn):
    """Stateless: page messages through the landing contract, features and the task's LFs; gold
    labels resolved to their pages. Emits ``(task, PreparedPages | PreparedFeedback)``."""

    def __init__(self, job: StreamJob) -> None:
        self.job = job

    def setup(self) -> None:
        from beambell_assets.labeling.task import load_task
        from beambell_assets.storage.warehouse import Warehouse

        _one_thread_per_worker()
        self.task = load_task(self.job.task_spec)
        self.wh = Warehouse(self.job.warehouse_url)
        self.wh.migrate()
        self.preparer = PagePreparer(self.task, ColumnMapping.parse(self.job.column_mapping))

    def process(self, messages: list[StreamMessage]) -> Iterator[tuple[str, Any]]:
        from beambell_assets.streaming import sink

        names = self.job.names
        for stream in (names.feedback, names.pages):  # feedback first: the next pages use it
            batch = [m for m in messages if m.stream == stream]
            if not batch:
                continue
            redelivered = [m.id for m in batch if m.deliveries > 1]
            committed = sink.committed_ids(self.wh, stream, redelivered)
            if stream == names.pages:
                yield (
                    self.task.name,
                    self.preparer.prepare(
                        stream, batch, committed, owners_of=lambda h: sink.content_owners(self.wh, h)
                    ),
                )
            else:
                yield self.task.name, self._feedback(stream, batch, committed)

    def _feedback(self, stream: str, batch: list[StreamMessage], committed: set[str]) -> PreparedFeedback:
        from beambell_assets.storage.warehouse import utcnow

        out = PreparedFeedback(
            stream, [], [], [], [], pd.DataFrame(), np.zeros((0, 0), np.int64), [], [], [], []
        )
        wanted: list[tuple[str, dict[str, Any]]] = []
        for msg in batch:
            if msg.id in committed:
                out.already_committed.append(msg.id)
                continue
            value = decode(msg)
            if isinstance(value, Undecodable) or not isinstance(value.get("label"), str):
                why = (
                    value.detail if isinstance(value, Undecodable) else "a gold label needs a string 'label'"
                )
                out.quarantine.append(quarantine_row(stream, msg.id, "malformed_line", why, None, ""))
                out.unresolved.append((msg.id, "quarantined", None))
                continue
            page_id = value.get("page_id")
            url = value.get("url")
            if not page_id and isinstance(url, str):
                norm = normalize_url(url)
                page_id = page_id_for(norm) if norm else None
            if not isinstance(page_id, str) or not page_id:
                out.quarantine.append(
                    quarantine_row(stream, msg.id, "missing_url", "no page_id or valid url", url, "")
                )
                out.unresolved.append((msg.id, "quarantined", None))
                continue
            if value["label"] not in self.task.label_names:
                detail = (
                    f"label {value['label']!r} is not one of the task's {len(self.task.label_names)} labels"
                )
                out.quarantine.append(
                    quarantine_row(stream, msg.id, "unknown_label", detail, url, json.dumps(value))
                )
                out.unresolved.append((msg.id, "unknown_label", page_id))
                continue
            wanted.append((msg.id, {**value, "page_id": page_id}))
        pages = self._pages([v["page_id"] for _m, v in wanted])
        records, rows = [], []
        for mid, value in wanted:
            page = pages.get(value["page_id"])
            if not value.get("persisted"):  # a producer that did not write gold_labels itself
                out.gold_rows.append(
                    {
                        "page_id": value["page_id"],
                        "task": self.task.name,
                        "url": (page or {}).get("url") or value.get("url") or "",
                        "label": value["label"],
                        "labeler": value.get("labeler"),
                        "labeled_at": value.get("labeled_at"),
                        "source": str(value.get("source") or "stream"),
                        "loaded_at": utcnow(),
                    }
                )
            if page is None:
                out.unresolved.append((mid, "unknown_page", value["page_id"]))
                continue
            records.append(page)
            rows.append(mid)
            out.page_ids.append(value["page_id"])
            out.labels.append(value["label"])
            out.sources.append(str(value.get("source") or "stream"))
        if records:
            fake = [
                StreamMessage(stream, mid, json.dumps(rec, default=str).encode(), {})
                for mid, rec in zip(rows, records, strict=True)
            ]
            prepared = self.preparer.prepare(stream, fake)
            keep = {mid: i for i, mid in enumerate(prepared.message_ids)}
            order = [i for i, mid in enumerate(rows) if mid in keep]
            for i, mid in enumerate(rows):
                if mid not in keep:
                    out.unresolved.append((mid, "unknown_page", out.page_ids[i]))
            out.message_ids = [rows[i] for i in order]
            out.page_ids = [out.page_ids[i] for i in order]
            out.labels = [out.labels[i] for i in order]
            out.sources = [out.sources[i] for i in order]
            idx = [keep[rows[i]] for i in order]
            out.features = prepared.features.iloc[idx].reset_index(drop=True)
            out.L_task = (
                prepared.L_task[idx] if len(idx) else np.zeros((0, prepared.L_task.shape[1]), np.int64)
            )
        return out

    def _pages(self, page_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored page (url, title, text) of each id: stream pages first, then batch pages."""
        if not page_ids:
            return {}
        found: dict[str, dict[str, Any]] = {}
        for table in ("stream_pages", "pages"):
            todo = [p for p in dict.fromkeys(page_ids) if p not in found]
            if not todo:
                break
            params = {f"p{i}": p for i, p in enumerate(todo)}
            marks = ", ".join(":" + k for k in params)
            sql = f"SELECT page_id, url, title, text FROM {table} WHERE page_id IN ({marks})"
            for row in self.wh.read(sql, params).to_dict("records"):
                found.setdefault(
                    row["page_id"], {k: row[k] for k in ("url", "title", "text") if row[k] is not None}
                )
        return found


# --------------------------------------------------------------------------- learn, predict, commit


def _online_version(online: Any) -> tuple[Any, ...]:
    """What changes when the online model must be rewritten to state: a step, gold, a new model, or
    a calibration switched on or off."""
    return (online.updates, online.gold_learned, id(online), online.spec)


class Measured(CacheAware):
    """A state cell's value as Beam's state cache should weigh it.

    The cache weighs every value it is given by walking all the objects it references (objsize).
    Through the learner's bound task (LF code, compiled regexes) and the online model's token cache
    that walk cost ~27 ms and ~11 ms per write: with the pickling, a quarter of the stream's CPU at
    100 pages/s (py-spy, 2026-12-06). It weighs what the state keeps instead: the value's
    ``__getstate__`` (the learner drops its task and caches there), without the online model's
    featurizer (settings plus a token cache)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value

    def get_referents_for_cache(self) -> list[Any]:
        state = self.value.__getstate__()
        return [v for k, v in state.items() if k != "featurizer"] if isinstance(state, dict) else [state]


def _unwrap(cell: Any) -> Any:
    return cell.value if isinstance(cell, Measured) else cell


# Two cells: the learner (statistics, label model, gold, counters: rewritten every bundle) and its
# online model (tens of MB of weights and replay buffer: rewritten only when it took a step).
_LEARNER_SPEC = ReadModifyWriteStateSpec("learner", PickleCoder())
_ONLINE_SPEC = ReadModifyWriteStateSpec("online_model", PickleCoder())
_LEARNER_STATE = beam.DoFn.StateParam(_LEARNER_SPEC)
_ONLINE_STATE = beam.DoFn.StateParam(_ONLINE_SPEC)


class Learn(beam.DoFn):
    """Keyed by task: the learner in state; predictions and commits (see the module docstring)."""

    def __init__(self, job: StreamJob) -> None:
        self.job = job

    def setup(self) -> None:
        from beambell_assets.labeling.task import load_task
        from beambell_assets.storage.artifacts import ArtifactStore
        from beambell_assets.storage.warehouse import Warehouse
        from beambell_assets.streaming.background_fit import SnorkelFitter
        from beambell_assets.streaming.champion import ChampionWatcher

        _one_thread_per_worker()
        self.task = load_task(self.job.task_spec)
        self.wh = Warehouse(self.job.warehouse_url)
        self.wh.migrate()
        # Snorkel's refits run in a worker process (see streaming.background_fit).
        self.fitter = SnorkelFitter().start() if self.job.stream.snorkel_lag > 0 else None
        self.store = ArtifactStore(self.job.artifacts_root)
        self.watcher = ChampionWatcher(
            self.job.warehouse_url, self.task, self.job.stream.champion_poll_s
        ).start()
        self.source = RedisStreamSource(
            self.job.stream.redis_url, [self.job.names.pages], self.job.stream.group, self.job.consumer
        )
        self.latencies: deque[tuple[float, float]] = deque(maxlen=5000)  # (commit time, seconds)
        self.appliers: dict[str, Any] = {}  # stateful-LF appliers by state version (not state)
        self.started_at = time.time()
        self.pending: list[Any] = []

    def start_bundle(self) -> None:
        self.pending = []

    def process(
        self, element: tuple[str, Any], state: Any = _LEARNER_STATE, online_state: Any = _ONLINE_STATE
    ) -> Iterator[int]:
        from beambell_assets.streaming.sink import CommitBatch

        _key, prepared = element
        learner = _unwrap(state.read())
        online = _unwrap(online_state.read()) if learner is not None else None
        restored = learner is None or online is None
        if restored:
            learner = self._restore()
        else:
            learner.online = online
        learner.bind(self.task, self.appliers, self.fitter)
        online_version = _online_version(learner.online)
        batch = CommitBatch(task=self.task.name)
        champion = self.watcher.current
        if isinstance(prepared, PreparedPages):
            self._pages(learner, prepared, champion, batch)
        else:
            self._feedback(learner, prepared, champion, batch)
        self._maybe_checkpoint(learner, batch)
        summary = learner.summary()
        online = learner.detach()
        if restored or _online_version(online) != online_version:
            online_state.write(Measured(online))
        state.write(Measured(learner))
        self.pending.append((batch, summary))
        yield len(batch.messages)

    def _restore(self) -> Any:
        from beambell_assets.streaming.restore import restore_learner

        learner, report = restore_learner(
            self.wh, self.store, self.task, self.job.names.pages, self.job.learner_config()
        )
        log.info("stream learner restored: %s", report)
        learner.counters["restored_pages"] = report.get("replayed", 0)
        return learner

    def _pages(self, learner: Any, prepared: PreparedPages, champion: Any, batch: Any) -> None:
        from beambell_assets.storage.warehouse import utcnow

        stream = prepared.stream
        if prepared.message_ids:
            preds = learner.process_pages(prepared.message_ids, prepared.features, prepared.L_task, champion)
            received = utcnow()
            for page in prepared.pages:
                batch.pages.append({**page, "received_at": received})
            for p in preds:
                batch.prediction(p)
                batch.message(stream, p.message_id, "page", "predicted", p.page_id)
        batch.quarantine.extend(prepared.quarantine)
        for mid in prepared.quarantined_ids:
            batch.message(stream, mid, "page", "quarantined", None)
        batch.acks.setdefault(stream, []).extend(prepared.already_committed)
        for lf, n in prepared.lf_faults.items():
            learner.lf_faults[lf] = learner.lf_faults.get(lf, 0) + n

    def _feedback(self, learner: Any, prepared: PreparedFeedback, champion: Any, batch: Any) -> None:
        stream = prepared.stream
        if prepared.message_ids:
            learner.process_feedback(
                prepared.page_ids,
                prepared.labels,
                prepared.sources,
                prepared.features,
                prepared.L_task,
                champion,
            )
            for mid, pid in zip(prepared.message_ids, prepared.page_ids, strict=True):
                batch.message(stream, mid, "feedback", "applied", pid)
        for mid, outcome, pid in prepared.unresolved:
            batch.message(stream, mid, "feedback", outcome, pid)
        batch.gold.extend(prepared.gold_rows)
        batch.quarantine.extend(prepared.quarantine)
        batch.acks.setdefault(stream, []).extend(prepared.already_committed)

    def _maybe_checkpoint(self, learner: Any, batch: Any) -> None:
        from beambell_assets.streaming.checkpoint import checkpoint_row, write_checkpoint_files
        from beambell_assets.streaming.sink import next_checkpoint_version

        s = self.job.stream
        since = learner.counters["pages_applied"] - learner.counters.get("checkpoint_pages", 0)
        feedback = learner.counters["feedback"] - learner.counters.get("checkpoint_feedback", 0)
        age = time.time() - learner.counters.get("checkpoint_at", 0)
        if not (since >= s.checkpoint_every or ((since or feedback) and age >= s.checkpoint_interval_s)):
            return
        if learner.checkpoint_would_wait:  # a Snorkel fit is running: checkpoint once it is done
            return
        version = (
            max(
                learner.counters.get("checkpoint_version", 0),
                next_checkpoint_version(self.wh, self.task.name) - 1,
            )
            + 1
        )
        learner.counters.update(
            checkpoint_version=version,
            checkpoint_pages=learner.counters["pages_applied"],
            checkpoint_feedback=learner.counters["feedback"],
            checkpoint_at=int(time.time()),
        )
        started = time.perf_counter()
        ref = write_checkpoint_files(self.store, learner, version)
        batch.checkpoint = checkpoint_row(ref, learner.summary())
        log.info("checkpoint %d written in %.2f s", version, time.perf_counter() - started)

    def finish_bundle(self) -> None:
        from beambell_assets.streaming import sink
        from beambell_assets.streaming.checkpoint import prune_checkpoints

        for batch, summary in self.pending:
            sink.commit(self.wh, batch)
            now = time.time()
            for stream, ids in batch.acks.items():
                self.source.ack(stream, ids)
            for m in batch.messages:
                if m["kind"] == "page":
                    self.latencies.append((now, now - m["enqueued_ms"] / 1000.0))
            self._publish(batch, summary, now)
            if batch.checkpoint is not None:
                prune_checkpoints(self.store, self.task.name, keep=3)
        self.pending = []

    def _publish(self, batch: Any, summary: dict[str, Any], now: float) -> None:
        names = self.job.names
        try:
            client = self.source.client
            pipe = client.pipeline(transaction=False)
            for p in batch.predictions:
                out = {
                    k: p[k] for k in ("page_id", "url", "label", "probability", "model_version", "predictor")
                }
                pipe.xadd(names.predictions, {"json": json.dumps(out)}, maxlen=100_000, approximate=True)
            recent = [lat for t, lat in self.latencies if now - t <= 60]
            window = [t for t, _ in self.latencies if now - t <= 10]
            status = {
                "summary": json.dumps(
                    {
                        **summary,
                        "champion": self.watcher.current.version if self.watcher.current else None,
                        "champion_error": self.watcher.last_error,
                    },
                    default=str,
                ),
                "heartbeat": now,
                "last_commit_at": now,
                "pages_per_s_10s": round(len(window) / 10.0, 2),
                "latency_p50_s": round(float(np.percentile(recent, 50)), 4) if recent else "",
                "latency_p95_s": round(float(np.percentile(recent, 95)), 4) if recent else "",
                "latency_p99_s": round(float(np.percentile(recent, 99)), 4) if recent else "",
                "started_at": self.started_at,
            }
            pipe.hset(names.status, mapping=status)
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:  # status is best effort
            log.warning("stream status not published: %s", exc)

    def teardown(self) -> None:
        self.watcher.stop()
        if self.fitter is not None:
            self.fitter.close()
        self.source.close()


# --------------------------------------------------------------------------- building and running


def build_pipeline(pipeline: beam.Pipeline, job: StreamJob) -> beam.PCollection:
    return (
        pipeline
        | "Start" >> beam.Create([job.names.pages])
        | "ReadFromRedisStreams" >> beam.ParDo(ReadFromRedisStreams(job))
        | "Prepare" >> beam.ParDo(Prepare(job)).with_output_types(tuple[str, Any])
        | "LearnAndPredict" >> beam.ParDo(Learn(job))
    )


def make_pipeline(job: StreamJob) -> beam.Pipeline:
    """The pipeline on the configured runner (the FnApiRunner locally)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    extra = job.stream.beam_args.split() if job.stream.beam_args else []
    if job.stream.runner == "FnApiRunner":
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(extra))
    return beam.Pipeline(options=PipelineOptions([f"--runner={job.stream.runner}", "--streaming", *extra]))


def run(job: StreamJob) -> None:
    """Run until ``beambell stream stop`` (or the process is killed)."""
    client = redis.Redis.from_url(job.stream.redis_url)
    client.delete(job.names.status + STOP_SUFFIX)
    client.hset(
        job.names.status, mapping={"started_at": time.time(), "job": json.dumps(asdict(job), default=str)}
    )
    client.close()
    pipeline = make_pipeline(job)
    build_pipeline(pipeline, job)
    pipeline.run().wait_until_finish()


def job_from_settings(settings: Any, consumer: str | None = None) -> StreamJob:
    """The job for the configured home, task and stream settings."""
    from beambell_assets.labeling.task import load_task
    from beambell_assets.streaming.source import consumer_name

    return StreamJob(
        task_spec=settings.task_spec,
        warehouse_url=settings.warehouse_url,
        artifacts_root=str(settings.artifacts_dir),
        column_mapping=settings.column_mapping,
        stream=settings.stream,
        consumer=consumer or consumer_name(),
        task_name=load_task(settings.task_spec).name,
    )


def request_stop(job: StreamJob) -> None:
    """Ask a running pipeline to finish its current bundle and stop (``beambell stream stop``)."""
    client = redis.Redis.from_url(job.stream.redis_url)
    client.set(job.names.status + STOP_SUFFIX, str(time.time()), ex=3600)
    client.close()
