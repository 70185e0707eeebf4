"""Input the proxy refuses gets a 400 in the route's protocol that names the field, never a 500.

Two kinds, both found answering 500 before:
- body fields LiteLLM refuses from clients (they would redirect the call or choose its
  credentials): LiteLLM's refusal crashed in its auth error path (`prisma`) and reached the
  client as a plain-text 500 that Claude Code retries;
- bad input LiteLLM fails on inside its request handling (deep nesting, wrong types, missing
  fields of content blocks).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.harness import ProxyProcess
from tests.reliability.conftest import CLIENT_TOKEN, SECRETS, Hygiene
from tests.reliability.ledger import LEDGER

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ATTACKER = "http://127.0.0.1:9/attacker"
ROUTES = ("/v1/messages", "/v1/chat/completions", "/v1/messages/count_tokens")
# (name, what to add to a valid body, the field the error must name)
REFUSED_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("api_base", {"api_base": ATTACKER}, "api_base"),
    ("base_url", {"base_url": ATTACKER}, "base_url"),
    ("extra_body.api_base", {"extra_body": {"api_base": ATTACKER}}, "api_base"),
    ("metadata.api_base", {"metadata": {"api_base": ATTACKER}}, "api_base"),
    (
        "user_config",
        {
            "user_config": {
                "model_list": [
                    {"model_name": "x", "litellm_params": {"model": "openai/x", "api_base": ATTACKER}}
                ]
            }
        },
        "user_config",
    ),
    (
        "model_list",
        {"model_list": [{"model_name": "x", "litellm_params": {"model": "openai/x"}}]},
        "model_list",
    ),
    ("fallbacks.api_base", {"fallbacks": [{"model": "openai/x", "api_base": ATTACKER}]}, "api_base"),
    ("azure_ad_token", {"azure_ad_token": "stolen"}, "azure_ad_token"),
    ("input_cost_per_token", {"input_cost_per_token": 0}, "input_cost_per_token"),
    ("langfuse_host", {"langfuse_host": ATTACKER}, "langfuse_host"),
    ("vertex_credentials", {"vertex_credentials": "{}"}, "vertex_credentials"),
]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


# (name, route, body, the field the error must name)
BAD_INPUTS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "metadata-900-deep",
        "/v1/messages",
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 8,
            "metadata": nested(900),
            "messages": [{"role": "user", "content": "hi"}],
        },
        "metadata",
    ),
    (
        "metadata-user_id-int",
        "/v1/messages",
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 8,
            "metadata": {"user_id": 5},
            "messages": [{"role": "user", "content": "hi"}],
        },
        "metadata.user_id",
    ),
    (
        "empty-messages-chat-deployment",
        "/v1/messages",
        {"model": "chat", "max_tokens": 8, "messages": []},
        "messages",
    ),
    (
        "text-not-a-string-chat-deployment",
        "/v1/messages",
        {
            "model": "chat",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}],
        },
        "messages.0.content.0.text",
    ),
    ("empty-messages-chat-route", "/v1/chat/completions", {"model": "chat", "messages": []}, "messages"),
    (
        "text-not-a-string-chat-route",
        "/v1/chat/completions",
        {"model": "chat", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        "messages.0.content.0.text",
    ),
    (
        "count-tool_result-without-id",
        "/v1/messages/count_tokens",
        {
            "model": "claude-haiku-4-5",
            "messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}],
        },
        "tool_use_id",
    ),
    (
        "count-image-without-source",
        "/v1/messages/count_tokens",
        {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": [{"type": "image"}]}]},
        "source",
    ),
    (
        "count-image-string-source",
        "/v1/messages/count_tokens",
        {
            "model": "claude-haiku-4-5",
            "messages": [{"role": "user", "content": [{"type": "image", "source": "http://x/y.png"}]}],
        },
        "source",
    ),
    (
        "count-system-numbers",
        "/v1/messages/count_tokens",
        {"model": "claude-haiku-4-5", "system": [1, 2], "messages": [{"role": "user", "content": "hi"}]},
        "system.0",
    ),
    (
        "count-system-block-without-type",
        "/v1/messages/count_tokens",
        {
            "model": "claude-haiku-4-5",
            "system": [{"text": "be brief"}],
            "messages": [{"role": "user", "content": "hi"}],
        },
        "system.0",
    ),
    (
        "count-metadata-900-deep",
        "/v1/messages/count_tokens",
        {
            "model": "claude-haiku-4-5",
            "metadata": nested(900),
            "messages": [{"role": "user", "content": "hi"}],
        },
        "metadata",
    ),
]


def valid_body(route: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}
    if route == "/v1/messages":
        body["max_tokens"] = 8
    return body


def post(proxy: ProxyProcess, route: str, body: dict[str, Any], label: str) -> httpx.Response:
    headers = {
        "x-litellm-api-key": CLIENT_TOKEN,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    response = httpx.post(f"{proxy.url}{route}", content=json.dumps(body), headers=headers, timeout=60)
    LEDGER.record_response(response, label)
    return response


def assert_invalid_request(response: httpx.Response, route: str, field: str, hygiene: Hygiene) -> None:
    hygiene.saw(response.text)
    assert response.status_code == 400, f"{route}: {response.status_code} {response.text[:300]}"
    assert "Traceback" not in response.text
    for secret in SECRETS:
        assert secret not in response.text
    document = response.json()
    if route.startswith("/v1/messages"):
        assert document["type"] == "error", document
        assert document["error"]["type"] == "invalid_request_error", document
    else:
        assert document["error"]["type"] == "invalid_request_error", document
    assert field in document["error"]["message"], document


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("name", "extra", "field"), REFUSED_FIELDS, ids=[case[0] for case in REFUSED_FIELDS])
def test_refused_body_fields_are_a_400_naming_the_field(
    reliability_proxy: ProxyProcess,
    hygiene: Hygiene,
    route: str,
    name: str,
    extra: dict[str, Any],
    field: str,
) -> None:
    response = post(
        reliability_proxy, route, {**valid_body(route), **extra}, f"refused field {name} on {route}"
    )
    assert_invalid_request(response, route, field, hygiene)


@pytest.mark.parametrize(("name", "route", "body", "field"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_a_400_naming_the_field(
    reliability_proxy: ProxyProcess, hygiene: Hygiene, name: str, route: str, body: dict[str, Any], field: str
) -> None:
    response = post(reliability_proxy, route, body, f"bad input {name}")
    assert_invalid_request(response, route, field, hygiene)


@pytest.mark.parametrize("route", ROUTES)
def test_a_valid_body_is_still_served(reliability_proxy: ProxyProcess, route: str) -> None:
    response = post(reliability_proxy, route, valid_body(route), f"valid body on {route}")
    assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize("path", ["/langfuse/api/public/ingestion", "/langfuse/api/public/traces"])
def test_unauthenticated_langfuse_pass_through_is_a_401_not_a_500(
    reliability_proxy: ProxyProcess, path: str
) -> None:
    response = httpx.post(f"{reliability_proxy.url}{path}", json={"batch": []}, timeout=30)
    LEDGER.record_response(response, f"unauthenticated {path}")
    assert response.status_code == 401, response.text[:300]
    assert response.headers.get("x-should-retry") == "false"
    assert response.json()["error"]["message"]
