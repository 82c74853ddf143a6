"""``POST /v1/feedback``: gold labels from any program (or a labeling UI) into beambell.

Each label is stored in ``gold_labels`` (source ``service[:<labeler>]``) and announced on the
stream's feedback stream (:mod:`beambell_assets.feedback.publish`), so a running stream pipeline's
stateful LFs and online model use it within seconds. Labels outside the task's label space, or for
pages that cannot be identified, are answered as rejected with the reason.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field

from beambell_assets.feedback.publish import record_gold
from beambell_assets.serving.bodies import AsciiJSONResponse, StrictBody
from beambell_assets.serving.state import service_state

router = APIRouter()


class GoldLabelIn(StrictBody):
    model_config = ConfigDict(extra="forbid")

    page_id: str | None = Field(default=None, max_length=64)
    url: str | None = Field(default=None, max_length=8192)
    label: str = Field(max_length=512)
    labeler: str | None = Field(default=None, max_length=256)


class FeedbackRequest(StrictBody):
    model_config = ConfigDict(extra="forbid")

    labels: list[GoldLabelIn] = Field(min_length=1, max_length=1000)


@router.post("/v1/feedback")
def feedback(body: FeedbackRequest, request: Request) -> AsciiJSONResponse:
    """Store gold labels and tell the stream; answers what was accepted and what was rejected."""
    state = service_state(request)
    state.count("feedback")
    result = record_gold(
        state.warehouse,
        state.task,
        [item.model_dump() for item in body.labels],
        source="service",
        stream=state.settings.stream,
    )
    return AsciiJSONResponse(result.as_dict())
