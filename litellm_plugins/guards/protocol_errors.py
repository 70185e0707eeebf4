"""Errors in the client's protocol: Anthropic error JSON on `/v1/messages`, whatever raised them.

LiteLLM answers errors raised before its `/v1/messages` handler runs (authentication, an
unparsable body, request validation) with OpenAI's shape `{"error": {...}}`. The Anthropic SDK
and Claude Code expect `{"type": "error", "error": {"type": ..., "message": ...}}`. This pure
ASGI middleware rewrites such error bodies on Anthropic routes and leaves everything else
(successful responses, streams) untouched and unbuffered. It also keeps tracebacks out of error
messages on every route.

Installed by the plugin bundle when it loads inside the proxy (see :func:`install`).
"""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any, Final

from litellm_plugins.core.asgi import ASGIApp, Message, Receive, Scope, Send, install_layer, response_header
from litellm_plugins.core.errors import (
    ANTHROPIC_ROUTE,
    ERROR_RESPONSE_HEADERS,
    TRACEBACK_MARKER,
    anthropic_error_body,
    clean_message,
)

logger = logging.getLogger(__name__)

MAX_ERROR_BODY: Final = 1 << 20


def _message_from(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        return message if isinstance(message, str) else json.dumps(message)
    if isinstance(error, str):
        return error
    detail = document.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = [
            f"{'.'.join(str(p) for p in item.get('loc', ()))}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        ]
        return "; ".join(parts) or "invalid request"
    if isinstance(detail, dict) and isinstance(detail.get("error"), str):
        return detail["error"]
    return None


def reshape_error(status: int, body: bytes, anthropic_route: bool) -> bytes | None:
    """The new body for an error response, or None to send the original unchanged."""
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = None
    if anthropic_route:
        if (
            isinstance(document, dict)
            and document.get("type") == "error"
            and isinstance(document.get("error"), dict)
        ):
            message = document["error"].get("message")
            if isinstance(message, str) and TRACEBACK_MARKER.search(message):
                document["error"]["message"] = clean_message(message)
                return json.dumps(document).encode()
            return None
        message = _message_from(document) if document is not None else body.decode("utf-8", "replace")[:2000]
        return json.dumps(anthropic_error_body(status, clean_message(message or "request failed"))).encode()
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        message = document["error"].get("message")
        if isinstance(message, str) and TRACEBACK_MARKER.search(message):
            document["error"]["message"] = clean_message(message)
            return json.dumps(document).encode()
    return None


class ProtocolErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        anthropic_route = bool(ANTHROPIC_ROUTE.match(scope.get("path") or ""))
        held: dict[str, Any] = {}
        chunks: list[bytes] = []
        hints: dict[str, str] = {}
        context_token = ERROR_RESPONSE_HEADERS.set(hints)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message.get("status", 200))
                if status >= 400 and hints:
                    message = _with_headers(message, hints)
                content_type = response_header(message, b"content-type")
                if status >= 400 and (b"json" in content_type or not content_type):
                    held["start"] = message
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and "start" in held:
                chunks.append(message.get("body", b""))
                size = sum(len(c) for c in chunks)
                if message.get("more_body") and size < MAX_ERROR_BODY:
                    return
                await _flush(
                    held.pop("start"), b"".join(chunks), anthropic_route, send, bool(message.get("more_body"))
                )
                chunks.clear()
                return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            ERROR_RESPONSE_HEADERS.reset(context_token)


def _with_headers(message: Message, extra: dict[str, str]) -> Message:
    present = {bytes(key).lower() for key, _ in message.get("headers") or ()}
    added = [(name.encode(), value.encode()) for name, value in extra.items() if name.encode() not in present]
    return {**message, "headers": [*(message.get("headers") or ()), *added]} if added else message


def _decoded(start: Message, body: bytes) -> bytes | None:
    """The body as JSON bytes, or None when its encoding is one we do not rewrite."""
    encoding = response_header(start, b"content-encoding").strip().lower()
    if not encoding or encoding == b"identity":
        return body
    if encoding == b"gzip":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError):
            return None
    return None


async def _flush(start: Message, body: bytes, anthropic_route: bool, send: Send, more: bool) -> None:
    status = int(start.get("status", 500))
    plain = None if more else _decoded(start, body)
    new_body = None if plain is None else reshape_error(status, plain, anthropic_route)
    if new_body is None:
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": more})
        return
    dropped = (b"content-length", b"content-type", b"content-encoding")
    headers = [(k, v) for k, v in start.get("headers") or () if k.lower() not in dropped]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(new_body)).encode())]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": new_body, "more_body": False})


def install(app: Any) -> bool:
    """Wrap the running proxy app once. Returns whether it was installed."""
    installed = install_layer(app, ProtocolErrorMiddleware)
    if installed:
        logger.info("protocol errors: Anthropic-shaped errors on /v1/messages installed")
    return installed
