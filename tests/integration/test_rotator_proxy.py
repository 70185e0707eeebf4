"""The token rotator in the real proxy against the strict Anthropic fake.

The fake accepts three pooled OAuth tokens (only with `anthropic-beta: oauth-2025-04-20`), a
client's own OAuth token, and a third-party key for a GLM-like Anthropic-compatible deployment
on another host. A credential can be told to answer 429 with reset headers.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from litellm_plugins.core.redaction import fingerprint
from tests.conftest import OPENAI_KEY
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

POOL = tuple(f"sk-ant-oat01-pool-{i}-" + "x" * 40 for i in range(3))
CLIENT_OAUTH = "sk-ant-oat01-client-own-" + "y" * 40
GLM_KEY = "glm-third-party-key-" + "z" * 24
ALICE = "alice-token-" + "a" * 40
BOB = "bob-token-" + "b" * 40
ROTATOR_CALLBACKS = ["litellm_plugins.hooks.request_transformer", "litellm_plugins.hooks.token_rotator"]


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_keys=(GLM_KEY,), oauth_tokens=(*POOL, CLIENT_OAUTH)).start()
    yield fake
    fake.stop()


def rotator_config(anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat) -> dict[str, Any]:
    anthropic_base = anthropic_fake.url  # 127.0.0.1:<port>: declared Anthropic's API below
    third_party_base = anthropic_fake.url.replace("127.0.0.1", "localhost")  # same fake, another host
    model_list = [
        {
            "model_name": "sonnet",
            "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "api_base": anthropic_base},
        },
        {
            "model_name": "solo",
            "litellm_params": {"model": "anthropic/claude-haiku-4-5", "api_base": anthropic_base},
        },
        {
            "model_name": "glm",
            "litellm_params": {
                "model": "anthropic/claude-opus-4-1",
                "api_base": third_party_base,
                "api_key": GLM_KEY,
            },
        },
        {
            "model_name": "deepseek",
            "litellm_params": {
                "model": "openai/deepseek-chat",
                "api_base": openai_fake.api_base,
                "api_key": OPENAI_KEY,
            },
            "model_info": {"max_output_tokens": 8192},
        },
    ]
    return plugin_config(
        model_list,
        aliases={"claude-*": "sonnet"},
        fallbacks=[{"sonnet": ["deepseek"]}],
        callbacks=ROTATOR_CALLBACKS,
        plugins={"anthropic_api_bases": [anthropic_base]},
    )


def rotator_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
        "CLAUDE_TOKEN_MODE": "rotate",
        "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool,bob:{BOB}:passthrough",
        **(extra or {}),
    }


@pytest.fixture(scope="module")
def rotator_proxy(
    anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    process = ProxyProcess(
        rotator_config(anthropic_fake, openai_fake),
        tmp_path_factory.mktemp("rotator"),
        env=rotator_env(),
        name="rotator",
    ).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def _reset_fake(anthropic_fake: FakeAnthropic) -> Iterator[None]:
    anthropic_fake.requests.clear()
    yield
    for token in POOL:
        anthropic_fake.set_credential_fault(token, None)


def send(
    proxy: ProxyProcess,
    *,
    token: str = ALICE,
    model: str = "claude-sonnet-4-5",
    session: str | None = None,
    headers: dict[str, str] | None = None,
    stream: bool = False,
    text: str = "hello",
) -> httpx.Response:
    sent = {"x-litellm-api-key": token, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    if session:
        sent["x-claude-code-session-id"] = session
    sent.update(headers or {})
    body = {
        "model": model,
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    }
    return httpx.post(f"{proxy.url}/v1/messages", content=json.dumps(body), headers=sent, timeout=60)


def leases_during_cooldowns(log: str, fp: str) -> list[float]:
    """Times the rotator leased token `fp` while that token was cooling, from its own log
    (DEBUG: each lease; INFO: each cooldown with its start and end on the pool's clock)."""

    def epoch(text: str) -> float:
        return datetime.fromisoformat(text).timestamp()  # ISO local time with its offset

    cooldowns = [
        (epoch(a), epoch(b)) for a, b in re.findall(rf"token {fp} cooling .*? from (\S+) until (\S+)", log)
    ]
    leases = [epoch(t) for t in re.findall(rf"token {fp} leased at (\S+)", log)]
    assert cooldowns and leases, "no cooldown or no lease of this token was logged: nothing was proven"
    return [t for t in leases for start, end in cooldowns if start < t < end]


def cooled_seconds(log: str) -> list[int]:
    """The rest of every rate-limited token, as the rotator logged it."""
    return [int(n) for n in re.findall(r"cooling (\d+)s \(rate_limited after HTTP 429\)", log)]


def credentials_seen(fake: FakeAnthropic) -> list[str | None]:
    return [r.credential for r in fake.requests.all() if r.path == "/v1/messages"]


def test_new_sessions_spread_and_a_session_sticks(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    sessions = [str(uuid.uuid4()) for _ in range(3)]
    for session in sessions:
        assert send(rotator_proxy, session=session).status_code == 200
    first_round = credentials_seen(anthropic_fake)
    assert sorted(first_round) == sorted(POOL)  # three new sessions, three tokens
    anthropic_fake.requests.clear()
    for session in sessions:
        for _ in range(2):
            assert send(rotator_proxy, session=session, stream=True).status_code == 200
    second_round = credentials_seen(anthropic_fake)
    assert second_round == [token for token in first_round for _ in range(2)]  # each session kept its token
    for request in anthropic_fake.requests.all():
        assert "oauth-2025-04-20" in request.betas


def test_a_429_fails_over_inside_the_same_request(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    session = str(uuid.uuid4())
    assert send(rotator_proxy, session=session).status_code == 200
    [sticky] = credentials_seen(anthropic_fake)
    anthropic_fake.rate_limit(sticky, retry_after=120)
    anthropic_fake.requests.clear()
    for stream in (False, True):
        response = send(rotator_proxy, session=session, stream=stream)
        assert response.status_code == 200, response.text
    seen = credentials_seen(anthropic_fake)
    assert seen[0] == sticky and sticky not in seen[1:]  # one 429, then never again while cooling
    statuses = [r.status for r in anthropic_fake.requests.all()]
    assert statuses == [429, 200, 200]
    # retry-after plus a bounded jitter (5%, so replicas do not all come back in the same second)
    assert any(120 <= s <= 126 for s in cooled_seconds(rotator_proxy.log_text()))


def test_cooldown_follows_the_unified_reset_header(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    session = str(uuid.uuid4())
    assert send(rotator_proxy, session=session).status_code == 200
    [sticky] = credentials_seen(anthropic_fake)
    anthropic_fake.set_credential_fault(sticky, None)
    fault = anthropic_fake.rate_limit(sticky, reset_at=time.time() + 300, retry_after=0)
    fault.headers.pop("retry-after", None)
    assert send(rotator_proxy, session=session).status_code == 200
    assert any(299 <= s <= 315 for s in cooled_seconds(rotator_proxy.log_text()))


def test_passthrough_client_sends_its_own_token_never_a_pooled_one(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    response = send(rotator_proxy, token=BOB, headers={"authorization": f"Bearer {CLIENT_OAUTH}"})
    assert response.status_code == 200, response.text
    assert credentials_seen(anthropic_fake) == [CLIENT_OAUTH]


def test_pool_client_may_ask_for_passthrough(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    response = send(
        rotator_proxy,
        headers={"authorization": f"Bearer {CLIENT_OAUTH}", "x-claude-token-mode": "passthrough"},
    )
    assert response.status_code == 200, response.text
    assert credentials_seen(anthropic_fake) == [CLIENT_OAUTH]


def test_rotate_mode_never_forwards_the_clients_own_token(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    response = send(rotator_proxy, headers={"authorization": f"Bearer {CLIENT_OAUTH}"})
    assert response.status_code == 200, response.text
    [used] = credentials_seen(anthropic_fake)
    assert used in POOL


def test_header_override_is_refused_without_pool_permission(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    response = send(rotator_proxy, token=BOB, headers={"x-claude-token-mode": "rotate"})
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "permission_error"
    assert "own Claude login" in response.json()["error"]["message"]
    assert response.headers.get("x-should-retry") == "false"
    assert credentials_seen(anthropic_fake) == []


@pytest.mark.parametrize("route", ["/v1/messages", "/v1/chat/completions"])
def test_a_passthrough_client_without_a_claude_credential_gets_a_401_with_the_fix_not_a_fallback(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, route: str
) -> None:
    served_before = len(openai_fake.requests.all())
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-litellm-api-key": BOB, "anthropic-version": "2023-06-01"}
    response = httpx.post(f"{rotator_proxy.url}{route}", json=body, headers=headers, timeout=60)
    assert response.status_code == 401, response.text
    assert response.headers.get("x-should-retry") == "false"
    error = response.json()["error"]
    if route == "/v1/messages":
        assert response.json()["type"] == "error" and error["type"] == "authentication_error"
    assert error["message"].startswith(
        "No Claude credential: your proxy token may not use the proxy's Claude pool"
    )
    assert "/login" in error["message"] and "ANTHROPIC_API_KEY" not in error["message"]
    # Refused before routing: no provider call, and the `sonnet -> deepseek` fallback did not answer instead.
    assert credentials_seen(anthropic_fake) == [] and len(openai_fake.requests.all()) == served_before


def test_third_party_anthropic_endpoint_never_gets_a_claude_credential(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    for token, headers in ((ALICE, {}), (BOB, {"authorization": f"Bearer {CLIENT_OAUTH}"})):
        response = send(rotator_proxy, token=token, model="glm", headers=headers)
        assert response.status_code == 200, response.text
    assert credentials_seen(anthropic_fake) == [GLM_KEY, GLM_KEY]
    for request in anthropic_fake.requests.all():
        assert "sk-ant-" not in json.dumps(request.headers)


def test_fallback_to_another_provider_carries_no_claude_credential(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat
) -> None:
    for token in POOL:
        anthropic_fake.rate_limit(token, retry_after=2)
    response = send(rotator_proxy, headers={"authorization": f"Bearer {CLIENT_OAUTH}"})
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"].startswith("fake-openai deepseek-chat")
    chat = [r for r in openai_fake.requests.all() if r.path.endswith("/chat/completions")]
    assert chat and all("sk-ant-" not in json.dumps(r.headers) + r.raw.decode() for r in chat)
    time.sleep(2.5)  # let the pool heal for the tests that follow


def test_all_cooling_answers_429_with_retry_after(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    for token in POOL:
        anthropic_fake.rate_limit(token, retry_after=3)
    response = send(rotator_proxy, model="solo")  # no fallback configured for this group
    assert response.status_code == 429, response.text
    assert response.json()["error"]["type"] == "rate_limit_error"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 4  # 3 s plus the reset jitter (at most 5%), rounded up
    seen = credentials_seen(anthropic_fake)
    attempts = len(seen)
    # Each healthy token tried once (earlier tests left some cooling), then the client is told
    # when to come back.
    assert 1 <= attempts <= 3 and len(set(seen)) == attempts
    assert send(rotator_proxy, model="solo").status_code == 429
    assert len(credentials_seen(anthropic_fake)) == attempts  # no upstream call while all are cooling
    time.sleep(retry_after + 0.5)


def test_200_concurrent_requests_with_one_limited_token(
    anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    limited = POOL[1]
    anthropic_fake.rate_limit(limited, retry_after=300)
    started = time.time()
    # A fresh proxy: the module's proxy has tokens cooling from earlier tests.
    env = rotator_env({"LITELLM_PLUGINS_LOG_LEVEL": "DEBUG"})  # leases logged with their time
    with ProxyProcess(rotator_config(anthropic_fake, openai_fake), tmp_path, env=env, name="load") as proxy:
        with ThreadPoolExecutor(max_workers=32) as executor:
            statuses = list(
                executor.map(
                    lambda i: send(proxy, model="solo", session=f"s-{i % 50}", stream=i % 2 == 0).status_code,
                    range(200),
                )
            )
        log = proxy.log_text()
    assert statuses.count(200) == 200, {s: statuses.count(s) for s in set(statuses)}
    hits = [r for r in anthropic_fake.requests.all() if r.credential == limited and r.received_at >= started]
    assert hits and all(r.status == 429 for r in hits)  # it met the limit, and only in flight
    assert leases_during_cooldowns(log, fingerprint(limited)) == []


def test_pool_status_route_and_cli(rotator_proxy: ProxyProcess, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.harness import MASTER_KEY, base_environment

    assert send(rotator_proxy, session=str(uuid.uuid4())).status_code == 200
    # An admin route: a valid proxy token is refused (403), no credential is not authenticated (401).
    refused = httpx.get(
        f"{rotator_proxy.url}/litellm_plugins/pool", headers={"Authorization": f"Bearer {ALICE}"}
    )
    assert refused.status_code == 403
    assert ALICE not in refused.text
    assert httpx.get(f"{rotator_proxy.url}/litellm_plugins/pool").status_code == 401
    report = httpx.get(
        f"{rotator_proxy.url}/litellm_plugins/pool", headers={"Authorization": f"Bearer {MASTER_KEY}"}
    ).json()
    assert report["mode"] == "rotate" and len(report["tokens"]) == len(POOL)
    assert sum(row["requests"] for row in report["tokens"]) >= 1
    cli = Path(sys.executable).parent / "litellm-plugins"
    env = {**base_environment(), "LITELLM_MASTER_KEY": MASTER_KEY}
    printed = subprocess.run(
        [str(cli), "pool", "--url", rotator_proxy.url, "--env-file", str(tmp_path / "none.env")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert "mode rotate" in printed.stdout and "fp:" in printed.stdout
    for secret in (*POOL, ALICE, BOB, CLIENT_OAUTH, MASTER_KEY):
        assert secret not in printed.stdout and secret not in json.dumps(report)


def test_one_clients_bad_credential_does_not_take_the_group_out_for_others(
    rotator_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    bad = send(
        rotator_proxy,
        token=BOB,
        model="solo",
        headers={"authorization": "Bearer sk-ant-oat01-revoked-" + "r" * 30},
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["type"] == "authentication_error"
    good = send(rotator_proxy, model="solo")
    assert good.status_code == 200, good.text
    assert [r.status for r in anthropic_fake.requests.all()] == [401, 200]


def test_aliased_claude_ids_reach_anthropic_unchanged_through_a_wildcard_group(
    anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    config = plugin_config(
        [
            {
                "model_name": "anthropic",
                "litellm_params": {"model": "anthropic/*", "api_base": anthropic_fake.url},
            }
        ],
        aliases={"claude-*": "anthropic"},
        callbacks=ROTATOR_CALLBACKS,
        plugins={"anthropic_api_bases": [anthropic_fake.url]},
    )
    with ProxyProcess(config, tmp_path, env=rotator_env(), name="wildcard") as proxy:
        for model in ("claude-opus-4-1", "claude-haiku-4-5-20251001"):
            assert send(proxy, model=model).status_code == 200
    assert [r.body["model"] for r in anthropic_fake.requests.all()] == [
        "claude-opus-4-1",
        "claude-haiku-4-5-20251001",
    ]
