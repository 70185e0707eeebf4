"""Refuse request bodies LiteLLM cannot handle before it tries, in the client's protocol.

LiteLLM answers a body that is valid JSON but not an object (`0`, `[]`, `"x"`), or an object
with a field of the wrong type (a `model` that is not a string, ...), with a 500 from deep inside
its request handling, and reads bodies of any size. This pure ASGI middleware reads the body of
the LLM routes once (LiteLLM buffers it whole too), parses and checks it, and replays it:
- it must be a JSON object with the field types of :mod:`litellm_plugins.guards.request_shape`,
  else 400 `invalid_request_error` naming the field;
- a body whose `content-length` is larger than `LITELLM_PLUGINS_MAX_BODY_BYTES` (default
  32 MiB, Anthropic's own limit) is refused with 413 `request_too_large` before it is read.
Errors use the shapes of :mod:`litellm_plugins.guards.protocol_errors`.

The parsed body is handed on in the request scope where LiteLLM caches its own parse
(:data:`LITELLM_PARSED_BODY`), so the body is parsed once per request, not twice. A LiteLLM that
stops reading that key only parses it again: nothing breaks.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

from litellm_plugins.core.asgi import ASGIApp, Message, Receive, Scope, Send, install_layer
from litellm_plugins.core.errors import ANTHROPIC_ROUTE, anthropic_error_body, openai_error_body
from litellm_plugins.guards.request_shape import anthropic_messages_problem, chat_completions_problem

GUARDED_ROUTE: Final = re.compile(
    r"^(/anthropic)?/v1/messages(/count_tokens)?/?$|^(/v1|/openai/v1)?/chat/completions/?$"
)
DEFAULT_MAX_BODY_BYTES: Final = 32 * 1024 * 1024
BLANK: Final = b" \t\r\n"
# LiteLLM (proxy/common_utils/http_parsing_utils.py, 1.106) caches the parsed JSON body in
# scope["parsed_body"] as (keys, body) and reads it back before parsing the body itself.
LITELLM_PARSED_BODY: Final = "parsed_body"
NOT_AN_OBJECT: Final = (
    'The request body must be a JSON object (for example {"model": ..., "messages": [...]}).'
)


def max_body_bytes(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    try:
        return max(1024, int(environ.get("LITELLM_PLUGINS_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)))
    except ValueError:
        return DEFAULT_MAX_BODY_BYTES


def error_response_body(status: int, message: str, anthropic: bool) -> bytes:
    if anthropic:
        return json.dumps(anthropic_error_body(status, message)).encode()
    return json.dumps(openai_error_body(status, message)).encode()


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit or max_body_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") or ""
        if scope.get("type") != "http" or scope.get("method") != "POST" or not GUARDED_ROUTE.match(path):
            await self.app(scope, receive, send)
            return
        anthropic = bool(ANTHROPIC_ROUTE.match(path))
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _refuse(
                send, 413, f"The request body is {declared} bytes; the limit is {self.limit}.", anthropic
            )
            return
        # LiteLLM reads the whole body anyway: read it once here, check its shape, replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _refuse(
                    send, 413, f"The request body exceeds the limit of {self.limit} bytes.", anthropic
                )
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        document, problem = parse_body(path, body)
        if problem is not None:
            await _refuse(send, 400, problem, anthropic)
            return
        if LITELLM_PARSED_BODY not in scope:
            scope[LITELLM_PARSED_BODY] = (tuple(document), document)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def parse_body(path: str, body: bytes) -> tuple[dict[str, Any], None] | tuple[None, str]:
    """(the parsed body, None), or (None, why this body cannot be served) (pure)."""
    if not body.lstrip(BLANK).startswith(b"{"):
        return None, NOT_AN_OBJECT
    try:
        # LiteLLM's own parser (`litellm[proxy]` requires it): the document handed on is exactly
        # what LiteLLM would have parsed.
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return None, f"The request body is not valid JSON: {str(error)[:200]}"
    if "count_tokens" in path:
        problem = anthropic_messages_problem(document, count_tokens=True)
    elif ANTHROPIC_ROUTE.match(path):
        problem = anthropic_messages_problem(document)
    else:
        problem = chat_completions_problem(document)
    return (None, problem) if problem is not None else (document, None)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if bytes(name).lower() == b"content-length":
            try:
                return int(bytes(value))
            except ValueError:
                return None
    return None


async def _refuse(send: Send, status: int, message: str, anthropic: bool) -> None:
    body = error_response_body(status, message, anthropic)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def install(app: Any) -> bool:
    return install_layer(app, RequestGuardMiddleware)
