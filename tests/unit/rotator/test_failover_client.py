"""Unit tests for litellm_plugins.rotator.failover_client: a rejected pooled token fails over inside one
request."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

from litellm_plugins.rotator.failover_client import (
    FAILOVER_STATUSES,
    PoolFailoverClient,
    pool_exhausted_error,
    with_token,
)
from litellm_plugins.rotator.token_pool import Lease, TokenPool

URL = "https://api.anthropic.com/v1/messages"
BODY = json.dumps(
    {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
)
TOKENS = tuple(f"sk-ant-oat01-{letter * 48}" for letter in "PQR")


def upstream_error(status: int, headers: Mapping[str, str] | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", URL)
    response = httpx.Response(status, headers=dict(headers or {}), json={"type": "error"}, request=request)
    return httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)


def upstream_ok() -> httpx.Response:
    return httpx.Response(200, json={"type": "message"}, request=httpx.Request("POST", URL))


class ScriptedHandler(AsyncHTTPHandler):
    """LiteLLM's handler with `post` answering from a script; opens no connection."""

    def __init__(self, *script: httpx.Response | Exception) -> None:  # no super(): no httpx client
        self.script = list(script)
        self.calls: list[dict[str, Any]] = []
        self.timeout = 42.0
        self.client = "the shared httpx client"

    async def post(self, url: str, *args: Any, headers: dict | None = None, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        self.calls.append({"url": url, "args": args, "headers": dict(headers or {}), "kwargs": kwargs})
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class Recorder:
    """The rotator's callbacks, recording what they were told and answering from a list."""

    def __init__(self, *following: Lease | None | Exception) -> None:
        self.following = list(following)
        self.failures: list[tuple[Lease, int, dict[str, str]]] = []
        self.successes: list[Lease] = []
        self.success_headers: list[dict[str, str]] = []

    async def on_failure(self, lease: Lease, status: int, headers: Mapping[str, str]) -> Lease | None:
        self.failures.append((lease, status, dict(headers)))
        answer = self.following.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def on_success(self, lease: Lease, headers: Mapping[str, str]) -> None:
        self.successes.append(lease)
        self.success_headers.append(dict(headers))


@pytest.fixture()
def leases() -> list[Lease]:
    pool = TokenPool("claude", TOKENS)
    chosen = [pool.select() for _ in TOKENS]
    assert all(chosen)
    return chosen  # type: ignore[return-value]


def client_for(inner: ScriptedHandler, lease: Lease, recorder: Recorder) -> PoolFailoverClient:
    return PoolFailoverClient(inner, lease, recorder.on_failure, recorder.on_success)


def send(client: PoolFailoverClient, headers: dict[str, str]) -> httpx.Response:
    return asyncio.run(client.post(url=URL, headers=headers, data=BODY, stream=True, timeout=30))


def request_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "x-api-key": token,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "oauth-2025-04-20",
    }


# -- success ----------------------------------------------------------------------------------
def test_success_returns_the_response_and_reports_the_lease(leases: list[Lease]) -> None:
    ok = upstream_ok()
    inner, recorder = ScriptedHandler(ok), Recorder()
    client = client_for(inner, leases[0], recorder)
    headers = request_headers(leases[0].token)
    assert send(client, headers) is ok
    assert recorder.successes == [leases[0]]
    assert recorder.failures == []
    assert client.attempts == [leases[0].fingerprint]
    assert inner.calls == [
        {"url": URL, "args": (), "headers": headers, "kwargs": {"data": BODY, "stream": True, "timeout": 30}}
    ]


def test_positional_arguments_reach_the_inner_handler(leases: list[Lease]) -> None:
    inner, recorder = ScriptedHandler(upstream_ok()), Recorder()
    client = client_for(inner, leases[0], recorder)
    asyncio.run(client.post(URL, BODY, headers=request_headers(leases[0].token)))
    assert inner.calls[0]["args"] == (BODY,)


