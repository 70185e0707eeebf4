"""The ASGI layer that admits a client's model request under its limits, before the body reaches LiteLLM.

On POST `/v1/messages` and chat completions (`/v1/chat/completions`, `/chat/completions`), for a
client the auth plugin let in (`identify`: the proxy token's name; None for the master key), it
asks :meth:`Limiter.admit`: tokens per day, concurrency, requests per minute. A refusal is answered
here, in the client's protocol (Anthropic error JSON on `/v1/messages`, OpenAI error JSON on chat
completions), with `retry-after`, so no provider is called and LiteLLM never parses the body. An
admitted request holds its concurrency slot while LiteLLM answers it: the slot is renewed every
`RENEW_EVERY` seconds and freed when the response is complete, when it fails, and when the client
disconnects (the layer's `finally`), and expires by itself if this process dies.

Installed by :mod:`litellm_plugins.startup` inside the request guard (which authenticates first and
refuses malformed bodies, so neither counts) when `litellm_plugins.clients` is configured.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any, Final

from litellm_plugins.core.asgi import ASGIApp, Receive, Scope, Send, install_layer
from litellm_plugins.core.errors import ANTHROPIC_ROUTE, anthropic_error_body
from litellm_plugins.limits.limiter import Admission, Limiter, Refusal
from litellm_plugins.limits.store import LEASE_SECONDS

LIMITED_ROUTE: Final = re.compile(r"^(/anthropic)?/v1/messages/?$|^(/v1|/openai/v1)?/chat/completions/?$")
RENEW_EVERY: Final = LEASE_SECONDS / 3
Identify = Callable[[Scope], str | None]


def refusal_body(refusal: Refusal, anthropic: bool) -> dict[str, Any]:
    """The error document, in Anthropic's or OpenAI's shape."""
    if anthropic:
        return anthropic_error_body(refusal.status, refusal.message)
    kind = "rate_limit_error" if refusal.status == 429 else "permission_error"
    return {"error": {"message": refusal.message, "type": kind, "param": None, "code": str(refusal.status)}}


def refusal_headers(refusal: Refusal) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", b"application/json")]
    if refusal.retry_after is not None:
        headers.append((b"retry-after", str(refusal.retry_after).encode()))
    if not refusal.should_retry:
        headers.append((b"x-should-retry", b"false"))
    return headers


class ClientLimitsMiddleware:
    def __init__(
        self, app: ASGIApp, identify: Identify, limiter: Limiter, renew_every: float = RENEW_EVERY
    ) -> None:
        self.app = app
        self.identify = identify
        self.limiter = limiter
        self.renew_every = renew_every

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") or ""
        if scope.get("type") != "http" or scope.get("method") != "POST" or not LIMITED_ROUTE.match(path):
            await self.app(scope, receive, send)
            return
        client = self.identify(scope)
        decision = await self.limiter.admit(client) if client is not None else None
        if isinstance(decision, Refusal):
            body = json.dumps(refusal_body(decision, bool(ANTHROPIC_ROUTE.match(path)))).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": decision.status,
                    "headers": refusal_headers(decision),
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if decision is None or decision.slot is None:
            await self.app(scope, receive, send)
            return
        renewal = asyncio.ensure_future(self._renew(decision))
        try:
            await self.app(scope, receive, send)
        finally:
            renewal.cancel()
            # Shielded: a cancelled request (the client went away) still gives its slot back.
            await asyncio.shield(self.limiter.release(decision))

    async def _renew(self, admission: Admission) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            await self.limiter.renew(admission)  # the store logs a Redis failure and carries on


def install(app: Any, identify: Identify, limiter: Limiter) -> bool:
    return install_layer(app, ClientLimitsMiddleware, identify=identify, limiter=limiter)
