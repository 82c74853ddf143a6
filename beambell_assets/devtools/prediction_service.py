"""A sample champion and a real ``beambell serve`` process, for the serving tests and benchmark.

``register_sample_champion`` trains the classifier on the sample scrape's good pages, saves it with
skops and registers (and promotes) it as the training graph would; ``running_prediction_service``
starts the service in a subprocess on a loopback port, waits for ``/health`` and stops it on exit.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from beambell_assets.demo.sample import generate_sample
from beambell_assets.devtools.local_dagster import REPO_ROOT, free_port
from beambell_assets.labeling.task import load_task
from beambell_assets.serving.features_online import online_features
from beambell_assets.serving.model_store import save_model
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.settings import DEFAULT_TASK, Settings, child_environment, load_settings
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier

TASK = load_task(DEFAULT_TASK)
_PAGE_FIELDS = ("url", "text", "html", "title")


def sample_pages(n_batches: int = 2, per_batch: int = 60, seed: int = 0) -> list[tuple[dict[str, Any], str]]:
    """(landing record, true label) of the sample scrape's good rows."""
    return [
        ({k: r.fields[k] for k in _PAGE_FIELDS if r.fields.get(k) is not None}, r.label)
        for b in generate_sample(n_batches, per_batch, seed=seed)
        for r in b.records
        if r.expected_reason is None
    ]


@lru_cache(maxsize=4)
def sample_model(C: float | None = None) -> SoftLabelTextClassifier:
    """A classifier trained on sample pages (once per process and ``C``; None: the default C)."""
    pages = sample_pages()
    feats = online_features([p for p, _ in pages], TASK)
    y = np.array([TASK.label_index(label) for _, label in pages])
    kwargs = {} if C is None else {"C": C}
    return SoftLabelTextClassifier(n_classes=TASK.cardinality, **kwargs).fit(feats["text"].tolist(), y)


def register_sample_champion(
    settings: Settings,
    version: str,
    *,
    C: float | None = 10.0,
    promote: bool = True,
    n_train: int = 100,
    metrics: Mapping[str, Any] | None = None,
    reason: str = "test champion",
) -> str:
    """Save the sample classifier with skops, register it (and promote it): what the graph does."""
    path = settings.artifacts_dir / "models" / f"{version}.skops"
    sha = save_model(sample_model(C), path)
    wh = Warehouse(settings.warehouse_url)
    try:
        wh.migrate()
        registry = ModelRegistry(wh, TASK.name)
        registry.register(
            version,
            str(path),
            sha,
            n_train=n_train,
            metrics=dict({"macro_f1": 0.9} if metrics is None else metrics),
        )
        if promote:
            registry.promote(version, actor="test", reason=reason)
    finally:
        wh.dispose()
    return version


@contextmanager
def running_prediction_service(
    home: Path,
    token: str,
    log: Path,
    *,
    port: int | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    unset: Sequence[str] = ("BEAMBELL_WAREHOUSE_URL", "BEAMBELL_TASK"),
    timeout: float = 90.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m beambell_assets.serving.server`` for ``home``; yields (url, process) once healthy.

    ``unset`` drops inherited variables so the home's own warehouse and the default task apply.
    """
    port = port or free_port()
    child_env = child_environment(unset=tuple(unset))
    child_env.update({"BEAMBELL_HOME": str(home), "BEAMBELL_API_TOKEN": token, **(env or {})})
    cmd = [sys.executable, "-m", "beambell_assets.serving.server", "--port", str(port), *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=child_env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"service not healthy after {timeout:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def serving_sample_champion(folder: Path, token: str, reason: str) -> Iterator[str]:
    """A fresh home under ``folder`` with the sample champion promoted, served; yields its url."""
    settings = load_settings(folder / "home").ensure_dirs()
    register_sample_champion(settings, "v1", reason=reason)
    with running_prediction_service(settings.home, token, folder / "server.log") as (url, _proc):
        yield url
