"""The usage store on a real redis-server: shared counters, expiring window keys, and an outage
that degrades to counting in this process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from litellm_plugins.usage.record import UsageRecord
from litellm_plugins.usage.store import LOG_REDIS_DOWN, PREFIX, RedisUsageStore
from tests.harness import RedisServer, free_port

pytestmark = pytest.mark.integration

NOON = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC).timestamp()
ALICE = UsageRecord("alice", "sonnet", "anthropic/claude-sonnet-4-5", "fp:1a2b3c4d", 200, 10, 5, 100, 20)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("usage-store-redis")).start()
    yield server
    server.stop()


def test_two_stores_share_the_counters_and_window_keys_expire(redis_server: RedisServer) -> None:
    async def scenario() -> tuple[dict, dict, dict]:
        first, second = RedisUsageStore(redis_server.url), RedisUsageStore(redis_server.url)
        await first.add(ALICE, NOON - 2 * 3600)  # this morning: today and the total, not the hour
        await second.add(ALICE, NOON)
        await first.add(UsageRecord("bob", status=429), NOON)
        return (
            await second.read("hour", NOON),
            await first.read("today", NOON),
            await first.read("total", NOON),
        )

    hour, today, total = asyncio.run(scenario())
    assert hour[ALICE.dimensions]["requests"] == 1
    assert today[ALICE.dimensions]["cache_read_tokens"] == 200
    assert total[("bob", "-", "-", "-", 429)] == {
        "requests": 1,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
    }
    client = redis.Redis.from_url(redis_server.url)
    keys = sorted(key.decode() for key in client.scan_iter(match=f"{PREFIX}:*"))
    assert keys == sorted(
        [
            f"{PREFIX}:minute:{int((NOON - 2 * 3600) // 60)}",
            f"{PREFIX}:minute:{int(NOON // 60)}",
            f"{PREFIX}:day:2026-12-01",
            f"{PREFIX}:total",
        ]
    )
    assert 0 < client.ttl(f"{PREFIX}:minute:{int(NOON // 60)}") <= 7200
    assert 0 < client.ttl(f"{PREFIX}:day:2026-12-01") <= 172800
    assert client.ttl(f"{PREFIX}:total") == -1  # the total is kept
    values = b" ".join(v for key in keys for pair in client.hgetall(key).items() for v in pair)
    assert b"sk-" not in values


def test_a_redis_outage_counts_in_this_process(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisUsageStore(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    async def scenario() -> dict:
        await store.add(ALICE, NOON)
        await store.add(ALICE, NOON + 1)
        return await store.read("today", NOON + 1)

    with caplog.at_level(logging.WARNING, logger="litellm_plugins.usage.store"):
        today = asyncio.run(scenario())
    assert today[ALICE.dimensions]["requests"] == 2
    warnings = [r for r in caplog.records if r.msg == LOG_REDIS_DOWN]
    assert len(warnings) == 1  # logged once per outage, not per request
