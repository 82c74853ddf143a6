"""What is served and how it went: ``GET /v1/model``, ``GET /v1/stats``, ``POST /v1/reload``.

(``GET /health`` is part of the Label Studio protocol, in :mod:`.label_studio`.)
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from beambell_assets.serving.bodies import AsciiJSONResponse
from beambell_assets.serving.state import service_state, serving_slot

router = APIRouter()


@router.get("/v1/model")
def model_info(request: Request) -> AsciiJSONResponse:
    state = service_state(request)
    slot = serving_slot(state)
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


@router.get("/v1/stats")
def stats(request: Request) -> AsciiJSONResponse:
    state = service_state(request)
    calls = state.call_counts()
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


@router.post("/v1/reload")
def reload(request: Request) -> AsciiJSONResponse:
    """Check the registry now (e.g. right after ``beambell promote``) instead of at the next poll."""
    state = service_state(request)
    state.count("reload")
    swapped = state.refresh()
    slot = state.current
    return AsciiJSONResponse(
        {"swapped": swapped, "model_version": slot.version if slot else None, "error": state.last_error}
    )
