"""Limits per client in the real proxy: each limit refuses the request that crosses it and no other,
in each protocol's error shape with `retry-after`, before the fake provider sees it; a fallback to a
group the client was not given is refused; two proxies sharing a redis-server share one budget."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import OPENAI_KEY, openai_deployment
from tests.fakes.openai_chat import FakeOpenAIChat, Fault
from tests.harness import MASTER_KEY, ProxyProcess, RedisServer, free_port, plugin_config

pytestmark = pytest.mark.integration

TOKENS = {
    name: f"limits-{name}-token-" + name[0] * 32
    for name in ("rpm", "rpm-chat", "conc", "budget", "budget-messages", "groups", "free")
}
CLIENTS = {
    "rpm": {"requests_per_minute": 2},
    "rpm-chat": {"requests_per_minute": 2},
    "conc": {"max_concurrent": 1},
    "budget": {"tokens_per_day": 100},
    "budget-messages": {"tokens_per_day": 1},
    "groups": {"model_groups": ["primary", "default"]},
    "nobody": {"requests_per_minute": 1},  # no such token: a startup warning
}
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
WAIT_STEPS = 60  # bounded polls of 0.25 s


def limits_config(fake: FakeOpenAIChat, clients: dict[str, Any] = CLIENTS) -> dict[str, Any]:
    base = fake.api_base
    return plugin_config(
        [
            openai_deployment("default", "deepseek-chat", base, max_output_tokens=8192),
            # A group whose only deployment cannot be reached, falling back to one "groups" may not use.
            openai_deployment("primary", "deepseek-chat", "http://127.0.0.1:9/v1", max_output_tokens=8192),
            openai_deployment("secret", "deepseek-reasoner", base, max_output_tokens=8192),
        ],
        fallbacks=[{"primary": ["secret"]}],
        plugins={"clients": clients},
    )


def limits_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"PROXY_STATIC_TOKENS": ",".join(f"{n}:{t}" for n, t in TOKENS.items()), **(extra or {})}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIChat]:
    server = FakeOpenAIChat(api_keys=(OPENAI_KEY,)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def limits_proxy(fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    process = ProxyProcess(
        limits_config(fake), tmp_path_factory.mktemp("limits"), env=limits_env(), name="limits"
    )
    process.start()
    yield process
    process.stop()


def send(
    proxy: ProxyProcess,
    client: str,
    route: str = CHAT,
    model: str = "default",
    timeout: float = 60,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    body.update(extra)
    headers = {"x-litellm-api-key": TOKENS[client], "anthropic-version": "2023-06-01"}
    return httpx.post(f"{proxy.url}{route}", json=body, headers=headers, timeout=timeout)


def wait_until(condition: Callable[[], bool]) -> bool:
    for _ in range(WAIT_STEPS):
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def assert_rate_limited(response: httpx.Response, route: str, fragment: str) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    body = response.json()
    if route == MESSAGES:
        assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
        assert fragment in body["error"]["message"]
    else:
        assert body["error"]["type"] == "rate_limit_error" and body["error"]["code"] == "429"
        assert fragment in body["error"]["message"]
    assert "Traceback" not in response.text
    return retry_after


def test_an_unknown_client_name_is_a_startup_warning(limits_proxy: ProxyProcess) -> None:
    assert "names nobody, which no proxy token has" in limits_proxy.log_text()


@pytest.mark.parametrize("route", [MESSAGES, CHAT])
def test_requests_per_minute_refuses_the_request_that_crosses_it(
    limits_proxy: ProxyProcess, fake: FakeOpenAIChat, route: str
) -> None:
    client = "rpm" if route == MESSAGES else "rpm-chat"  # a window per client
    fake.requests.clear()
    for _ in range(2):
        assert send(limits_proxy, client, route).status_code == 200
    seen = len(fake.requests.all())
    retry_after = assert_rate_limited(send(limits_proxy, client, route), route, "2 requests per minute")
    assert retry_after <= 60
    assert len(fake.requests.all()) == seen  # the refused request never reached the provider
    assert send(limits_proxy, "free", route).status_code == 200  # another client is not affected


def test_max_concurrent_refuses_the_second_request_in_flight_and_frees_the_slot(
    limits_proxy: ProxyProcess, fake: FakeOpenAIChat
) -> None:
    fake.requests.clear()
    fake.add_fault(Fault(kind="stall", seconds=4, model="deepseek-chat"))
    results: list[int] = []
    holder = threading.Thread(target=lambda: results.append(send(limits_proxy, "conc").status_code))
    holder.start()
    try:
        assert wait_until(lambda: len(fake.requests.all()) == 1)  # the first is with the provider
        for route in (CHAT, MESSAGES):
            refused = send(limits_proxy, "conc", route)
            assert refused.headers["retry-after"] == "1"
            assert_rate_limited(refused, route, "1 requests in flight")
        assert len(fake.requests.all()) == 1
    finally:
        holder.join(timeout=60)
    assert results == [200]
    assert send(limits_proxy, "conc").status_code == 200  # the slot came back when it finished


def test_a_client_that_disconnects_mid_stream_gives_its_slot_back(
    limits_proxy: ProxyProcess, fake: FakeOpenAIChat
) -> None:
    fake.add_fault(Fault(kind="slow_stream", seconds=3, model="deepseek-chat"))  # ~2 minutes of stream
    headers = {"x-litellm-api-key": TOKENS["conc"]}
    body = {"model": "default", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", f"{limits_proxy.url}{CHAT}", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        chunks = response.iter_bytes()  # kept: dropping the iterator would close the stream
        next(chunks)  # streaming has begun
        assert send(limits_proxy, "conc").status_code == 429  # the stream holds the slot
        next(chunks)  # still streaming
    # Leaving the block closed the connection long before the stream would have ended.
    assert wait_until(lambda: send(limits_proxy, "conc").status_code == 200)


def test_tokens_per_day_serves_the_crossing_request_and_refuses_the_next(
    limits_proxy: ProxyProcess, fake: FakeOpenAIChat
) -> None:
    used = 0
    for served in range(10):
        seen = len(fake.requests.all())
        response = send(limits_proxy, "budget")
        if used >= 100:
            assert_rate_limited(response, CHAT, "tokens for today")
            assert response.headers["x-should-retry"] == "false"
            assert int(response.headers["retry-after"]) <= 86400
            messages = send(limits_proxy, "budget", MESSAGES)
            assert_rate_limited(messages, MESSAGES, "tokens for today")
            assert len(fake.requests.all()) == seen  # neither refused request reached the provider
            break
        assert response.status_code == 200, response.text  # under the budget before it: served
        used += response.json()["usage"]["total_tokens"]
        # Tokens are counted when LiteLLM logs the request; the request log line comes after that.
        logged = served + 1
        assert wait_until(lambda logged=logged: limits_proxy.log_text().count("client='budget'") >= logged)
    else:
        pytest.fail("the daily budget never refused")
    assert 100 <= used < 100 + 100  # the crossing request was served, one over at most


def test_tokens_on_v1_messages_count_too(limits_proxy: ProxyProcess, fake: FakeOpenAIChat) -> None:
    served = send(limits_proxy, "budget-messages", MESSAGES)
    assert served.status_code == 200, served.text
    assert served.json()["usage"]["input_tokens"] > 0  # the crossing request, served
    assert wait_until(lambda: "client='budget-messages'" in limits_proxy.log_text())
    seen = len(fake.requests.all())
    assert_rate_limited(send(limits_proxy, "budget-messages", MESSAGES), MESSAGES, "tokens for today")
    assert len(fake.requests.all()) == seen


@pytest.mark.parametrize("route", [MESSAGES, CHAT])
def test_a_group_outside_model_groups_is_a_403(
    limits_proxy: ProxyProcess, fake: FakeOpenAIChat, route: str
) -> None:
    fake.requests.clear()
    response = send(limits_proxy, "groups", route, model="secret")
    assert response.status_code == 403, response.text
    body = response.json()
    message = body["error"]["message"]
    if route == MESSAGES:
        assert body["type"] == "error" and body["error"]["type"] == "permission_error"
    else:
        assert body["error"]["code"] == "403"
    assert "may not use model group 'secret'" in message
    assert fake.requests.all() == []  # refused before the provider
    assert send(limits_proxy, "groups", route).status_code == 200  # "default" is allowed


def test_no_fallback_spends_a_group_the_client_was_not_given(
    limits_proxy: ProxyProcess, fake: FakeOpenAIChat
) -> None:
    fake.requests.clear()
    served = send(limits_proxy, "free", model="primary")
    assert served.status_code == 200  # the fallback serves a client without model_groups
    assert [r.body["model"] for r in fake.requests.all()] == ["deepseek-reasoner"]
    fake.requests.clear()
    refused = send(limits_proxy, "groups", model="primary")
    assert refused.status_code >= 400
    assert len(fake.requests.all()) == 0  # "secret" was never called for this client
    assert re.search(r"may not use model group 'secret'", limits_proxy.log_text())


def test_two_proxies_sharing_redis_enforce_one_budget(
    fake: FakeOpenAIChat, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("limits-redis")).start()
    try:
        config = limits_config(fake, {"rpm": {"requests_per_minute": 3}, "conc": {"max_concurrent": 1}})
        env = limits_env({"REDIS_URL": redis.url})
        with (
            ProxyProcess(config, tmp_path / "a", env=env, name="a") as first,
            ProxyProcess(config, tmp_path / "b", env=env, name="b") as second,
        ):
            assert "counts in redis" in first.log_text()
            fake.requests.clear()
            assert [send(p, "rpm").status_code for p in (first, second, first)] == [200, 200, 200]
            assert_rate_limited(send(second, "rpm"), CHAT, "3 requests per minute")
            assert_rate_limited(send(first, "rpm", MESSAGES), MESSAGES, "3 requests per minute")
            assert len(fake.requests.all()) == 3

            fake.requests.clear()
            fake.add_fault(Fault(kind="stall", seconds=4, model="deepseek-chat"))
            results: list[int] = []
            holder = threading.Thread(target=lambda: results.append(send(first, "conc").status_code))
            holder.start()
            try:
                assert wait_until(lambda: len(fake.requests.all()) == 1)
                assert_rate_limited(send(second, "conc"), CHAT, "1 requests in flight")
                assert len(fake.requests.all()) == 1
            finally:
                holder.join(timeout=60)
            assert results == [200]
            assert send(second, "conc").status_code == 200
    finally:
        redis.stop()


def test_with_redis_down_each_proxy_still_enforces_the_limits_itself(
    fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    env = limits_env({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})  # nothing listens there
    with ProxyProcess(limits_config(fake, {"rpm": {"requests_per_minute": 2}}), tmp_path, env=env) as proxy:
        assert [send(proxy, "rpm").status_code for _ in range(2)] == [200, 200]
        assert_rate_limited(send(proxy, "rpm"), CHAT, "2 requests per minute")
        assert proxy.log_text().count("limits: redis unavailable") == 1  # once per outage, not per request


def test_the_master_key_is_not_limited(limits_proxy: ProxyProcess) -> None:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    body = {"model": "secret", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(f"{limits_proxy.url}{CHAT}", json=body, headers=headers, timeout=60).status_code == 200
