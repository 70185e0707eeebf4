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

from collections.abc import Awaitable, Callable
from typing import Any, Final

from litellm_plugins.core.admin_route import admitted, send_json
from litellm_plugins.core.asgi import ASGIApp, Receive, Scope, Send, install_layer

PATH: Final = "/litellm_plugins/pool"
StatusSource = Callable[[], Awaitable[dict[str, Any]]]


class StatusRouteMiddleware:
    def __init__(self, app: ASGIApp, source: StatusSource) -> None:
        self.app = app
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("path") != PATH:
            await self.app(scope, receive, send)
            return
        if await admitted(scope, send, "the pool status"):
            await send_json(send, 200, await self.source())


def install(app: Any, source: StatusSource) -> bool:
    return install_layer(app, StatusRouteMiddleware, source=source)