# -- failover ---------------------------------------------------------------------------------
@pytest.mark.parametrize("status", sorted(FAILOVER_STATUSES))
def test_rejected_token_fails_over_to_the_next_with_the_same_request(
    leases: list[Lease], status: int
) -> None:
    first, second = leases[0], leases[1]
    rejected = upstream_error(status, {"retry-after": "17", "request-id": "req_1"})
    ok = upstream_ok()
    inner, recorder = ScriptedHandler(rejected, ok), Recorder(second)
    client = client_for(inner, first, recorder)
    headers = request_headers(first.token)
    sent = dict(headers)

    assert send(client, headers) is ok

    assert headers == sent  # the caller's headers are not mutated
    assert [(lease, code) for lease, code, _ in recorder.failures] == [(first, status)]
    assert recorder.failures[0][2]["retry-after"] == "17"
    assert recorder.successes == [second]
    assert client.attempts == [first.fingerprint, second.fingerprint]
    before, after = inner.calls
    assert before["headers"] == request_headers(first.token)
    assert after["headers"] == request_headers(second.token)
    assert after["headers"]["Authorization"] == f"Bearer {second.token}"
    assert after["headers"]["x-api-key"] == second.token
    assert (after["url"], after["args"], after["kwargs"]) == (before["url"], before["args"], before["kwargs"])
    assert after["kwargs"]["data"] == BODY


def test_failover_chains_through_the_pool(leases: list[Lease]) -> None:
    ok = upstream_ok()
    inner = ScriptedHandler(upstream_error(429), upstream_error(529), ok)
    recorder = Recorder(leases[1], leases[2])
    client = client_for(inner, leases[0], recorder)
    assert send(client, request_headers(leases[0].token)) is ok
    assert [lease for lease, _, _ in recorder.failures] == leases[:2]
    assert [status for _, status, _ in recorder.failures] == [429, 529]
    assert [call["headers"]["x-api-key"] for call in inner.calls] == [lease.token for lease in leases]
    assert recorder.successes == [leases[2]]
    assert client.attempts == [lease.fingerprint for lease in leases]


def test_only_bearer_and_api_key_headers_carry_the_new_token(leases: list[Lease]) -> None:
    first, second = leases[0], leases[1]
    inner = ScriptedHandler(upstream_error(429), upstream_ok())
    client = client_for(inner, first, Recorder(second))
    send(client, {"authorization": f"Bearer {first.token}", "x-note": first.token})
    assert inner.calls[1]["headers"] == {"authorization": f"Bearer {second.token}", "x-note": first.token}


@pytest.mark.parametrize("status", [400, 404, 413, 500, 502, 503])
def test_other_statuses_are_raised_without_retry(leases: list[Lease], status: int) -> None:
    error = upstream_error(status)
    inner, recorder = ScriptedHandler(error, upstream_ok()), Recorder(leases[1])
    client = client_for(inner, leases[0], recorder)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        send(client, request_headers(leases[0].token))
    assert raised.value is error
    assert len(inner.calls) == 1
    assert recorder.failures == [] and recorder.successes == []


def test_other_exceptions_pass_through(leases: list[Lease]) -> None:
    inner, recorder = ScriptedHandler(httpx.ConnectError("refused")), Recorder(leases[1])
    with pytest.raises(httpx.ConnectError):
        send(client_for(inner, leases[0], recorder), request_headers(leases[0].token))
    assert recorder.failures == [] and recorder.successes == []


def test_no_next_token_reraises_the_original_error(leases: list[Lease]) -> None:
    error = upstream_error(401)
    inner, recorder = ScriptedHandler(error), Recorder(None)
    client = client_for(inner, leases[0], recorder)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        send(client, request_headers(leases[0].token))
    assert raised.value is error
    assert len(recorder.failures) == 1
    assert recorder.successes == []


def test_an_exhausted_pool_error_from_on_failure_reaches_the_caller(leases: list[Lease]) -> None:
    exhausted = pool_exhausted_error("claude", 12.5)
    inner, recorder = ScriptedHandler(upstream_error(429)), Recorder(exhausted)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        send(client_for(inner, leases[0], recorder), request_headers(leases[0].token))
    assert raised.value is exhausted
    assert "retry in 13s" in raised.value.response.json()["error"]["message"]


