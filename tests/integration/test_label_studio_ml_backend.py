"""A real Label Studio (1.23, its own virtualenv) using beambell's prediction service as its model.

The service runs in a uvicorn subprocess on a loopback port with a real skops champion; Label
Studio is connected to it the way a user would (ML backend with basic auth, password = the token)
and asked for predictions through its Data Manager action. The service's own call counters show
that Label Studio called ``/setup`` and ``/predict``; the predictions must then be on the tasks.

Label Studio 1.23 blocks ML backends on local/private addresses by default (SSRF protection): a
service on the same machine or network needs ``ML_BLOCK_LOCAL_IP=false`` and, because connecting a
backend also creates a project webhook to ``<backend>/webhook`` that is checked against the banned
subnets, ``USE_DEFAULT_BANNED_SUBNETS=false`` in Label Studio's environment, as here. That
auto-created webhook carries no credentials; the test adds the ``Authorization`` header to it, as
a user would in the project's webhook settings, and checks an annotation event arrives.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from beambell_assets.devtools.prediction_service import (
    register_sample_champion,
    running_prediction_service,
    sample_pages,
)
from beambell_assets.labeling.task import load_task
from beambell_assets.settings import DEFAULT_TASK, load_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "ls-ml-backend-token-" + "y" * 12
TASK = load_task(DEFAULT_TASK)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    """The prediction service's base URL (uvicorn subprocess, stopped afterwards)."""
    settings = load_settings(tmp_path / "home").ensure_dirs()
    register_sample_champion(
        settings, "ls-v1", C=None, n_train=len(sample_pages()), metrics={}, reason="label studio test"
    )
    with running_prediction_service(settings.home, TOKEN, tmp_path / "service.log") as (url, _proc):
        yield url


def test_label_studio_calls_setup_and_predict_and_stores_predictions(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_label_studio = pytest.importorskip("beambell_assets.devtools.label_studio").running_label_studio
    from label_studio_sdk.core.api_error import ApiError

    from beambell_assets.feedback.label_studio import label_config

    monkeypatch.setenv("ML_BLOCK_LOCAL_IP", "false")  # the service is on 127.0.0.1 (see module doc)
    monkeypatch.setenv("USE_DEFAULT_BANNED_SUBNETS", "false")
    stats_headers = {"Authorization": f"Bearer {TOKEN}"}
    pages = sample_pages(seed=11)[:6]
    with running_label_studio(tmp_path / "ls") as ls:
        client = ls.client()
        project = client.projects.create(title="beambell ML backend test", label_config=label_config(TASK))
        client.projects.import_tasks(
            id=project.id,
            request=[
                {"data": {"url": p["url"], "text": p.get("text") or p.get("html") or "", "page_id": str(i)}}
                for i, (p, _) in enumerate(pages)
            ],
        )

        # A wrong token: Label Studio's own connection check (health + setup) refuses the backend.
        with pytest.raises(ApiError) as refused:
            client.ml.create(
                url=service,
                project=project.id,
                title="beambell (wrong token)",
                auth_method="BASIC_AUTH",
                basic_auth_user="labelstudio",
                basic_auth_pass="not-the-token",
            )
        assert refused.value.status_code == 400
        unauthorized = httpx.get(f"{service}/v1/stats", headers=stats_headers).json()["calls"]
        assert unauthorized.get("unauthorized", 0) >= 1 and unauthorized.get("setup", 0) == 0

        backend = client.ml.create(
            url=service,
            project=project.id,
            title="beambell",
            auth_method="BASIC_AUTH",
            basic_auth_user="labelstudio",
            basic_auth_pass=TOKEN,
        )
        assert backend.id is not None
        client.actions.create(
            id="retrieve_tasks_predictions", project=project.id, selected_items={"all": True, "excluded": []}
        )

        deadline = time.monotonic() + 60
        while True:
            tasks = list(client.tasks.list(project=project.id, fields="all"))
            predicted = [t for t in tasks if t.predictions]
            if len(predicted) == len(pages) or time.monotonic() > deadline:
                break
            time.sleep(1)
        calls = httpx.get(f"{service}/v1/stats", headers=stats_headers).json()["calls"]
        log_tail = ls.log_path.read_text(errors="replace")[-2000:]
        assert calls.get("setup", 0) >= 1, (calls, log_tail)
        assert calls.get("predict", 0) >= 1, (calls, log_tail)
        assert len(predicted) == len(pages), (calls, log_tail)
        for t in predicted:
            (pred,) = t.predictions
            pred = pred if isinstance(pred, dict) else pred.dict()
            assert pred["model_version"] == "ls-v1"
            (item,) = pred["result"]
            assert item["type"] == "choices" and item["value"]["choices"][0] in TASK.label_names
            assert 0 < float(pred["score"]) <= 1
        # The webhook Label Studio created for the backend: add the token, then annotate a task.
        hooks = [h for h in client.webhooks.list(project=str(project.id)) if h.url.endswith("/webhook")]
        assert hooks, "Label Studio did not create the ML backend's webhook"
        client.webhooks.update(id=hooks[0].id, headers={"Authorization": f"Bearer {TOKEN}"})
        client.annotations.create(
            id=predicted[0].id,
            result=[
                {
                    "from_name": "label",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": [TASK.label_names[0]]},
                }
            ],
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            calls = httpx.get(f"{service}/v1/stats", headers=stats_headers).json()["calls"]
            if calls.get("webhook:ANNOTATION_CREATED"):
                break
            time.sleep(0.5)
        assert calls.get("webhook:ANNOTATION_CREATED", 0) >= 1, (calls, ls.log_path.read_text()[-2000:])
        state = client.ml.get(id=backend.id)
        print(
            f"Label Studio called setup x{calls['setup']}, predict x{calls['predict']}; "
            f"ML backend state {state.state}"
        )
