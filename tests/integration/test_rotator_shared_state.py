"""Two proxy processes sharing a real redis-server honour each other's cooldowns and sessions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from litellm_plugins.core.redaction import fingerprint
from tests.fakes.anthropic_messages import FakeAnthropic, UnifiedWindows
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import MASTER_KEY, ProxyProcess, RedisServer
from tests.integration.test_rotator_proxy import (  # noqa: F401 - fixtures shared with the rotator suite
    POOL,
    _reset_fake,
    anthropic_fake,
    credentials_seen,
    rotator_config,
    rotator_env,
    send,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def test_two_proxies_share_cooldowns_and_sessions(
    redis_server: RedisServer, anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    config = rotator_config(anthropic_fake, openai_fake)
    env = rotator_env({"REDIS_URL": redis_server.url})
    with (
        ProxyProcess(config, tmp_path / "a", env=env, name="a") as first,
        ProxyProcess(config, tmp_path / "b", env=env, name="b") as second,
    ):
        session = str(uuid.uuid4())
        assert send(first, model="solo", session=session).status_code == 200
        [sticky] = credentials_seen(anthropic_fake)
        anthropic_fake.rate_limit(sticky, retry_after=300)
        anthropic_fake.requests.clear()
        assert send(first, model="solo", session=session).status_code == 200
        [limited, moved_to] = credentials_seen(anthropic_fake)
        assert limited == sticky and moved_to != sticky
        anthropic_fake.requests.clear()

        # The second process never saw the 429 itself: without shared state its round-robin
        # would hand the limited token to one new session in three.
        for _ in range(9):
            assert send(second, model="solo", session=str(uuid.uuid4())).status_code == 200
        assert sticky not in credentials_seen(anthropic_fake)
        assert set(credentials_seen(anthropic_fake)) == set(POOL) - {sticky}

        # The conversation continues on the second process with the token it moved to.
        anthropic_fake.requests.clear()
        assert send(second, model="solo", session=session).status_code == 200
        assert credentials_seen(anthropic_fake) == [moved_to]


def test_a_warning_one_proxy_saw_moves_the_other_proxys_new_sessions(
    redis_server: RedisServer, anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    config = rotator_config(anthropic_fake, openai_fake)
    env = rotator_env({"REDIS_URL": redis_server.url})
    with (
        ProxyProcess(config, tmp_path / "a", env=env, name="a") as first,
        ProxyProcess(config, tmp_path / "b", env=env, name="b") as second,
    ):
        session = str(uuid.uuid4())
        assert send(first, model="solo", session=session).status_code == 200
        [warned] = credentials_seen(anthropic_fake)
        anthropic_fake.set_unified_window(warned, UnifiedWindows(five_hour=0.92))
        try:
            assert send(first, model="solo", session=session).status_code == 200  # the first proxy learns it
            anthropic_fake.requests.clear()
            # The second proxy never got an answer from that token: Redis told it.
            for _ in range(9):
                assert send(second, model="solo", session=str(uuid.uuid4())).status_code == 200
            assert warned not in credentials_seen(anthropic_fake)
            report = httpx.get(
                f"{second.url}/litellm_plugins/pool", headers={"Authorization": f"Bearer {MASTER_KEY}"}
            ).json()
            [row] = [row for row in report["tokens"] if row["fingerprint"] == fingerprint(warned)]
            assert row["warning"] is True and row["windows"]["5h"]["utilization"] == 0.92
            assert all(token not in str(report) for token in POOL)
        finally:
            anthropic_fake.set_unified_window(warned, None)
