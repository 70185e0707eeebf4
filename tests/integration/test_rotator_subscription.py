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
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from litellm_plugins.core.redaction import fingerprint
from tests.fakes.anthropic_messages import FakeAnthropic, UnifiedWindows
from tests.harness import MASTER_KEY, ProxyProcess, base_environment, plugin_config

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


ENV = {
    "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
    "CLAUDE_TOKEN_MODE": "rotate",
    "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool",
}


@pytest.fixture(scope="module")
def proxy(anthropic_fake: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    process = ProxyProcess(
        subscription_config(anthropic_fake),
        tmp_path_factory.mktemp("subscription"),
        env=ENV,
        name="subscription",
    ).start()
    yield process
    process.stop()


@pytest.fixture()
def fresh_proxy(anthropic_fake: FakeAnthropic, tmp_path: Path) -> Iterator[ProxyProcess]:
    """A proxy whose pool has seen no response yet (what it learns is the test's alone)."""
    with ProxyProcess(
        subscription_config(anthropic_fake), tmp_path / "proxy", env=ENV, name="windows"
    ) as process:
        yield process


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


def token_row(report: dict[str, Any], token: str) -> dict[str, Any]:
    [row] = [row for row in report["tokens"] if row["fingerprint"] == fingerprint(token)]
    return row


def local(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().strftime("%a %d %b %H:%M")


def test_new_sessions_go_to_the_least_utilized_subscription(
    fresh_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, tmp_path: Path
) -> None:
    reset = float(int(time.time()) + 7200)
    for token, used in zip(POOL, (0.7, 0.1, 0.4), strict=True):
        anthropic_fake.set_unified_window(
            token, UnifiedWindows(five_hour=used, seven_day=0.2, five_hour_reset=reset)
        )
    # The pool knows nothing yet: the first three sessions spread and learn each token's windows.
    for _ in POOL:
        assert send(fresh_proxy, session=str(uuid.uuid4())).status_code == 200
    assert sorted(credentials_seen(anthropic_fake)) == sorted(POOL)
    anthropic_fake.requests.clear()
    for stream in (False, True, False, True):
        assert send(fresh_proxy, session=str(uuid.uuid4()), stream=stream).status_code == 200
    assert credentials_seen(anthropic_fake) == [POOL[1]] * 4  # the emptiest subscription

    report = pool_report(fresh_proxy)
    row = token_row(report, POOL[0])
    assert row["windows"]["5h"] == {"utilization": 0.7, "status": "allowed", "reset": reset}
    assert row["windows"]["7d"]["utilization"] == 0.2 and row["unified_status"] == "allowed"
    cli = Path(sys.executable).parent / "litellm-plugins"
    printed = subprocess.run(
        [str(cli), "pool", "--url", fresh_proxy.url, "--env-file", str(tmp_path / "none.env")],
        capture_output=True,
        text=True,
        env={**base_environment(), "LITELLM_MASTER_KEY": MASTER_KEY},
        timeout=30,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    [line] = [line for line in printed.stdout.splitlines() if fingerprint(POOL[0]) in line]
    assert f"70%  {local(reset)}" in line and "20% " in line
    assert str(int(reset)) not in printed.stdout  # local time, never epoch seconds
    for secret in (*POOL, API_KEY, ALICE, MASTER_KEY):
        assert secret not in printed.stdout and secret not in json.dumps(report)


def test_a_session_steps_away_from_a_token_in_allowed_warning(
    fresh_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    session = str(uuid.uuid4())
    assert send(fresh_proxy, session=session).status_code == 200
    [sticky] = credentials_seen(anthropic_fake)
    anthropic_fake.set_unified_window(sticky, UnifiedWindows(five_hour=0.85))  # allowed_warning
    # This answer still serves the session (a warning is no refusal) and tells the pool.
    assert send(fresh_proxy, session=session, stream=True).status_code == 200
    anthropic_fake.requests.clear()
    for stream in (False, True, False):
        assert send(fresh_proxy, session=session, stream=stream).status_code == 200
    seen = credentials_seen(anthropic_fake)
    assert seen[0] != sticky and seen == [seen[0]] * 3  # moved once, then sticks to where it moved
    for _ in range(4):
        assert send(fresh_proxy, session=str(uuid.uuid4())).status_code == 200
    assert sticky not in credentials_seen(anthropic_fake)
    assert all(r.status == 200 for r in anthropic_fake.requests.all())  # it rotated before any 429
    row = token_row(pool_report(fresh_proxy), sticky)
    assert row["warning"] is True and row["unified_status"] == "allowed_warning" and row["healthy"] is True
    assert f"token {fingerprint(sticky)} reports allowed_warning" in fresh_proxy.log_text()


def test_a_model_family_limit_cools_that_family_only(
    fresh_proxy: ProxyProcess, anthropic_fake: FakeAnthropic
) -> None:
    spent = POOL[0]
    opus_reset = time.time() + 600
    anthropic_fake.set_unified_window(
        spent, UnifiedWindows(five_hour=0.0, rejected_families={"opus": opus_reset})
    )
    for token in POOL[1:]:
        anthropic_fake.set_unified_window(token, UnifiedWindows(five_hour=0.5))
    for _ in POOL:  # learn every token's windows
        assert send(fresh_proxy, model="claude-haiku-4-5", session=str(uuid.uuid4())).status_code == 200
    anthropic_fake.requests.clear()

    # Opus on the spent token answers 429 (its weekly Opus limit) and fails over at once.
    opus = send(fresh_proxy, model="claude-opus-4-1", session=str(uuid.uuid4()))
    assert opus.status_code == 200, opus.text
    [(first, refused), (second, served)] = [(r.credential, r.status) for r in anthropic_fake.requests.all()]
    assert (first, refused, served) == (spent, 429, 200) and second in POOL[1:]
    anthropic_fake.requests.clear()
    for stream in (False, True):
        assert (
            send(fresh_proxy, model="claude-opus-4-1", session=str(uuid.uuid4()), stream=stream).status_code
            == 200
        )
    assert spent not in credentials_seen(anthropic_fake)  # opus stays away from it
    anthropic_fake.requests.clear()
    # Sonnet still goes to the spent token: the least utilized, and only its Opus is resting.
    for stream in (False, True):
        assert (
            send(fresh_proxy, model="claude-sonnet-4-5", session=str(uuid.uuid4()), stream=stream).status_code
            == 200
        )
    assert credentials_seen(anthropic_fake) == [spent, spent]
    row = token_row(pool_report(fresh_proxy), spent)
    assert row["healthy"] is True and set(row["family_cooling"]) == {"opus"}
    assert opus_reset <= row["family_cooling"]["opus"] <= opus_reset + 31  # the reset plus a bounded jitter
    assert f"token {fingerprint(spent)} cooling its opus models" in fresh_proxy.log_text()


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
