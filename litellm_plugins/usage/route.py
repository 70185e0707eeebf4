"""`GET /litellm_plugins/usage?window=hour|today|total`: usage per client, for operators (master key only).

Serves the report of :mod:`litellm_plugins.usage.report` (default window `today`); with Redis
configured the counters are every worker's and replica's. `litellm-plugins usage` prints it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qs

from litellm_plugins.core.admin_route import admitted, send_json
from litellm_plugins.core.asgi import ASGIApp, Receive, Scope, Send, install_layer
from litellm_plugins.usage.windows import WINDOWS

PATH: Final = "/litellm_plugins/usage"
DEFAULT_WINDOW: Final = "today"
ReportSource = Callable[[str], Awaitable[dict[str, Any]]]


def requested_window(scope: Scope) -> str | None:
    """The `window` query parameter (default `today`), None when it names no window."""
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    values = parse_qs(query).get("window") or [DEFAULT_WINDOW]
    return values[-1] if values[-1] in WINDOWS else None


class UsageRouteMiddleware:
    def __init__(self, app: ASGIApp, source: ReportSource) -> None:
        self.app = app
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("path") != PATH:
            await self.app(scope, receive, send)
            return
        if not await admitted(scope, send, "the usage report"):
            return
        window = requested_window(scope)
        if window is None:
            message = f"window must be one of {', '.join(WINDOWS)} (default {DEFAULT_WINDOW})"
            await send_json(send, 400, {"error": {"message": message, "type": "invalid_request_error"}})
            return
        await send_json(send, 200, await self.source(window))


def install(app: Any, source: ReportSource) -> bool:
    return install_layer(app, UsageRouteMiddleware, source=source)
