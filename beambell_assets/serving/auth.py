"""The prediction service's token: where it comes from and the check every request passes first.

The check is ASGI middleware rather than a route dependency so that it runs before routing and
body parsing: ``/docs``, ``/openapi.json`` and unknown paths need the token too, and an anonymous
request gets 401 whatever its body holds (never 422: its body is not even read).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from beambell_assets.serving.bodies import AsciiJSONResponse
from beambell_assets.settings import API_TOKEN_ENV, api_token

TOKEN_ENV = API_TOKEN_ENV
#: Paths served without the token (probes, load balancers). Everything else, /docs and
#: /openapi.json included, needs it.
OPEN_PATHS = frozenset({"/health"})


def token_from_env(token: str | None) -> str:
    """``token``, else ``$BEAMBELL_API_TOKEN``, stripped; refuses to run the service without one."""
    token = token if token is not None else api_token()
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
