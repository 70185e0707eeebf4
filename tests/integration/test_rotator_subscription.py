"""The Claude pool against a subscription's limits, in the real proxy and the strict Anthropic fake.

- A deployment that declares its own `api_key` on Anthropic's API uses it: the subscription
  pool falling back to pay-as-you-go serves the request with the deployment's key, and no
  pooled token reaches that deployment.
- The pool reads Anthropic's unified rate-limit headers on every response: new sessions go to
  the token with the lowest utilization, a session steps away from a token in
  `allowed_warning`, and a limit scoped to one model family cools only that family.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_messages import FakeAnthropic
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

POOL = tuple(f"sk-ant-oat01-subscription-{i}-" + "s" * 40 for i in range(3))
API_KEY = "sk-ant-api03-pay-as-you-go-" + "k" * 40
ALICE = "alice-token-" + "a" * 40
CALLBACKS = ["litellm_plugins.hooks.request_transformer", "litellm_plugins.hooks.token_rotator"]


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_keys=(API_KEY,), oauth_tokens=POOL).start()
    yield fake
    fake.stop()


def subscription_config(anthropic_fake: FakeAnthropic) -> dict[str, Any]:
    base = anthropic_fake.url  # declared Anthropic's API below
    model_list = [
        {"model_name": "anthropic", "litellm_params": {"model": "anthropic/*", "api_base": base}},
        {
            "model_name": "anthropic-api",
            "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "api_base": base, "api_key": API_KEY},
        },
    ]
    return plugin_config(
        model_list,
        aliases={"claude-*": "anthropic"},
        fallbacks=[{"anthropic": ["anthropic-api"]}],
        callbacks=CALLBACKS,
        plugins={"anthropic_api_bases": [base]},
    )


@pytest.fixture(scope="module")
def proxy(anthropic_fake: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    env = {
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
        "CLAUDE_TOKEN_MODE": "rotate",
        "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool",
    }
    process = ProxyProcess(
        subscription_config(anthropic_fake),
        tmp_path_factory.mktemp("subscription"),
        env=env,
        name="subscription",
    ).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def _reset_fake(anthropic_fake: FakeAnthropic) -> Iterator[None]:
    anthropic_fake.requests.clear()
    yield
    for token in POOL:
        anthropic_fake.set_credential_fault(token, None)
        anthropic_fake.set_unified_window(token, None)


def send(
    proxy: ProxyProcess,
    *,
    model: str = "claude-sonnet-4-5",
    session: str | None = None,
    stream: bool = False,
) -> httpx.Response:
    headers = {
        "x-litellm-api-key": ALICE,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    if session:
        headers["x-claude-code-session-id"] = session
    body = {
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return httpx.post(f"{proxy.url}/v1/messages", content=json.dumps(body), headers=headers, timeout=60)


def credentials_seen(fake: FakeAnthropic) -> list[str | None]:
    return [r.credential for r in fake.requests.all() if r.path == "/v1/messages"]


def pool_report(proxy: ProxyProcess) -> dict[str, Any]:
    response = httpx.get(
        f"{proxy.url}/litellm_plugins/pool", headers={"Authorization": f"Bearer {MASTER_KEY}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_subscription_falls_back_to_the_deployments_own_api_key(
    proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    for token in POOL:
        anthropic_fake.rate_limit(token, retry_after=3)
    for stream in (False, True):
        anthropic_fake.requests.clear()
        response = send(proxy, stream=stream)
        assert response.status_code == 200, response.text
        served = [r for r in anthropic_fake.requests.all() if r.status == 200]
        assert [r.credential for r in served] == [API_KEY]
        # The pay-as-you-go deployment got its own key and nothing from the pool.
        for secret in POOL:
            assert secret not in json.dumps(served[0].headers)
        assert all(r.credential in POOL for r in anthropic_fake.requests.all() if r.status == 429)
