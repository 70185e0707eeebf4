"""OAuth refresh in the real proxy: Claude logins given as access+refresh pairs refresh themselves.

The strict Anthropic fake accepts only each pair's current access token (a refreshed-away or
expired one gets the real 401 "OAuth token has expired."); the strict fake token endpoint
(`tests/fakes/anthropic_oauth.py`) rotates refresh tokens and counts every call. Two proxy
processes share a real `redis-server` for the one-refresh-per-pair test. Every proxy log is
scanned for every token the test used.
"""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from litellm_plugins.rotator.credential_store import OAuthPair, pair_to_document
from litellm_plugins.rotator.oauth_settings import entry_for
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.anthropic_oauth import FakeOAuthServer
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, ProxyProcess, RedisServer
from tests.integration.test_rotator_proxy import ALICE, rotator_config, send

pytestmark = pytest.mark.integration

ACCESS = "sk-ant-oat01-login-access-" + "a" * 40
REFRESH = "sk-ant-ort01-login-refresh-" + "b" * 40
PLAIN = "sk-ant-oat01-setup-token-" + "c" * 40  # a `claude setup-token` token: no refresh
DEAD_ACCESS = "sk-ant-oat01-dead-login-" + "d" * 40
DEAD_REFRESH = "sk-ant-ort01-revoked-" + "e" * 40  # unknown to the token endpoint


def expiring_in(seconds: float) -> float:
    return time.time() + seconds


def write_credentials(path: Path, access: str, refresh: str, expires_at: float) -> Path:
    pair = OAuthPair(access, refresh, expires_at, ("user:inference", "user:profile"), "max")
    path.write_text(json.dumps(pair_to_document(pair)), encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def entry_fingerprint(refresh: str) -> str:
    return entry_for(OAuthPair(ACCESS, refresh), "test").fingerprint


def authorization_seen(fake: FakeAnthropic) -> list[str]:
    """The bearer token of every /v1/messages request, whatever it got back."""
    return [
        (r.header("authorization") or "").removeprefix("Bearer ")
        for r in fake.requests.all()
        if r.path == "/v1/messages"
    ]


def assert_no_token_in(proxy: ProxyProcess, tokens: list[str]) -> None:
    log = proxy.log_text()
    leaked = [token[:18] for token in tokens if token in log]
    assert not leaked, f"tokens in {proxy.log_path.name}: {leaked}"
    assert "sk-ant-ort01-" not in log.replace("sk-ant-ort0***", "")  # no refresh token, even partial


def every_token(oauth: FakeOAuthServer) -> list[str]:
    issued = [token for pair in oauth.issued for token in (pair.access_token, pair.refresh_token)]
    return [ACCESS, REFRESH, PLAIN, DEAD_ACCESS, DEAD_REFRESH, *issued]


def oauth_env(oauth: FakeOAuthServer, **extra: str) -> dict[str, str]:
    return {
        "CLAUDE_TOKEN_MODE": "rotate",
        "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool",
        "CLAUDE_OAUTH_TOKEN_URL": oauth.token_url,
        **extra,
    }


@pytest.fixture()
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_keys=(), oauth_tokens=(ACCESS, PLAIN, DEAD_ACCESS)).start()
    yield fake
    fake.stop()


@pytest.fixture()
def oauth(anthropic_fake: FakeAnthropic) -> Iterator[FakeOAuthServer]:
    fake = FakeOAuthServer({REFRESH: ACCESS}, anthropic=anthropic_fake).start()
    yield fake
    fake.stop()


