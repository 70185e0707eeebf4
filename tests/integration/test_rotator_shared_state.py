"""Two proxy processes sharing a real redis-server honour each other's cooldowns and sessions, one
request at a time and under concurrent load from both."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

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


def _prompt(request: Any) -> str:
    """The first user message's text, as the fake received it (a string or text blocks)."""
    content = request.body["messages"][0]["content"]
    return content if isinstance(content, str) else " ".join(block.get("text", "") for block in content)


def test_under_load_from_both_proxies_no_request_uses_a_token_either_proxy_saw_limited(
    redis_server: RedisServer, anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    redis.Redis.from_url(redis_server.url).flushdb()  # no cooldown left from the tests above
    config = rotator_config(anthropic_fake, openai_fake)
    env = rotator_env({"REDIS_URL": redis_server.url})
    with (
        ProxyProcess(config, tmp_path / "a", env=env, name="a") as first,
        ProxyProcess(config, tmp_path / "b", env=env, name="b") as second,
    ):
        proxies = (first, second)
        sessions = [str(uuid.uuid4()) for _ in range(8)]

        def converse(index: int, turns: int, phase: str) -> list[int]:
            # Each turn of a conversation goes to the other proxy, as behind a load balancer
            # without sticky sessions.
            return [
                send(
                    proxies[(index + turn) % 2],
                    model="solo",
                    session=sessions[index],
                    text=f"{phase} session {index} turn {turn}",
                ).status_code
                for turn in range(turns)
            ]

        with ThreadPoolExecutor(len(sessions)) as workers:
            statuses = [s for run in workers.map(lambda i: converse(i, 4, "before"), range(8)) for s in run]
        assert statuses == [200] * 32
        tokens_of = {
            index: {
                r.credential for r in anthropic_fake.requests.all() if f"session {index} turn" in _prompt(r)
            }
            for index in range(len(sessions))
        }
        [limited] = {
            r.credential for r in anthropic_fake.requests.all() if _prompt(r) == "before session 0 turn 0"
        }

        # The first proxy meets the 429 (one request, so "after" is a clear moment) ...
        anthropic_fake.rate_limit(limited, retry_after=300)
        anthropic_fake.requests.clear()
        assert send(first, model="solo", session=sessions[0], text="the 429").status_code == 200
        assert next((r.credential, r.status) for r in anthropic_fake.requests.all()) == (limited, 429)
        seen_at = time.time()

        # ... then both proxies serve every conversation and new ones at once.
        def after(index: int) -> list[int]:
            fresh = str(uuid.uuid4())
            new = [
                send(proxy, model="solo", session=fresh, text=f"new {index}").status_code for proxy in proxies
            ]
            return converse(index, 6, "after") + new

        with ThreadPoolExecutor(len(sessions)) as workers:
            statuses = [s for run in workers.map(after, range(8)) for s in run]
        assert statuses == [200] * 64
        late = [
            r for r in anthropic_fake.requests.all() if r.received_at > seen_at and r.path == "/v1/messages"
        ]
        assert [(r.status, _prompt(r)) for r in late if r.credential == limited] == []  # from either proxy
        assert len(late) == 64  # and no failover was needed: nobody tried the limited token
        # The check had teeth: conversations on the limited token went on through both proxies.
        moved = [index for index, used in tokens_of.items() if limited in used]
        assert moved and all(len(tokens_of[index]) == 1 for index in tokens_of)  # stickiness was shared
