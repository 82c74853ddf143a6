"""The prediction service: the registry's champion over HTTP, for Label Studio and for programs.

Endpoints (all but ``GET /health`` need the token, see below):

* Label Studio ML-backend protocol — ``GET /health``, ``POST /setup``, ``POST /predict`` (answers
  ``{"results": [{"model_version", "score", "result": [<choices>]}, ...]}``, one per task, in
  order), ``POST /webhook`` (annotation events: acknowledged and counted; gold labels reach the
  warehouse through beambell's own Label Studio import, not through this service).
* ``POST /v1/predict`` — a batch of pages (``url`` plus ``text`` and/or ``html``, optional
  ``title``/``id``) → label, probability, top-k classes, and the LF votes that fired on each page.
* ``POST /v1/feedback`` — gold labels (``page_id`` or ``url``, ``label``, ``labeler``): stored and
  sent to the stream (:mod:`beambell_assets.serving.routes.feedback`).
* ``GET /v1/model`` (what is being served), ``GET /v1/stats`` (calls per endpoint, reloads),
  ``POST /v1/reload`` (check the registry now instead of at the next poll).

The token (``BEAMBELL_API_TOKEN``, or ``create_app(token=...)``), checked by a middleware before
any route or body parsing (so ``/docs`` and ``/openapi.json`` need it too, and an anonymous
request gets 401, never 422), is accepted as
``Authorization: Bearer <token>`` or as the password of HTTP basic auth (any user name), because
that is what a Label Studio project can send to its ML backend (connection settings:
authentication "basic auth", password = the token). Comparisons are constant-time.

Hot swap: a background task asks the registry for the champion every ``reload_interval_s``
(one indexed ``SELECT``). When the version changes, the new model is loaded (skops, allow-listed,
SHA-256 checked), checked against the task's label space and warmed up on a page *off* the request
path, then swapped in with one reference assignment. A request takes the reference once when it
starts, so it finishes on the model it started with, and no request waits for a load. A model
that fails to load is not retried until the registry changes; the old one keeps serving.

Where things are: this module wires the app (lifespan, error bodies, middleware, routers);
:mod:`.auth` is the token, :mod:`.state` the served model and hot swap, :mod:`.label_config` the
Label Studio config check, and :mod:`.routes` the endpoints (``label_studio``, ``predict``,
``admin``, ``feedback``). ``LabelConfigError`` and ``parse_label_config`` stay importable here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from beambell_assets.labeling.task import load_task
from beambell_assets.serving.auth import TokenAuthMiddleware, token_from_env
from beambell_assets.serving.bodies import AsciiJSONResponse
from beambell_assets.serving.features_online import PageTooComplex
from beambell_assets.serving.label_config import LabelConfigError, parse_label_config
from beambell_assets.serving.routes import admin, feedback, label_studio, predict
from beambell_assets.serving.state import ServiceState, service_state
from beambell_assets.settings import Settings, load_settings

__all__ = ["LabelConfigError", "create_app", "parse_label_config"]

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, token: str | None = None, reload_interval_s: float = 2.0
) -> FastAPI:
    """The FastAPI app serving ``settings``' champion (see the module docstring)."""
    settings = settings or load_settings()
    secret = token_from_env(token).encode("utf-8")
    if reload_interval_s <= 0:
        raise ValueError("reload_interval_s must be positive")
    state = ServiceState(settings, load_task(settings.task_spec), float(reload_interval_s))
    app = FastAPI(
        title="beambell prediction service",
        description="The registry's champion, as a Label Studio ML backend and a batch JSON API.",
        lifespan=_lifespan,
    )
    app.state.beambell = state
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(PageTooComplex, _too_complex)  # type: ignore[arg-type]
    app.add_middleware(TokenAuthMiddleware, secret=secret, on_reject=lambda: state.count("unauthorized"))
    # In this order: it is the order of /openapi.json's paths (Label Studio's first, as before).
    for routes in (label_studio, predict, admin, feedback):
        app.include_router(routes.router)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Migrate, load the champion, poll the registry while serving; dispose of the warehouse after."""
    state: ServiceState = app.state.beambell
    try:
        # Idempotent, as `beambell promote` does: a fresh warehouse gets its (empty) registry.
        await asyncio.to_thread(state.warehouse.migrate)
    except Exception as exc:  # e.g. a read-only database user: reading may still work
        log.warning("warehouse migration skipped: %s: %s", type(exc).__name__, exc)
    try:
        await asyncio.to_thread(state.refresh)
    except Exception as exc:  # start anyway: /health says why, the poll retries
        state.last_error = f"registry check failed: {type(exc).__name__}: {exc}"
        log.warning(state.last_error)
    poller = asyncio.create_task(state.poll())
    try:
        yield
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        state.warehouse.dispose()


async def _invalid(_request: Request, exc: RequestValidationError) -> AsciiJSONResponse:
    return _validation_response(exc)


async def _too_complex(request: Request, exc: PageTooComplex) -> AsciiJSONResponse:
    service_state(request).count("html_too_complex")
    return AsciiJSONResponse(
        status_code=422, content={"error": "html_too_complex", "message": str(exc), "detail": []}
    )


def _validation_response(exc: RequestValidationError) -> AsciiJSONResponse:
    errors = [
        {
            "loc": ".".join(str(p) for p in err.get("loc", ())),
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return AsciiJSONResponse(
        status_code=422,
        content={"error": "invalid request body", "message": summary + more, "detail": errors},
    )
