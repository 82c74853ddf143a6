"""The Label Studio ML-backend protocol: ``GET /health``, ``POST /setup``, ``/predict``, ``/webhook``.

``/predict`` answers ``{"results": [{"model_version", "score", "result": [<choices>]}, ...]}``, one
per task, in order; ``/webhook`` acknowledges and counts annotation events (gold labels reach the
warehouse through beambell's own Label Studio import, not through this service).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from pydantic import ConfigDict, Field

from beambell_assets.serving.bodies import LIMITS, MAX_BATCH, AsciiJSONResponse, StrictBody
from beambell_assets.serving.label_config import LabelConfigError, LabelTarget, parse_label_config
from beambell_assets.serving.state import ServiceState, service_state, serving_slot

router = APIRouter()


class LSTask(StrictBody):
    model_config = ConfigDict(extra="allow")

    id: int | str | None = None
    data: dict[str, Any]


class LSPredictRequest(StrictBody):
    """What Label Studio posts to ``/predict`` (it adds fields across versions: kept, not read)."""

    model_config = ConfigDict(extra="allow")

    tasks: list[LSTask] = Field(max_length=MAX_BATCH)
    model_version: str | None = None
    project: str | int | None = None
    label_config: str | None = None
    params: dict[str, Any] | None = None


class LSSetupRequest(StrictBody):
    model_config = ConfigDict(extra="allow")

    project: str | int | None = None
    schema_: str | None = Field(None, alias="schema")
    hostname: str | None = None
    access_token: str | None = None
    model_version: str | None = None
    extra_params: Any = None


class LSWebhook(StrictBody):
    model_config = ConfigDict(extra="allow")

    action: str = Field(min_length=1)
    project: dict[str, Any] | int | str | None = None


@router.get("/health")
def health(request: Request) -> AsciiJSONResponse:
    """Liveness and what is served; open (no token) so probes and load balancers can call it."""
    state = service_state(request)
    state.count("health")
    slot = state.current
    body = {
        "status": "UP" if slot is not None else "NO_MODEL",
        "model_class": "beambell",
        "task": state.task.name,
        "model_version": slot.version if slot else None,
    }
    if slot is None:
        body["error"] = state.last_error
    return AsciiJSONResponse(body, status_code=200 if slot is not None else 503)


def _label_target(state: ServiceState, config: str | None) -> LabelTarget:
    """The project's label config checked against the task's labels (422 when they do not fit)."""
    if not config:
        return LabelTarget(choices=state.task.label_names)
    try:
        return parse_label_config(config, state.task.label_names)
    except LabelConfigError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


@router.post("/setup")
def setup(body: LSSetupRequest, request: Request) -> AsciiJSONResponse:
    """Label Studio connects a project: check its label config fits, answer the model version."""
    state = service_state(request)
    state.count("setup")
    slot = serving_slot(state)
    if body.schema_:
        target = _label_target(state, body.schema_)
        state.events.append({"kind": "setup", "project": body.project, "choices": list(target.choices)})
    return AsciiJSONResponse({"model_version": slot.version})


@router.post("/predict")
def ls_predict(body: LSPredictRequest, request: Request) -> AsciiJSONResponse:
    """One prediction per task, in order, as Label Studio's ``choices`` result."""
    state = service_state(request)
    state.count("predict")
    slot = serving_slot(state)
    target = _label_target(state, body.label_config)
    pages, positions = [], []
    for i, task in enumerate(body.tasks):
        page = _page_from_ls(task.data, target.text_key)
        if page is not None:
            pages.append(page)
            positions.append(i)
    results: list[dict[str, Any]] = [
        {"model_version": slot.version, "score": 0.0, "result": []} for _ in body.tasks
    ]
    if pages:
        scored = state.score(slot, pages, with_votes=False)
        allowed = np.array([state.task.label_index(c) for c in target.choices])
        for row, i in zip(scored.proba, positions, strict=True):
            best = int(allowed[int(np.argmax(row[allowed]))])
            results[i] = {
                "model_version": slot.version,
                "score": float(row[best]),
                "result": [
                    {
                        "from_name": target.from_name,
                        "to_name": target.to_name,
                        "type": "choices",
                        "value": {"choices": [state.task.label_names[best]]},
                        "score": float(row[best]),
                    }
                ],
            }
    return AsciiJSONResponse({"results": results, "model_version": slot.version})


@router.post("/webhook")
def webhook(body: LSWebhook, request: Request) -> AsciiJSONResponse:
    """Annotation events from Label Studio: acknowledged and counted (gold flows via the importer)."""
    state = service_state(request)
    state.count("webhook")
    state.count(f"webhook:{body.action}")
    project = body.project.get("id") if isinstance(body.project, dict) else body.project
    state.events.append({"kind": "webhook", "action": body.action, "project": project})
    return AsciiJSONResponse({"status": "ok", "action": body.action})


def _page_from_ls(data: dict[str, Any], text_key: str) -> dict[str, Any] | None:
    """A Label Studio task's data as a page; None when it has nothing to read."""
    text = data.get(text_key, data.get("text"))
    html = data.get("html")
    if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
        return None
    caps = {"url": LIMITS.max_url_chars, "text": LIMITS.max_text_chars, "html": LIMITS.max_html_bytes}
    for name, value in (("url", data.get("url")), ("text", text), ("html", html)):
        if isinstance(value, str) and len(value) > caps[name]:
            raise HTTPException(
                status_code=422,
                detail=f"task {name} has {len(value):,} characters, more than {caps[name]:,} "
                "(the same caps as /v1/predict and ingest)",
            )
    return {
        "url": str(data.get("url") or ""),
        "text": text if isinstance(text, str) else None,
        "html": html if isinstance(html, str) else None,
        "title": data.get("title") if isinstance(data.get("title"), str) else None,
    }
