"""``POST /v1/predict``: beambell's own batch API, pages in, labels and the LF votes behind them out."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field, model_validator

from beambell_assets.serving.bodies import LIMITS, MAX_BATCH, AsciiJSONResponse, StrictBody
from beambell_assets.serving.state import service_state, serving_slot

router = APIRouter()


class PageIn(StrictBody):
    """One page, as a landing record holds it."""

    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1, max_length=LIMITS.max_url_chars, description="the page's http(s) url")
    text: str | None = Field(None, max_length=LIMITS.max_text_chars, description="main text")
    html: str | None = Field(None, max_length=LIMITS.max_html_bytes, description="raw HTML")
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


@router.post("/v1/predict")
def predict_batch(body: BatchRequest, request: Request) -> AsciiJSONResponse:
    """Label, probability, top-k classes and the LF votes that fired, per page, in order."""
    state = service_state(request)
    state.count("v1_predict")
    slot = serving_slot(state)
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
