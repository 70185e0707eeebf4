"""`GET /litellm_plugins/pool`: the rotator's pool status, for operators (master key only).

Answers per token fingerprint whether it is healthy or cooling (until when and why) and its
request, success and 429 counts, as seen by the worker that answers; with Redis configured the
cooldowns are the shared ones. Each row also carries the token's subscription windows as
Anthropic last reported them (epoch seconds; `litellm-plugins pool` shows local time):

    "unified_status": "allowed_warning", "representative_claim": "five_hour",
    "unified_reset": 1764601200.0, "utilization": 0.86, "warning": true,
    "windows": {"5h": {"utilization": 0.86, "status": "allowed_warning", "reset": 1764601200.0},
                "7d": {"utilization": 0.4, "status": "allowed", "reset": 1765000000.0}},
    "family_cooling": {"opus": 1764990000.0}, "limits_seen_at": 1764590000.0

Token values never appear. `litellm-plugins pool` prints it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from litellm_plugins.core.asgi import ASGIApp, Receive, Scope, Send, install_layer
from litellm_plugins.core.proxy import running_master_key

PATH: Final = "/litellm_plugins/pool"
StatusSource = Callable[[], Awaitable[dict[str, Any]]]


def _presented_key(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        lowered = bytes(name).lower()
        text = bytes(value).decode("latin-1").strip()
        if lowered == b"authorization" and text.lower().startswith("bearer "):
            return text[7:].strip()
        if lowered in (b"x-litellm-api-key", b"x-api-key"):
            return text
    return ""


class StatusRouteMiddleware:
    def __init__(self, app: ASGIApp, source: StatusSource) -> None:
        self.app = app
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("path") != PATH:
            await self.app(scope, receive, send)
            return
        master = running_master_key() or ""
        presented = _presented_key(scope)
        if not master or not presented or not hmac.compare_digest(presented.encode(), master.encode()):
            await _json(
                send,
                401,
                {
                    "error": {
                        "message": "the pool status needs the master key (LITELLM_MASTER_KEY)",
                        "type": "auth_error",
                    }
                },
            )
            return
        if scope.get("method") != "GET":
            await _json(send, 405, {"error": {"message": "use GET", "type": "invalid_request_error"}})
            return
        await _json(send, 200, await self.source())


async def _json(send: Send, status: int, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: Any, source: StatusSource) -> bool:
    return install_layer(app, StatusRouteMiddleware, source=source)
