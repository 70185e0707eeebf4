from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from litellm.proxy.common_utils.http_parsing_utils import _read_request_body
from starlette.requests import Request

from litellm_plugins.guards.request_guard import NOT_AN_OBJECT, RequestGuardMiddleware, parse_body

MESSAGES = "/v1/messages"
BODY = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}


def test_a_valid_body_is_returned_parsed() -> None:
    assert parse_body(MESSAGES, json.dumps(BODY).encode()) == (BODY, None)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"0", NOT_AN_OBJECT),
        (b"[]", NOT_AN_OBJECT),
        (b'{"model": false, "max_tokens": 1, "messages": []}', "model"),
        (b'{"model": "m", "messages": [', "not valid JSON"),
    ],
)
def test_a_body_that_cannot_be_served_is_a_problem_and_no_document(body: bytes, problem: str) -> None:
    document, found = parse_body(MESSAGES, body)
    assert document is None
    assert found is not None and problem in found


def _serve(app: Any, body: bytes) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    parts = [body[: len(body) // 2], body[len(body) // 2 :]]

    async def receive() -> dict[str, Any]:
        part = parts.pop(0) if parts else b""
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": MESSAGES,
        "headers": [(b"content-type", b"application/json")],
    }
    asyncio.run(RequestGuardMiddleware(app)(scope, receive, send))
    return sent


def test_litellm_reads_the_guards_parse_instead_of_parsing_the_body_again() -> None:
    """The real LiteLLM body reader takes the guard's document (same object) from the scope."""
    seen: dict[str, Any] = {}
    body = json.dumps(BODY).encode()

    async def litellm_app(scope: Any, receive: Any, send: Any) -> None:
        cached = scope["parsed_body"][1]
        seen["parsed"] = await _read_request_body(Request(scope, receive))
        seen["nested_is_shared"] = seen["parsed"]["messages"] is cached["messages"]
        seen["replayed"] = (await receive())["body"]

    assert _serve(litellm_app, body) == []
    assert seen == {"parsed": BODY, "nested_is_shared": True, "replayed": body}


def test_a_refused_body_never_reaches_litellm() -> None:
    async def litellm_app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a refused body reached the app")

    sent = _serve(litellm_app, b'{"model": 7}')
    assert sent[0]["status"] == 400
    error = json.loads(sent[1]["body"])
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
