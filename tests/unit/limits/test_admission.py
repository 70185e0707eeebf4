from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from litellm_plugins.limits.admission import ClientLimitsMiddleware
from litellm_plugins.limits.limiter import Limiter
from litellm_plugins.limits.settings import ClientLimits, LimitSettings
from litellm_plugins.limits.store import limit_store


def scope(path: str = "/v1/messages", method: str = "POST") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": []}


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def body(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"{}", "more_body": False}


def layer(limits: ClientLimits, app: Any, client: str | None = "alice") -> ClientLimitsMiddleware:
    limiter = Limiter(LimitSettings({"alice": limits}), limit_store(None))
    return ClientLimitsMiddleware(app, identify=lambda s: client, limiter=limiter, renew_every=0.01)


async def ok_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def slots(middleware: ClientLimitsMiddleware) -> int:
    return middleware.limiter.store.local.slots_held("alice")


@pytest.mark.parametrize(
    ("path", "anthropic"),
    [("/v1/messages", True), ("/v1/chat/completions", False), ("/chat/completions", False)],
)
def test_the_refusal_is_in_the_clients_protocol_with_retry_after(path: str, anthropic: bool) -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await ok_app(scope, receive, send)

    middleware = layer(ClientLimits(requests_per_minute=1), app)
    first, second = Recorder(), Recorder()

    async def scenario() -> None:
        await middleware(scope(path), receive, first)
        await middleware(scope(path), receive, second)

    asyncio.run(scenario())
    assert first.status == 200 and calls == [path]  # the refused request never reached LiteLLM
    assert second.status == 429
    assert 55 <= int(second.headers["retry-after"]) <= 60
    assert "x-should-retry" not in second.headers
    if anthropic:
        assert second.body["type"] == "error"
        assert second.body["error"]["type"] == "rate_limit_error"
        assert "1 requests per minute" in second.body["error"]["message"]
    else:
        assert second.body["error"]["type"] == "rate_limit_error"
        assert second.body["error"]["code"] == "429"
        assert "1 requests per minute" in second.body["error"]["message"]


def test_other_routes_and_the_master_key_are_not_counted() -> None:
    middleware = layer(ClientLimits(requests_per_minute=1), ok_app)
    admin = layer(ClientLimits(requests_per_minute=1), ok_app, client=None)
    results: list[Recorder] = []

    async def scenario() -> None:
        for request, target in (
            (scope("/v1/messages/count_tokens"), middleware),
            (scope("/v1/models", "GET"), middleware),
            (scope(), admin),
            (scope(), admin),
            (scope(), middleware),
        ):
            results.append(Recorder())
            await target(request, receive, results[-1])

    asyncio.run(scenario())
    assert [r.status for r in results] == [200, 200, 200, 200, 200]


def test_the_slot_is_released_when_the_response_ends_fails_or_is_cancelled() -> None:
    started = asyncio.Event

    async def failing_app(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("upstream broke")

    async def scenario() -> None:
        ok = layer(ClientLimits(max_concurrent=1), ok_app)
        await ok(scope(), receive, Recorder())
        assert slots(ok) == 0

        failing = layer(ClientLimits(max_concurrent=1), failing_app)
        with pytest.raises(RuntimeError):
            await failing(scope(), receive, Recorder())
        assert slots(failing) == 0

        entered = started()

        async def streaming_app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            entered.set()
            await asyncio.sleep(3600)  # a stream the client walks away from

        streaming = layer(ClientLimits(max_concurrent=1), streaming_app)
        task = asyncio.ensure_future(streaming(scope(), receive, Recorder()))
        await entered.wait()
        await asyncio.sleep(0.05)  # a few lease renewals
        assert slots(streaming) == 1
        refused = Recorder()
        await streaming(scope(), receive, refused)
        assert refused.status == 429 and refused.body["error"]["type"] == "rate_limit_error"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        assert slots(streaming) == 0

    asyncio.run(scenario())


def test_the_daily_budget_says_not_to_retry_before_midnight() -> None:
    middleware = layer(ClientLimits(tokens_per_day=10), ok_app)
    refused = Recorder()

    async def scenario() -> None:
        await middleware.limiter.record_tokens("alice", 10)
        await middleware(scope("/v1/chat/completions"), receive, refused)

    asyncio.run(scenario())
    assert refused.status == 429
    assert refused.headers["x-should-retry"] == "false"
    assert 1 <= int(refused.headers["retry-after"]) <= 86400
    assert "tokens for today" in refused.body["error"]["message"]
