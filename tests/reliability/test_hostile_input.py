"""Hostile input: property-based fuzzing of `/v1/messages`, `/v1/messages/count_tokens` and
`/v1/chat/completions` against the proxy with every plugin on (the upstreams are healthy strict
fakes, so every error is the client's). Whatever a client sends: never a 5xx, never a traceback
in a body, never a credential in a response, and the error is in the client's protocol. Every
request is counted in the suite's ledger (tests/reliability/ledger.py).

`FUZZ_EXAMPLES` sets the number of examples per property (CI runs a bounded default; raise it
on demand: `FUZZ_EXAMPLES=2000 bash scripts/test.sh tests/reliability`).
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import ProxyProcess
from tests.reliability.conftest import CLIENT_TOKEN, SECRETS, Hygiene
from tests.reliability.ledger import LEDGER

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=200)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=30,
)
block_types = st.sampled_from(
    [
        "text",
        "image",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "document",
        "bogus",
        "",
        "server_tool_use",
    ]
)
blocks = st.fixed_dictionaries(
    {"type": block_types},
    optional={
        "text": json_values,
        "source": json_values,
        "id": json_values,
        "input": json_values,
        "content": json_values,
        "thinking": json_values,
        "signature": json_values,
    },
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", "", "developer"]) | json_scalars},
        optional={"content": st.text(max_size=300) | st.lists(blocks, max_size=4) | json_values},
    ),
    max_size=6,
)
anthropic_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["claude-sonnet-4-5", "claude", "chat", "nope"]) | json_scalars,
        "max_tokens": st.integers(-5, 10**9) | json_scalars,
        "messages": messages | json_values,
        "system": st.text(max_size=200) | json_values,
        "tools": st.lists(json_values, max_size=3),
        "thinking": json_values | st.just({"type": "enabled", "budget_tokens": 2048}),
        "stream": st.booleans() | json_scalars,
        "metadata": json_values,
        "tool_choice": json_values,
        "temperature": json_scalars,
    },
)
chat_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["chat", "claude-sonnet-4-5", "nope"]) | json_scalars,
        "max_tokens": st.integers(-5, 10**9) | json_scalars,
        "messages": messages | json_values,
        "tools": st.lists(json_values, max_size=3),
        "stream": st.booleans() | json_scalars,
        "reasoning_effort": json_scalars,
        "response_format": json_values,
    },
)


def assert_clean(response: httpx.Response, hygiene: Hygiene, anthropic_route: bool) -> None:
    text = response.text
    hygiene.saw(text)
    # The upstreams are healthy: any 5xx here answers something the client sent.
    assert response.status_code < 500, text[:500]
    assert "Traceback (most recent call last)" not in text
    for secret in SECRETS:
        assert secret not in text
    if response.status_code >= 400:
        body = response.json()
        if anthropic_route:
            assert body.get("type") == "error" and isinstance(body.get("error"), dict), body
        else:
            assert isinstance(body.get("error"), dict), body


def post(
    proxy: ProxyProcess, path: str, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    sent = {
        "x-litellm-api-key": CLIENT_TOKEN,
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
    }
    try:
        response = httpx.post(
            f"{proxy.url}{path}", content=content, headers={**sent, **(headers or {})}, timeout=60
        )
    except httpx.TimeoutException:
        LEDGER.record(None, f"fuzz {path}", hung=True)
        raise
    LEDGER.record_response(response, f"fuzz {path}", secrets=SECRETS)
    return response


@FUZZ
@given(body=anthropic_bodies)
def test_fuzzed_messages_bodies(
    reliability_proxy: ProxyProcess, hygiene: Hygiene, body: dict[str, Any]
) -> None:
    response = post(reliability_proxy, "/v1/messages", json.dumps(body).encode())
    assert_clean(response, hygiene, anthropic_route=True)


@FUZZ
@given(body=anthropic_bodies)
def test_fuzzed_count_tokens_bodies(
    reliability_proxy: ProxyProcess, hygiene: Hygiene, body: dict[str, Any]
) -> None:
    response = post(reliability_proxy, "/v1/messages/count_tokens", json.dumps(body).encode())
    assert_clean(response, hygiene, anthropic_route=True)


@FUZZ
@given(body=chat_bodies)
def test_fuzzed_chat_completions_bodies(
    reliability_proxy: ProxyProcess, hygiene: Hygiene, body: dict[str, Any]
) -> None:
    response = post(reliability_proxy, "/v1/chat/completions", json.dumps(body).encode())
    assert_clean(response, hygiene, anthropic_route=False)


@FUZZ
@given(
    raw=st.binary(max_size=2000),
    path=st.sampled_from(["/v1/messages", "/v1/chat/completions", "/v1/messages/count_tokens"]),
)
def test_arbitrary_bytes_including_invalid_utf8(
    reliability_proxy: ProxyProcess, hygiene: Hygiene, raw: bytes, path: str
) -> None:
    response = post(reliability_proxy, path, raw)
    assert_clean(response, hygiene, anthropic_route=path.startswith("/v1/messages"))


@FUZZ
@given(
    # What an HTTP client can send at all: visible ASCII, no surrounding blanks.
    value=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300).map(
        str.strip
    ),
    name=st.sampled_from(
        [
            "x-litellm-api-key",
            "authorization",
            "x-api-key",
            "x-claude-token-mode",
            "x-claude-code-session-id",
            "anthropic-beta",
            "anthropic-version",
        ]
    ),
)
def test_fuzzed_headers(reliability_proxy: ProxyProcess, hygiene: Hygiene, value: str, name: str) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    response = post(reliability_proxy, "/v1/messages", json.dumps(body).encode(), {name: value})
    assert_clean(response, hygiene, anthropic_route=True)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'{"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "'
            + b"x" * 3_000_000
            + b'"}]}',
            id="huge-string",
        ),
        pytest.param(b"[" * 20000 + b"]" * 20000, id="deep-nesting-array"),
        pytest.param(b'{"a":' * 5000 + b"1" + b"}" * 5000, id="deep-nesting-object"),
        pytest.param(
            json.dumps(
                {
                    "model": "claude",
                    "max_tokens": 5,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}] * 20000}],
                }
            ).encode(),
            id="many-blocks",
        ),
    ],
)
def test_oversized_and_deep_bodies(reliability_proxy: ProxyProcess, hygiene: Hygiene, body: bytes) -> None:
    for path in ("/v1/messages", "/v1/chat/completions", "/v1/messages/count_tokens"):
        response = post(reliability_proxy, path, body)
        assert_clean(response, hygiene, anthropic_route=path.startswith("/v1/messages"))


def test_header_injection_is_refused_without_a_500(reliability_proxy: ProxyProcess) -> None:
    """A raw request whose header value smuggles CR/LF and a second header."""
    body = b'{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
    request = (
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"x-litellm-api-key: " + CLIENT_TOKEN.encode() + b"\r\n"
        b"x-claude-token-mode: rotate\rx-injected: yes\r\n"
        b"content-type: application/json\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    with socket.create_connection(("127.0.0.1", reliability_proxy.port), timeout=30) as connection:
        connection.sendall(request)
        answer = connection.recv(65536)
    status_line = answer.split(b"\r\n", 1)[0]
    parts = status_line.split(b" ")
    LEDGER.record(int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None, "header injection")
    assert b" 500 " not in status_line, answer[:300]
    assert b"Traceback" not in answer
