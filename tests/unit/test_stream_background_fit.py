"""Snorkel's refits in a worker process: same model as inline, taken at a fixed page, robust to faults."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.streaming.background_fit import SnorkelFitter
from beambell_assets.streaming.learner import LearnerConfig, StreamLearner
from beambell_assets.streaming.messages import sample_payloads
from beambell_assets.streaming.prepare import PagePreparer
from beambell_assets.streaming.source import StreamMessage

CONFIG = LearnerConfig(triplet_every=50, snorkel_every=200, snorkel_lag=100, snorkel_epochs=100)


@pytest.fixture(scope="module")
def prepared():
    msgs = []
    for i, p in enumerate(sample_payloads(360, seed=5)):
        raw = p if isinstance(p, bytes) else json.dumps(p).encode()
        msgs.append(StreamMessage("s", f"{1_000 + i}-0", raw, {}))
    return PagePreparer(TASK).prepare("s", msgs)


@pytest.fixture
def fitter():
    f = SnorkelFitter().start()
    yield f
    f.close()


def feed(learner: StreamLearner, prepared, upto: int, start: int = 0, size: int = 30) -> None:
    for s in range(start, upto, size):
        e = min(s + size, upto)
        learner.process_pages(prepared.message_ids[s:e], prepared.features.iloc[s:e], prepared.L_task[s:e])


def test_a_worker_fit_equals_the_inline_fit_and_takes_effect_lag_pages_later(prepared, fitter) -> None:
    inline = StreamLearner(TASK, CONFIG)
    worker = StreamLearner(TASK, CONFIG).bind(TASK, fitter=fitter)
    # chunks that do not line up with the refit pages: the model in force still depends on pages only
    feed(inline, prepared, 250, size=37)
    feed(worker, prepared, 250, size=30)
    assert worker.snorkel_pending and worker.label_model.method == "triplet"
    assert worker.summary()["snorkel_pending"] == {"started_at": 200, "adopt_at": 300}
    feed(inline, prepared, len(prepared.message_ids), start=250, size=37)
    feed(worker, prepared, len(prepared.message_ids), start=250, size=30)
    assert worker.stats.pages == inline.stats.pages >= 300
    for learner, where in ((worker, "worker"), (inline, "inline")):
        assert learner.counters["snorkel_fits"] == 1 and not learner.snorkel_pending
        assert learner.last_snorkel["fitted_on_pages"] == 200 and learner.last_snorkel["where"] == where
    assert worker.label_model.version == inline.label_model.version
    L = worker.votes(prepared.features.iloc[:40], prepared.L_task[:40])
    np.testing.assert_allclose(worker.label_model.predict_proba(L), inline.label_model.predict_proba(L))


def test_a_pending_fit_survives_pickling_as_beam_state_does(prepared, fitter) -> None:
    learner = StreamLearner(TASK, CONFIG).bind(TASK, fitter=fitter)
    feed(learner, prepared, 240)
    assert learner.snorkel_pending
    back = pickle.loads(pickle.dumps(learner)).bind(TASK)  # no worker on the other side
    for one in (learner, back):
        feed(one, prepared, len(prepared.message_ids), start=240)
    assert back.counters["snorkel_fits"] == learner.counters["snorkel_fits"] == 1
    assert back.label_model.version == learner.label_model.version
    np.testing.assert_allclose(back.label_model.mu, learner.label_model.mu)


def test_a_killed_worker_means_an_inline_fit_and_a_new_worker(prepared, fitter) -> None:
    learner = StreamLearner(TASK, CONFIG).bind(TASK, fitter=fitter)
    reference = StreamLearner(TASK, CONFIG)
    feed(reference, prepared, len(prepared.message_ids))
    pid = fitter.worker_pid()
    feed(learner, prepared, 210)
    assert learner.snorkel_pending
    os.kill(pid, signal.SIGKILL)
    feed(learner, prepared, len(prepared.message_ids), start=210)
    assert learner.last_snorkel["where"] == "inline"
    np.testing.assert_allclose(learner.label_model.mu, reference.label_model.mu)
    # the broken pool was dropped: the next fit goes to a new worker, and it fits
    future = fitter.submit(learner.stats, learner.prior(), 0, 5)
    assert future is not None and future.result(timeout=120)[0].method == "snorkel"
    assert fitter.worker_pid() != pid


def test_the_worker_exits_when_its_parent_is_killed(tmp_path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from beambell_assets.streaming.background_fit import SnorkelFitter
        if __name__ == "__main__":
            print(SnorkelFitter().start().worker_pid(), flush=True)
            time.sleep(600)
        """
    )
    path = tmp_path / "parent.py"
    path.write_text(script)
    parent = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # alive
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the Snorkel worker {worker} outlived its killed parent")
    finally:
        parent.kill()
