"""Request bodies and responses every route of the service shares: strings that must be valid
Unicode (a lone surrogate is a 422, not a 500 later) and JSON that always renders."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, model_validator

from beambell_assets.ingest.contract import Limits

#: Pages per ``/v1/predict`` call and tasks per Label Studio ``/predict`` call.
MAX_BATCH = 1000
#: The landing contract's caps (url, text, html): a page the service takes, ingest would take.
LIMITS = Limits()

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


class StrictBody(BaseModel):
    """Base of every request body: strings must be valid Unicode.

    JSON may escape a lone surrogate (``"\\udc80"``); Python decodes it into a string that cannot
    be encoded as UTF-8, so it would fail later (a 500 at response time, a stored event that breaks
    ``/v1/stats``). It is refused here, with the other validation errors (422).
    """

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        if where := _lone_surrogate_at(data):
            raise ValueError(f"{where}: not valid Unicode (a lone surrogate such as \\udc80)")
        return data


def _lone_surrogate_at(data: Any) -> str:
    """The path of the first key or string holding a lone surrogate, or ``""`` (iterative)."""
    stack: list[tuple[str, Any]] = [("body", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE_RE.search(value):
                return where
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not key.isascii() and _SURROGATE_RE.search(key):
                    return f"{where} (a key)"
                stack.append((f"{where}.{key}", item))
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}.{i}", item) for i, item in enumerate(value))
    return ""


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: whatever a string holds, rendering cannot fail."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