def test_a_pair_near_expiry_is_refreshed_before_the_request_then_again_on_a_401(
    anthropic_fake: FakeAnthropic, oauth: FakeOAuthServer, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    credentials = write_credentials(tmp_path / "claude.json", ACCESS, REFRESH, expiring_in(60))
    store = tmp_path / "state" / "claude-oauth.json"
    store.parent.mkdir()
    env = oauth_env(oauth, CLAUDE_OAUTH_CREDENTIALS=str(credentials), CLAUDE_OAUTH_STORE=str(store))
    with ProxyProcess(rotator_config(anthropic_fake, openai_fake), tmp_path / "p", env=env) as proxy:
        # Expires within the margin: refreshed before the request goes out.
        assert send(proxy).status_code == 200
        [first] = oauth.issued
        assert authorization_seen(anthropic_fake) == [first.access_token]  # never the stale token
        assert oauth.calls[0] == {
            "grant_type": "refresh_token",
            "refresh_token": REFRESH,
            "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
            "scope": "user:inference user:profile",
        }
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        stored = json.loads(store.read_text())["entries"][entry_fingerprint(REFRESH)]["claudeAiOauth"]
        assert (stored["accessToken"], stored["refreshToken"]) == (first.access_token, first.refresh_token)
        assert json.loads(credentials.read_text())["claudeAiOauth"]["refreshToken"] == REFRESH  # untouched

        # Fresh for hours now: the next request uses it without another refresh.
        anthropic_fake.requests.clear()
        assert send(proxy, stream=True).status_code == 200
        assert authorization_seen(anthropic_fake) == [first.access_token] and oauth.refreshes == 1

        # Anthropic revokes it early: the 401 refreshes the pair and the same request succeeds.
        anthropic_fake.expire_oauth_token(first.access_token)
        anthropic_fake.requests.clear()
        response = send(proxy)
        assert response.status_code == 200, response.text
        second = oauth.issued[1]
        assert authorization_seen(anthropic_fake) == [first.access_token, second.access_token]
        assert oauth.refreshes == 2 and oauth.calls[1]["refresh_token"] == first.refresh_token

        pool = httpx.get(
            f"{proxy.url}/litellm_plugins/pool", headers={"Authorization": f"Bearer {MASTER_KEY}"}
        )
        [row] = pool.json()["tokens"]
        assert row["fingerprint"] == entry_fingerprint(REFRESH) and row["healthy"] is True  # stable identity
        assert row["successes"] == 3
    assert_no_token_in(proxy, every_token(oauth))


def test_a_failing_refresh_logs_the_fingerprint_and_fails_over_to_another_token(
    anthropic_fake: FakeAnthropic, oauth: FakeOAuthServer, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    expires_ms = int(expiring_in(30) * 1000)
    env = oauth_env(
        oauth,
        CLAUDE_OAUTH_TOKENS=PLAIN,
        CLAUDE_OAUTH_PAIRS=f"{DEAD_ACCESS}:{DEAD_REFRESH}:{expires_ms}",
        CLAUDE_OAUTH_STORE=str(tmp_path / "claude-oauth.json"),
    )
    dead = entry_fingerprint(DEAD_REFRESH)
    with ProxyProcess(rotator_config(anthropic_fake, openai_fake), tmp_path / "p", env=env) as proxy:
        for _ in range(4):  # new sessions round-robin over both entries: the pair is chosen at least once
            response = send(proxy, session=str(uuid.uuid4()))
            assert response.status_code == 200, response.text
        assert set(authorization_seen(anthropic_fake)) == {PLAIN}  # the stale access token never went out
        assert len(oauth.calls) == 1 and oauth.refreshes == 0  # refused once, then the entry cools
        log = proxy.log_text()
        assert f"entry {dead}: OAuth refresh failed (HTTP 400 invalid_grant)" in log
        assert "log in again" in log
        pool = httpx.get(
            f"{proxy.url}/litellm_plugins/pool", headers={"Authorization": f"Bearer {MASTER_KEY}"}
        )
        rows = {row["fingerprint"]: row for row in pool.json()["tokens"]}
        assert rows[dead]["healthy"] is False and rows[dead]["reason"] == "refresh_rejected"
    assert_no_token_in(proxy, every_token(oauth))


@pytest.fixture()
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def test_two_proxies_sharing_redis_refresh_a_pair_once(
    anthropic_fake: FakeAnthropic,
    oauth: FakeOAuthServer,
    openai_fake: FakeOpenAIChat,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    oauth.delay = 1.0  # every worker asks while the first refresh is still in flight
    credentials = write_credentials(tmp_path / "claude.json", ACCESS, REFRESH, expiring_in(60))
    env = oauth_env(oauth, CLAUDE_OAUTH_CREDENTIALS=str(credentials), REDIS_URL=redis_server.url)
    config = rotator_config(anthropic_fake, openai_fake)
    with (
        ProxyProcess(config, tmp_path / "a", env=env, name="a") as first,
        ProxyProcess(config, tmp_path / "b", env=env, name="b") as second,
        ThreadPoolExecutor(max_workers=6) as pool,
    ):
        futures = [pool.submit(send, proxy, session=str(uuid.uuid4())) for proxy in (first, second) * 3]
        statuses = [future.result(timeout=120).status_code for future in futures]
        assert statuses == [200] * 6
        assert len(oauth.calls) == 1 and oauth.refreshes == 1
        assert set(authorization_seen(anthropic_fake)) == {oauth.issued[0].access_token}
        adopted = first.log_text().count("took the pair another worker refreshed") + second.log_text().count(
            "took the pair another worker refreshed"
        )
        assert adopted >= 1  # the proxy that did not refresh picked up the stored pair
    for proxy in (first, second):
        assert_no_token_in(proxy, every_token(oauth))
