"""The prediction service: the registry's champion over HTTP, for Label Studio and for programs.

Endpoints (all but ``GET /health`` need the token, see below):

* Label Studio ML-backend protocol — ``GET /health``, ``POST /setup``, ``POST /predict`` (answers
  ``{"results": [{"model_version", "score", "result": [<choices>]}, ...]}``, one per task, in
  order), ``POST /webhook`` (annotation events: acknowledged and counted; gold labels reach the
  warehouse through beambell's own Label Studio import, not through this service).
* ``POST /v1/predict`` — a batch of pages (``url`` plus ``text`` and/or ``html``, optional
  ``title``/``id``) → label, probability, top-k classes, and the LF votes that fired on each page.
* ``POST /v1/feedback`` — gold labels (``page_id`` or ``url``, ``label``, ``labeler``): stored and
  sent to the stream (:mod:`beambell_assets.serving.feedback_routes`).
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
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ConfigDict, Field, model_validator
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from beambell_assets.ingest.contract import Limits
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.task import Task, load_task
from beambell_assets.serving.bodies import AsciiJSONResponse, StrictBody
from beambell_assets.serving.features_online import PageTooComplex, online_features
from beambell_assets.serving.feedback_routes import add_feedback_routes
from beambell_assets.serving.model_store import load_model
from beambell_assets.serving.registry import ModelRecord, ModelRegistry
from beambell_assets.settings import Settings, load_settings
from beambell_assets.storage.warehouse import Warehouse

log = logging.getLogger(__name__)

TOKEN_ENV = "BEAMBELL_API_TOKEN"
#: Pages per ``/v1/predict`` call and tasks per Label Studio ``/predict`` call.
MAX_BATCH = 1000
_LIMITS = Limits()
#: Paths served without the token (probes, load balancers). Everything else, /docs and
#: /openapi.json included, needs it.
OPEN_PATHS = frozenset({"/health"})
_WARMUP_PAGE = {
    "url": "https://www.example.com/news/2026/warm-up",
    "title": "Warm-up page",
    "text": "A short page the service scores once after loading a model, before serving it.",
}

# --------------------------------------------------------------------------- request bodies


class PageIn(StrictBody):
    """One page, as a landing record holds it."""

    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1, max_length=_LIMITS.max_url_chars, description="the page's http(s) url")
    text: str | None = Field(None, max_length=_LIMITS.max_text_chars, description="main text")
    html: str | None = Field(None, max_length=_LIMITS.max_html_bytes, description="raw HTML")
    title: str | None = Field(None, max_length=10_000)
    id: str | int | None = Field(None, description="your own id, echoed back")

    @model_validator(mode="after")
    def _needs_content(self) -> PageIn:
        if not (self.text and self.text.strip()) and not (self.html and self.html.strip()):
            raise ValueError("a page needs non-empty `text` or `html`")
        return self


class BatchRequest(StrictBody):
    model_config = ConfigDict(extra="forbid")

    pages: list[PageIn] = Field(min_length=1, max_length=MAX_BATCH)
    include_votes: bool = Field(True, description="list the LFs that voted on each page")
    top_k: int = Field(3, ge=1, le=64, description="classes with their probabilities per page")


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


# --------------------------------------------------------------------------- label config


@dataclass(frozen=True)
class LabelTarget:
    """Where a prediction goes in a Label Studio project: its ``Choices`` tag and text variable."""

    from_name: str = "label"
    to_name: str = "text"
    text_key: str = "text"
    choices: tuple[str, ...] = ()


class LabelConfigError(ValueError):
    """The project's label config cannot take this task's predictions."""


@lru_cache(maxsize=64)
def parse_label_config(config: str, task_labels: tuple[str, ...]) -> LabelTarget:
    """The first ``<Choices>`` tag, the object tag it labels and the task labels it offers."""
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise LabelConfigError(f"label config is not valid XML: {exc}") from exc
    choices_tag = next(root.iter("Choices"), None)
    if choices_tag is None:
        raise LabelConfigError("label config has no <Choices> tag: beambell predicts one class per page")
    from_name = choices_tag.get("name") or ""
    to_name = (choices_tag.get("toName") or "").split(",")[0].strip()
    if not from_name or not to_name:
        raise LabelConfigError("the <Choices> tag needs `name` and `toName`")
    text_key = "text"
    for tag in root.iter():
        if tag.get("name") == to_name and (tag.get("value") or "").startswith("$"):
            text_key = tag.get("value", "$text")[1:]
            break
    offered = tuple(c.get("value") or c.get("alias") or "" for c in choices_tag.iter("Choice"))
    usable = tuple(c for c in offered if c in task_labels)
    if not usable:
        raise LabelConfigError(
            f"none of the label config's choices {list(offered)[:8]} is a label of this task "
            f"({list(task_labels)[:8]}…)"
        )
    return LabelTarget(from_name, to_name, text_key, usable)


# --------------------------------------------------------------------------- the served model


@dataclass(frozen=True)
class ModelSlot:
    """One loaded champion; replaced as a whole, never mutated."""

    record: ModelRecord
    model: Any
    loaded_at: datetime

    @property
    def version(self) -> str:
        return self.record.version


@dataclass
class Scored:
    """Predictions for a list of pages, from one model."""

    version: str
    proba: np.ndarray  # (n, k)
    L: np.ndarray | None  # (n, m) LF votes, or None when not asked for
    features: Any


@dataclass
class ServiceState:
    """The task, the champion being served and what the service has done (for /v1/stats)."""

    settings: Settings
    task: Task
    reload_interval_s: float
    current: ModelSlot | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    calls: Counter[str] = field(default_factory=Counter)
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100))
    swaps: list[dict[str, Any]] = field(default_factory=list)
    last_check_at: datetime | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        self.warehouse = Warehouse(self.settings.warehouse_url)
        self.registry = ModelRegistry(self.warehouse, self.task.name)
        self.applier = FastLFApplier(list(self.task.lfs), n_jobs=1)
        # Snorkel preprocessors memoise per applier call and are reset between chunks: such LFs
        # must not run in two requests at once. Plain LFs are stateless and run concurrently.
        stateful = any(getattr(lf, "_pre", None) for lf in self.task.lfs)
        self._lf_lock: Any = threading.Lock() if stateful else contextlib.nullcontext()
        self._reload_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._failed: tuple[str, str] | None = None  # (version, sha) that failed to load

    # -- bookkeeping -------------------------------------------------------------------------
    def count(self, name: str) -> None:
        with self._stats_lock:
            self.calls[name] += 1

    # -- scoring ---------------------------------------------------------------------------
    def score(self, slot: ModelSlot, pages: Sequence[dict[str, Any]], with_votes: bool) -> Scored:
        """Features, LF votes and class probabilities of ``pages`` with ``slot``'s model."""
        features = online_features(pages, self.task)
        L = None
        if with_votes:
            with self._lf_lock:
                L, _ = self.applier.apply(features)
        texts = features[self.task.text_field].tolist()
        proba = np.asarray(slot.model.predict_proba(texts), dtype=float)
        return Scored(slot.version, proba, L, features)

    # -- hot swap --------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Serve the registry's champion; True when a new model was swapped in.

        Called from the poll loop and ``POST /v1/reload`` (in worker threads); one at a time.
        """
        with self._reload_lock:
            self.last_check_at = datetime.now(UTC)
            record = self.registry.champion()
            current = self.current
            if record is None:
                if current is None:
                    self.last_error = f"no champion for task {self.task.name!r} in the registry yet"
                return False  # a champion never disappears except by promotion; keep serving
            if current is not None and (record.version, record.artifact_sha256) == (
                current.version,
                current.record.artifact_sha256,
            ):
                return False
            if self._failed == (record.version, record.artifact_sha256):
                return False
            t0 = time.perf_counter()
            try:
                slot = self._load(record)
            except Exception as exc:
                self._failed = (record.version, record.artifact_sha256)
                self.last_error = f"could not load champion {record.version}: {type(exc).__name__}: {exc}"
                log.error("%s; still serving %s", self.last_error, current.version if current else "nothing")
                return False
            self.current = slot  # the swap: one reference assignment; requests hold their own
            self.last_error = None
            self.swaps.append(
                {
                    "version": slot.version,
                    "previous": current.version if current else None,
                    "at": slot.loaded_at.isoformat(),
                    "load_seconds": round(time.perf_counter() - t0, 3),
                }
            )
            log.info("serving model %s (was %s)", slot.version, current.version if current else None)
            return True

    def _load(self, record: ModelRecord) -> ModelSlot:
        model = load_model(record.artifact_path, expected_sha256=record.artifact_sha256)
        k = getattr(model, "n_classes_", None)
        if k is not None and int(k) != self.task.cardinality:
            raise ValueError(f"model has {k} classes, task {self.task.name!r} has {self.task.cardinality}")
        slot = ModelSlot(record, model, datetime.now(UTC))
        scored = self.score(slot, [_WARMUP_PAGE], with_votes=True)  # warm caches off the request path
        if scored.proba.shape != (1, self.task.cardinality):
            raise ValueError(f"model returned probabilities of shape {scored.proba.shape}")
        return slot

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval_s)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as exc:  # registry unreachable: keep serving, try again next time
                self.last_error = f"registry check failed: {type(exc).__name__}: {exc}"
                log.warning(self.last_error)


# --------------------------------------------------------------------------- the app


def _token_from_env(token: str | None) -> str:
    token = token if token is not None else os.environ.get(TOKEN_ENV, "")
    if not token or not token.strip():
        raise RuntimeError(
            f"the prediction service needs a token: set {TOKEN_ENV} (e.g. `openssl rand -hex 24`) "
            "or pass token=..."
        )
    return token.strip()


def _credential(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer":
        return value
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


class TokenAuthMiddleware:
    """The token check, before routing and body parsing: every path but ``OPEN_PATHS`` needs it.

    As middleware it covers ``/docs``, ``/openapi.json`` and unknown paths too, and a request with
    no token gets 401 whatever its body holds (a body is never parsed for an anonymous caller).
    """

    def __init__(self, app: ASGIApp, secret: bytes, on_reject: Callable[[], None]) -> None:
        self.app, self.secret, self.on_reject = app, secret, on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = _credential(Headers(scope=scope).get("authorization", ""))
        if given is None or not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.secret):
            self.on_reject()
            response = AsciiJSONResponse(
                status_code=401,
                content={
                    "detail": "missing or wrong token: send `Authorization: Bearer <token>` "
                    "(or basic auth with the token as password)"
                },
                headers={"WWW-Authenticate": 'Bearer realm="beambell", Basic realm="beambell"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


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


def create_app(
    settings: Settings | None = None, *, token: str | None = None, reload_interval_s: float = 2.0
) -> FastAPI:
    """The FastAPI app serving ``settings``' champion (see the module docstring)."""
    settings = settings or load_settings()
    secret = _token_from_env(token).encode("utf-8")
    if reload_interval_s <= 0:
        raise ValueError("reload_interval_s must be positive")
    state = ServiceState(settings, load_task(settings.task_spec), float(reload_interval_s))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
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

    app = FastAPI(
        title="beambell prediction service",
        description="The registry's champion, as a Label Studio ML backend and a batch JSON API.",
        lifespan=lifespan,
    )
    app.state.beambell = state

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> AsciiJSONResponse:
        return _validation_response(exc)

    @app.exception_handler(PageTooComplex)
    async def _too_complex(_request: Request, exc: PageTooComplex) -> AsciiJSONResponse:
        state.count("html_too_complex")
        return AsciiJSONResponse(
            status_code=422, content={"error": "html_too_complex", "message": str(exc), "detail": []}
        )

    app.add_middleware(TokenAuthMiddleware, secret=secret, on_reject=lambda: state.count("unauthorized"))

    def serving() -> ModelSlot:
        slot = state.current  # taken once: this request finishes on this model
        if slot is None:
            raise HTTPException(status_code=503, detail=state.last_error or "no model loaded yet")
        return slot

    guard: list[Any] = []  # the token is checked by TokenAuthMiddleware, before any route or body

    # ------------------------------------------------------------------ Label Studio protocol
    @app.get("/health")
    def health() -> AsciiJSONResponse:
        """Liveness and what is served; open (no token) so probes and load balancers can call it."""
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

    def label_target(config: str | None) -> LabelTarget:
        """The project's label config checked against the task's labels (422 when they do not fit)."""
        if not config:
            return LabelTarget(choices=state.task.label_names)
        try:
            return parse_label_config(config, state.task.label_names)
        except LabelConfigError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    @app.post("/setup")
    def setup(body: LSSetupRequest) -> AsciiJSONResponse:
        """Label Studio connects a project: check its label config fits, answer the model version."""
        state.count("setup")
        slot = serving()
        if body.schema_:
            target = label_target(body.schema_)
            state.events.append({"kind": "setup", "project": body.project, "choices": list(target.choices)})
        return AsciiJSONResponse({"model_version": slot.version})

    @app.post("/predict")
    def ls_predict(body: LSPredictRequest) -> AsciiJSONResponse:
        """One prediction per task, in order, as Label Studio's ``choices`` result."""
        state.count("predict")
        slot = serving()
        target = label_target(body.label_config)
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

    @app.post("/webhook")
    def webhook(body: LSWebhook) -> AsciiJSONResponse:
        """Annotation events from Label Studio: acknowledged and counted (gold flows via the importer)."""
        state.count("webhook")
        state.count(f"webhook:{body.action}")
        project = body.project.get("id") if isinstance(body.project, dict) else body.project
        state.events.append({"kind": "webhook", "action": body.action, "project": project})
        return AsciiJSONResponse({"status": "ok", "action": body.action})

    # ------------------------------------------------------------------ beambell's own API
    @app.post("/v1/predict")
    def predict_batch(body: BatchRequest) -> AsciiJSONResponse:
        """Label, probability, top-k classes and the LF votes that fired, per page, in order."""
        state.count("v1_predict")
        slot = serving()
        pages = [p.model_dump() for p in body.pages]
        scored = state.score(slot, pages, with_votes=body.include_votes)
        names = state.task.label_names
        lf_names = state.task.lf_names
        k = min(body.top_k, len(names))
        out = []
        for i, row in enumerate(scored.proba):
            order = np.argsort(-row, kind="stable")[:k]
            item: dict[str, Any] = {
                "id": body.pages[i].id,
                "url": str(scored.features["url"].iat[i]),
                "page_id": str(scored.features["page_id"].iat[i]),
                "label": names[int(order[0])],
                "probability": float(row[order[0]]),
                "top": [{"label": names[int(c)], "probability": float(row[c])} for c in order],
            }
            if scored.L is not None:
                fired = np.flatnonzero(scored.L[i] >= 0)
                item["votes"] = [{"lf": lf_names[j], "label": names[int(scored.L[i, j])]} for j in fired]
                item["n_votes"] = len(fired)
            out.append(item)
        return AsciiJSONResponse(
            {
                "model_version": slot.version,
                "task": state.task.name,
                "lf_fingerprint": state.task.fingerprint(),
                "predictions": out,
            }
        )

    @app.get("/v1/model")
    def model_info() -> AsciiJSONResponse:
        slot = serving()
        rec = slot.record
        return AsciiJSONResponse(
            {
                "model_version": rec.version,
                "task": state.task.name,
                "labels": list(state.task.label_names),
                "loaded_at": slot.loaded_at.isoformat(),
                "n_train": rec.n_train,
                "training_window": rec.training_window,
                "lf_fingerprint": rec.lf_fingerprint,
                "task_lf_fingerprint": state.task.fingerprint(),
                "metrics": {k: v for k, v in rec.metrics.items() if isinstance(v, int | float | str | None)},
            }
        )

    @app.get("/v1/stats")
    def stats() -> AsciiJSONResponse:
        with state._stats_lock:
            calls = dict(state.calls)
        slot = state.current
        return AsciiJSONResponse(
            {
                "model_version": slot.version if slot else None,
                "started_at": state.started_at.isoformat(),
                "reload_interval_s": state.reload_interval_s,
                "last_check_at": state.last_check_at.isoformat() if state.last_check_at else None,
                "last_error": state.last_error,
                "calls": calls,
                "swaps": state.swaps[-20:],
                "events": list(state.events)[-20:],
            }
        )

    @app.post("/v1/reload")
    def reload() -> AsciiJSONResponse:
        """Check the registry now (e.g. right after ``beambell promote``) instead of at the next poll."""
        state.count("reload")
        swapped = state.refresh()
        slot = state.current
        return AsciiJSONResponse(
            {"swapped": swapped, "model_version": slot.version if slot else None, "error": state.last_error}
        )

    add_feedback_routes(app, state, guard)
    return app


def _page_from_ls(data: dict[str, Any], text_key: str) -> dict[str, Any] | None:
    """A Label Studio task's data as a page; None when it has nothing to read."""
    text = data.get(text_key, data.get("text"))
    html = data.get("html")
    if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
        return None
    caps = {"url": _LIMITS.max_url_chars, "text": _LIMITS.max_text_chars, "html": _LIMITS.max_html_bytes}
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