# -- pool_exhausted_error ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "retry_after"), [(0.0, "1"), (0.2, "1"), (1.0, "1"), (2.01, "3"), (59.5, "60")]
)
def test_pool_exhausted_error_is_an_anthropic_rate_limit_error(seconds: float, retry_after: str) -> None:
    error = pool_exhausted_error("claude", seconds)
    assert isinstance(error, httpx.HTTPStatusError)
    response = error.response
    assert response.status_code == 429
    # The router must not sleep on it: the client's retry-after travels as an error-header hint.
    assert "retry-after" not in response.headers
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert "claude pool" in body["error"]["message"]
    assert f"retry in {retry_after}s" in body["error"]["message"]
    assert str(error) == body["error"]["message"]
    assert str(error.request.url) == URL
    assert response.request is error.request


def test_pool_exhausted_error_uses_the_given_url() -> None:
    error = pool_exhausted_error("openrouter", 5, url="https://gateway.example/v1/messages")
    assert str(error.request.url) == "https://gateway.example/v1/messages"
    assert "openrouter pool" in error.response.json()["error"]["message"]


# -- with_token -------------------------------------------------------------------------------
def test_with_token_replaces_the_credential_in_credential_headers_only() -> None:
    headers = {"Authorization": "Bearer old-token", "X-API-KEY": "old-token", "x-trace": "old-token", "n": 1}
    assert with_token(headers, "old-token", "new-token") == {
        "Authorization": "Bearer new-token",
        "X-API-KEY": "new-token",
        "x-trace": "old-token",
        "n": 1,
    }
    assert headers["Authorization"] == "Bearer old-token"  # a new dict; the input is untouched


def test_with_token_without_headers_or_old_token() -> None:
    assert with_token(None, "old", "new") == {}
    assert with_token({"authorization": "Bearer x"}, "", "new") == {"authorization": "Bearer x"}
    assert with_token({"authorization": "Bearer x"}, "other", "new") == {"authorization": "Bearer x"}


# -- delegation -------------------------------------------------------------------------------
def test_attributes_come_from_the_inner_handler(leases: list[Lease]) -> None:
    inner = ScriptedHandler()
    client = client_for(inner, leases[0], Recorder())
    assert isinstance(client, AsyncHTTPHandler)
    assert client.timeout == 42.0
    assert client.client == "the shared httpx client"
    inner.timeout = 7.0
    assert client.timeout == 7.0
    assert client.attempts == []  # its own attributes are its own
    with pytest.raises(AttributeError):
        client.no_such_attribute  # noqa: B018


def test_client_can_be_copied_and_probed_before_init(leases: list[Lease]) -> None:
    # copy/deepcopy/hasattr probe attributes on a bare instance: that must be AttributeError.
    bare = PoolFailoverClient.__new__(PoolFailoverClient)
    assert not hasattr(bare, "timeout")
    inner = ScriptedHandler()
    client = client_for(inner, leases[0], Recorder())
    duplicate = copy.copy(client)
    assert duplicate._inner is inner
    assert duplicate.timeout == 42.0


def test_dropping_the_wrapper_never_closes_the_shared_client(leases: list[Lease]) -> None:
    """LiteLLM's handler finalizer closes a client its handler owns; the wrapper owns none.

    Inheriting that finalizer once cut every stream in flight on the shared connection pool.
    """
    import gc

    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    async def scenario() -> bool:
        shared = AsyncHTTPHandler()  # owns its client and is its only referrer, as in the proxy
        wrapper = client_for(shared, leases[0], Recorder())
        del wrapper
        gc.collect()
        await asyncio.sleep(0.05)
        await client_for(shared, leases[0], Recorder()).close()
        gc.collect()
        await asyncio.sleep(0.05)
        closed = shared.client.is_closed
        await shared.close()
        return closed

    assert asyncio.run(scenario()) is False
    # The finalizer LiteLLM's handler defines must not be the one the wrapper runs.
    assert PoolFailoverClient.__del__ is not AsyncHTTPHandler.__del__
