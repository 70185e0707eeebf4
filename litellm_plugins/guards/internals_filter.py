"""Proxy tokens do not see the gateway's internals; timeouts answer as timeouts.

LiteLLM tells every caller where a request went and how the gateway is configured: the
`x-litellm-model-api-base` response header carries the upstream URL, and error texts carry the
fallback configuration ("Fallbacks are configured for: ..."), retry counts, the deployment's
timeouts ("Deployment Info: request_timeout: ..."), upstream URLs and file paths. This pure
ASGI middleware removes them from every response to a caller that did not present the master
key (the operator keeps seeing everything), and gives a timeout (408 / 504) the type clients
expect: `timeout_error`, in Anthropic's shape on `/v1/messages` and OpenAI's on the other routes.

Installed by the plugin bundle when it loads inside the proxy (see :func:`install`); it reads
the master key from the running proxy (`general_settings.master_key`).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from litellm_plugins.core.asgi import ASGIApp, Message, Receive, Scope, Send, install_layer, response_header
from litellm_plugins.core.errors import TRACEBACK_MARKER

HIDDEN_HEADERS: Final = frozenset({b"x-litellm-model-api-base"})
CREDENTIAL_HEADERS: Final = (b"x-litellm-api-key", b"authorization", b"x-api-key", b"api-key")
TIMEOUT_STATUSES: Final = frozenset({408, 504})
MAX_ERROR_BODY: Final = 1 << 20
INTERNAL_PARAGRAPHS: Final = re.compile(
    r"^(Deployment Info:|LiteLLM: model group|LiteLLM Retried:|Received Model Group|Available Model Group)",
)
INTERNAL_FRAGMENTS: Final = (
    re.compile(r"\s*-?\s*timeout value=\S+,?\s*time taken=\S+ seconds\.?", re.IGNORECASE),
    re.compile(r"\s*Timeout passed=\S+,?\s*time taken=\S+ seconds\.?", re.IGNORECASE),
    re.compile(r"\s*LiteLLM Retried: \d+ times?,?( LiteLLM Max Retries: \d+)?", re.IGNORECASE),
    re.compile(r"\s*(Received Model Group|Available Model Group Fallbacks)=[^\n]*"),
    re.compile(r"\s*(No )?[Ff]allbacks? (are )?configured for:?[^\n.]*\.?"),
)
URL: Final = re.compile(r"\b(?:https?|wss?)://[^\s'\"<>)\]]+")
FILE_PATH: Final = re.compile(r"(?:/[\w.\-]+)+\.py\b(?:\", line \d+)?")


def scrub_internals(message: str) -> str:
    """`message` without upstream URLs, fallback and timeout configuration, paths or tracebacks."""
    text = TRACEBACK_MARKER.sub("", message)
    paragraphs = [part for part in re.split(r"\n\s*\n", text) if not INTERNAL_PARAGRAPHS.match(part.strip())]
    text = "\n\n".join(paragraphs)
    for fragment in INTERNAL_FRAGMENTS:
        text = fragment.sub("", text)
    text = URL.sub("<upstream>", text)
    text = FILE_PATH.sub("<path>", text)
    return text.strip() or "request failed"


def presented_tokens(headers: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    tokens = []
    for name, value in headers:
        if bytes(name).lower() in CREDENTIAL_HEADERS:
            scheme, _, rest = bytes(value).strip().partition(b" ")
            tokens.append(rest.strip() if rest and scheme.lower() == b"bearer" else bytes(value).strip())
    return tokens


def is_master(headers: Iterable[tuple[bytes, bytes]], master_key: str | None) -> bool:
    if not master_key:
        return False
    expected = master_key.encode("utf-8", "surrogatepass")
    return any(hmac.compare_digest(token, expected) for token in presented_tokens(headers))


def rewrite_error(status: int, body: bytes, hide_internals: bool) -> bytes | None:
    """The new body of an error response, or None to send the original (pure)."""
    try:
        document = json.loads(body) if body else None
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None
    changed = False
    message = error.get("message")
    if hide_internals and isinstance(message, str):
        cleaned = scrub_internals(message)
        if cleaned != message:
            error["message"] = cleaned
            changed = True
    if status in TIMEOUT_STATUSES and error.get("type") != "timeout_error":
        error["type"] = "timeout_error"
        changed = True
    return json.dumps(document).encode() if changed else None


def _proxy_master_key() -> str | None:
    try:
        from litellm.proxy import proxy_server
    except ImportError:
        return None
    key = getattr(proxy_server, "master_key", None)
    return key if isinstance(key, str) else None


class InternalsFilterMiddleware:
    def __init__(self, app: ASGIApp, master_key: Callable[[], str | None] = _proxy_master_key) -> None:
        self.app = app
        self.master_key = master_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        hide = not is_master(scope.get("headers") or (), self.master_key())
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                if hide:
                    kept = [
                        (k, v)
                        for k, v in message.get("headers") or ()
                        if bytes(k).lower() not in HIDDEN_HEADERS
                    ]
                    message = {**message, "headers": kept}
                status = int(message.get("status", 200))
                content_type = response_header(message, b"content-type").strip().lower()
                encoded = response_header(message, b"content-encoding").strip().lower() not in (
                    b"",
                    b"identity",
                )
                if status >= 400 and b"json" in content_type and not encoded:
                    held["start"] = message
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and "start" in held:
                chunks.append(message.get("body", b""))
                more = bool(message.get("more_body"))
                if more and sum(len(c) for c in chunks) < MAX_ERROR_BODY:
                    return
                start = held.pop("start")
                body = b"".join(chunks)
                chunks.clear()
                new_body = None if more else rewrite_error(int(start.get("status", 500)), body, hide)
                if new_body is None:
                    await send(start)
                    await send({"type": "http.response.body", "body": body, "more_body": more})
                    return
                headers = [
                    (k, v) for k, v in start.get("headers") or () if bytes(k).lower() != b"content-length"
                ]
                headers.append((b"content-length", str(len(new_body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": new_body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_wrapper)


def install(app: Any) -> bool:
    return install_layer(app, InternalsFilterMiddleware)
