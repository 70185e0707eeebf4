"""Errors in the client's protocol: the shapes every plugin answers with (pure).

`/v1/messages` clients (the Anthropic SDK, Claude Code) expect Anthropic's
`{"type": "error", "error": {"type": ..., "message": ...}}`; chat-completions clients expect
OpenAI's `{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}`. A traceback never
goes into either.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from typing import Any, Final

ANTHROPIC_ROUTE: Final = re.compile(r"^(/anthropic)?/v1/messages(/count_tokens)?/?$")
ANTHROPIC_ERROR_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
TRACEBACK_MARKER: Final = re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL)

# Headers a plugin wants on this request's error response (e.g. the rotator's `retry-after`
# when its whole pool is cooling). LiteLLM's /v1/messages error path drops provider headers and
# runs no header hook, so the hint travels in a per-request dict that the protocol error layer
# (:mod:`litellm_plugins.guards.protocol_errors`) owns; tasks spawned for the request copy the
# context and so share the same dict.
ERROR_RESPONSE_HEADERS: ContextVar[dict[str, str] | None] = ContextVar(
    "litellm_plugins_error_headers", default=None
)


def hint_error_header(name: str, value: str) -> None:
    """Ask for `name: value` on this request's response if it turns out to be an error."""
    hints = ERROR_RESPONSE_HEADERS.get()
    if hints is not None:
        hints[name.lower()] = value


def anthropic_error_type(status: int) -> str:
    if status in ANTHROPIC_ERROR_TYPES:
        return ANTHROPIC_ERROR_TYPES[status]
    return "invalid_request_error" if status < 500 else "api_error"


def anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}


def anthropic_error_event(message: str, error_type: str = "api_error") -> bytes:
    """An `event: error` frame, as Anthropic's API ends a stream that fails midway."""
    data = json.dumps({"type": "error", "error": {"type": error_type, "message": message}})
    return f"event: error\ndata: {data}\n\n".encode()


OPENAI_ERROR_TYPES: Final = {401: "auth_error", 403: "auth_error", 408: "timeout_error"}


def openai_error_body(status: int, message: str) -> dict[str, Any]:
    kind = OPENAI_ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    param = "api_key" if status in (401, 403) else None
    return {"error": {"message": message, "type": kind, "param": param, "code": str(status)}}


def clean_message(message: str) -> str:
    return TRACEBACK_MARKER.sub("", message).strip() or "request failed"
