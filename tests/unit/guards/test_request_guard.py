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


# -- the auth decision before the body, the body read bound, refused fields, bad input --------
def _run(
    app: Any,
    scope_overrides: dict[str, Any] | None = None,
    receive: Any = None,
    **options: Any,
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    body = json.dumps(BODY).encode()

    async def default_receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": MESSAGES,
        "headers": [],
        "root_path": "",
        **(scope_overrides or {}),
    }
    asyncio.run(RequestGuardMiddleware(app, **options)(scope, receive or default_receive, send))
    return sent


async def _never_called(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the request reached LiteLLM")


def test_a_refused_client_is_answered_before_its_body_is_read() -> None:
    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read for a client the auth refuses")

    sent = _run(_never_called, receive=receive, gate=lambda scope: (401, "No proxy token: send it"))
    assert sent[0]["status"] == 401
    assert (b"x-should-retry", b"false") in sent[0]["headers"]
    error = json.loads(sent[1]["body"])
    assert error == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "No proxy token: send it"},
    }


def test_the_gate_covers_every_route_but_the_health_probes() -> None:
    asked: list[str] = []

    def gate(scope: Any) -> tuple[int, str]:
        asked.append(scope["path"])
        return 403, "admin only"

    sent = _run(_never_called, {"method": "GET", "path": "/openai/v1/models"}, gate=gate)
    assert sent[0]["status"] == 403
    assert json.loads(sent[1]["body"])["error"]["type"] == "auth_error"  # OpenAI-shaped off /v1/messages
    served: list[str] = []

    async def litellm_app(scope: Any, receive: Any, send: Any) -> None:
        served.append(scope["path"])

    assert _run(litellm_app, {"method": "GET", "path": "/health/liveliness"}, gate=gate) == []
    assert served == ["/health/liveliness"] and asked == ["/openai/v1/models"]


def test_a_websocket_the_auth_refuses_is_closed_before_the_handshake() -> None:
    sent = _run(
        _never_called, {"type": "websocket", "path": "/v1/realtime"}, gate=lambda scope: (403, "admin only")
    )
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "admin only"}]


@pytest.mark.parametrize(("path", "shape"), [(MESSAGES, "anthropic"), ("/v1/chat/completions", "openai")])
def test_a_stalled_body_is_a_408_timeout_error_in_the_route_protocol(path: str, shape: str) -> None:
    async def stalled() -> dict[str, Any]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    sent = _run(_never_called, {"path": path}, receive=stalled, read_timeout=0.01)
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    error = json.loads(sent[1]["body"])
    kind = error["error"]["type"]
    assert kind == "timeout_error"
    assert (error.get("type") == "error") == (shape == "anthropic")
    assert "LITELLM_PLUGINS_BODY_READ_TIMEOUT" in error["error"]["message"]


def test_body_read_timeout_setting() -> None:
    from litellm_plugins.guards.request_guard import DEFAULT_BODY_READ_TIMEOUT, body_read_timeout

    assert body_read_timeout({}) == DEFAULT_BODY_READ_TIMEOUT
    assert body_read_timeout({"LITELLM_PLUGINS_BODY_READ_TIMEOUT": "2.5"}) == 2.5
    assert body_read_timeout({"LITELLM_PLUGINS_BODY_READ_TIMEOUT": "0"}) is None
    assert body_read_timeout({"LITELLM_PLUGINS_BODY_READ_TIMEOUT": "soon"}) == DEFAULT_BODY_READ_TIMEOUT


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"api_base": "http://127.0.0.1:9"}, "api_base"),
        ({"extra_body": {"base_url": "http://127.0.0.1:9"}}, "base_url"),
        ({"metadata": {"langfuse_host": "http://127.0.0.1:9"}}, "langfuse_host"),
        ({"input_cost_per_token": 0}, "input_cost_per_token"),
        ({"model_list": []}, "model_list"),
    ],
)
def test_fields_litellm_refuses_are_a_400_naming_the_field(extra: dict[str, Any], field: str) -> None:
    body = json.dumps({**BODY, **extra}).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    sent = _run(_never_called, receive=receive)
    assert sent[0]["status"] == 400
    error = json.loads(sent[1]["body"])["error"]
    assert error["type"] == "invalid_request_error" and field in error["message"]
    assert "huntr" not in error["message"]


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (MESSAGES, {**BODY, "metadata": _deep(900)}, "metadata: nested deeper"),
        (MESSAGES, {**BODY, "metadata": {"user_id": 5}}, "metadata.user_id"),
        (MESSAGES, {**BODY, "messages": []}, "messages: at least one"),
        (
            MESSAGES,
            {**BODY, "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "messages.0.content.0.text",
        ),
        (MESSAGES, {**BODY, "system": [1, 2]}, "system.0"),
        (MESSAGES, {**BODY, "system": [{"text": "x"}]}, "system.0"),
        (
            "/v1/messages/count_tokens",
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
            "tool_use_id",
        ),
        (
            "/v1/messages/count_tokens",
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image"}]}]},
            "source",
        ),
        (
            "/v1/messages/count_tokens",
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image", "source": "x"}]}]},
            "source",
        ),
        ("/v1/chat/completions", {"model": "m", "messages": []}, "messages: at least one"),
        (
            "/v1/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "text",
        ),
    ],
)
def test_bad_input_litellm_fails_on_is_a_problem_naming_the_field(
    path: str, body: dict[str, Any], field: str
) -> None:
    document, problem = parse_body(path, json.dumps(body).encode())
    assert document is None
    assert problem is not None and field in problem


@pytest.mark.parametrize(
    "body",
    [
        {
            **BODY,
            "metadata": {"user_id": "user_abc"},
            "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        },
        {
            **BODY,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "AA=="},
                        },
                        {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
                    ],
                }
            ],
        },
        {**BODY, "tools": [{"name": "t", "input_schema": _deep(40)}]},
    ],
)
def test_real_requests_pass_the_shape_checks(body: dict[str, Any]) -> None:
    assert parse_body(MESSAGES, json.dumps(body).encode()) == (body, None)


def test_the_claude_code_request_passes_the_guard() -> None:
    from tests.conftest import claude_code_request

    body = claude_code_request()["body"]
    assert parse_body(MESSAGES, json.dumps(body).encode()) == (body, None)
