"""Refuse requests LiteLLM cannot handle before it tries, in the client's protocol.

LiteLLM answers a body that is valid JSON but not an object (`0`, `[]`, `"x"`), or an object
with a field of the wrong type (a `model` that is not a string, ...), with a 500 from deep inside
its request handling, reads bodies of any size at any speed, and reads and parses the body before
it authenticates. This pure ASGI middleware:
1. on every HTTP and websocket request but the health probes of
   :data:`litellm_plugins.core.client_routes.OPEN_ROUTES`, asks the auth decision first (the `gate`,
   :meth:`litellm_plugins.auth.hook.StaticTokenAuth.refusal`), so an unauthenticated client gets its
   401 (403 on a route its token may not use) with `x-should-retry: false` before LiteLLM
   routes the request and before a byte of the body is read; this also closes the routes
   LiteLLM serves with no authentication at all to everyone but the master key;

and on the LLM routes (POST `/v1/messages`, `/v1/messages/count_tokens`,
`/v1/chat/completions`, `/chat/completions`):
2. refuses a body whose `content-length` is larger than `LITELLM_PLUGINS_MAX_BODY_BYTES`
   (default 32 MiB, Anthropic's own limit) with 413 `request_too_large` before it is read;
3. reads the body once (LiteLLM buffers it whole too) within `LITELLM_PLUGINS_BODY_READ_TIMEOUT`
   seconds (default 60): a client that stalls or sends less than its `content-length` gets a
   408 `timeout_error` instead of holding the connection;
4. parses and checks it: a JSON object with the field types of :mod:`litellm_plugins.guards.request_shape`,
   else 400 `invalid_request_error` naming the field;
5. refuses the fields LiteLLM refuses from clients (`api_base`, `user_config`, `langfuse_host`,
   ...: :mod:`litellm_plugins.guards.refused_fields`) with a 400 naming the field, where LiteLLM itself
   would answer a plain-text 500;
and replays the body to LiteLLM. Errors use the shapes of :mod:`litellm_plugins.core.errors`.

    LITELLM_PLUGINS_MAX_BODY_BYTES=33554432     bytes; larger bodies get 413
    LITELLM_PLUGINS_BODY_READ_TIMEOUT=60        seconds for the whole body; 0 turns the bound off

Reading the request line and headers is uvicorn's, before any ASGI layer runs, and uvicorn has no
timeout for it: a client that stalls inside its headers holds the socket until it closes it.
Bound that in front of the proxy (nginx `client_header_timeout 10s;`, Caddy
`servers { timeouts { read_header 10s } }`), and limit what idle sockets can hold with
`litellm --keepalive_timeout 5` (uvicorn's `timeout_keep_alive`: idle time between requests on a
kept-alive connection) and, where `litellm --help` lists it, `--limit_concurrency N`.

The parsed body is handed on in the request scope where LiteLLM caches its own parse
(:data:`LITELLM_PARSED_BODY`), so the body is parsed once per request, not twice. A LiteLLM that
stops reading that key only parses it again: nothing breaks.

Installed by :mod:`litellm_plugins.instances`, which passes the auth decision in (the guard does
not import the auth plugin).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from litellm_plugins.core.asgi import ASGIApp, Message, Receive, Scope, Send, install_layer
from litellm_plugins.core.client_routes import is_client_route, is_open_route
from litellm_plugins.core.errors import ANTHROPIC_ROUTE, anthropic_error_body, openai_error_body
from litellm_plugins.core.route import request_route
from litellm_plugins.guards.refused_fields import refused_field
from litellm_plugins.guards.request_shape import anthropic_messages_problem, chat_completions_problem

GUARDED_ROUTE: Final = re.compile(
    r"^(/anthropic)?/v1/messages(/count_tokens)?/?$|^(/v1|/openai/v1)?/chat/completions/?$"
)
DEFAULT_MAX_BODY_BYTES: Final = 32 * 1024 * 1024
DEFAULT_BODY_READ_TIMEOUT: Final = 60.0
NO_RETRY: Final = (b"x-should-retry", b"false")
# The auth decision on a raw ASGI scope: (status, message) to refuse, None to go on.
Gate = Callable[[Scope], tuple[int, str] | None]
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


def body_read_timeout(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds allowed for reading a whole body, or None (unbounded) when set to 0."""
    environ = os.environ if environ is None else environ
    raw = environ.get("LITELLM_PLUGINS_BODY_READ_TIMEOUT", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_BODY_READ_TIMEOUT
    except ValueError:
        return DEFAULT_BODY_READ_TIMEOUT
    return value if value > 0 else None


# OpenAI-shaped error types by status (LiteLLM's own for auth errors).
def error_response_body(status: int, message: str, anthropic: bool) -> bytes:
    if anthropic:
        return json.dumps(anthropic_error_body(status, message)).encode()
    return json.dumps(openai_error_body(status, message)).encode()


class RequestGuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limit: int | None = None,
        gate: Gate | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.limit = limit or max_body_bytes()
        self.gate = gate
        self.read_timeout = read_timeout if read_timeout is not None else body_read_timeout()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path") or ""
        anthropic = bool(ANTHROPIC_ROUTE.match(path))
        refusal = self._refusal(scope)
        if refusal is not None:  # before routing and before the body: an unknown client costs nothing
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": refusal[1][:120]})
                return
            status, reason = refusal
            await _refuse(send, status, reason, anthropic, extra_headers=[NO_RETRY])
            return
        if kind != "http" or scope.get("method") != "POST" or not GUARDED_ROUTE.match(path):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _refuse(
                send, 413, f"The request body is {declared} bytes; the limit is {self.limit}.", anthropic
            )
            return
        # LiteLLM reads the whole body anyway: read it once here, check its shape, replay it.
        try:
            body = await asyncio.wait_for(self._read_body(receive), self.read_timeout)
        except TimeoutError:
            await _refuse(
                send,
                408,
                f"The request body was not received within {self.read_timeout:g} seconds "
                "(LITELLM_PLUGINS_BODY_READ_TIMEOUT); send the whole body promptly, with a "
                "content-length that matches it.",
                anthropic,
                extra_headers=[(b"connection", b"close")],
            )
            return
        if body is None:
            return  # the client went away
        if len(body) > self.limit:
            await _refuse(send, 413, f"The request body exceeds the limit of {self.limit} bytes.", anthropic)
            return
        document, problem = parse_body(path, body)
        if problem is None and document is not None:
            problem = refused_field(document, request_route(scope))
        if problem is not None or document is None:
            await _refuse(send, 400, problem or NOT_AN_OBJECT, anthropic)
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

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        if self.gate is None:
            return None
        route = request_route(scope)
        if is_open_route(route):
            return None
        if scope.get("method") == "OPTIONS" and is_client_route(route):
            return None  # a CORS preflight carries no credential; the request that follows does
        return self.gate(scope)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, None if the client went away; stops early once past the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.limit or not message.get("more_body"):
                return b"".join(chunks)


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


async def _refuse(
    send: Send,
    status: int,
    message: str,
    anthropic: bool,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = error_response_body(status, message, anthropic)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += extra_headers or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def install(app: Any, gate: Gate | None = None) -> bool:
    return install_layer(app, RequestGuardMiddleware, gate=gate)
