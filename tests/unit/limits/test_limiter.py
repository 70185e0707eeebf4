from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from litellm_plugins.limits.limiter import Admission, Limiter, Refusal
from litellm_plugins.limits.metrics import RefusalCounter
from litellm_plugins.limits.settings import ClientLimits, LimitSettings
from litellm_plugins.limits.store import FallbackLimitStore, LocalLimitStore, limit_store

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(clients: dict[str, ClientLimits], default: ClientLimits | None = None) -> tuple[Limiter, Clock]:
    clock = Clock()
    return Limiter(LimitSettings(clients, default), limit_store(None), RefusalCounter(), clock), clock


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_requests_per_minute_refuses_the_request_that_crosses_and_no_other() -> None:
    limits, clock = limiter({"alice": ClientLimits(requests_per_minute=2)})

    async def scenario() -> list[Admission | Refusal]:
        results = [await limits.admit("alice")]
        clock.now += 10
        results.append(await limits.admit("alice"))
        clock.now += 5
        results.append(await limits.admit("alice"))  # the third in a minute
        results.append(await limits.admit("bob"))  # not limited
        clock.now += 45  # the first left the window
        results.append(await limits.admit("alice"))
        return results

    first, second, third, bob, later = run(scenario())
    assert isinstance(first, Admission) and isinstance(second, Admission)
    assert isinstance(third, Refusal)
    assert (third.status, third.limit, third.retry_after) == (429, "requests_per_minute", 45)
    assert "2 requests per minute" in third.message and "litellm_plugins.clients" in third.message
    assert isinstance(bob, Admission) and isinstance(later, Admission)
    assert limits.refusals.value("alice", "requests_per_minute") == 1


def test_the_default_entry_limits_clients_not_listed_only() -> None:
    limits, _ = limiter({"alice": ClientLimits(max_concurrent=5)}, ClientLimits(requests_per_minute=1))

    async def scenario() -> list[Admission | Refusal]:
        return [await limits.admit(name) for name in ("alice", "alice", "bob", "bob")]

    results = run(scenario())
    assert [type(r).__name__ for r in results] == ["Admission", "Admission", "Admission", "Refusal"]


def test_max_concurrent_holds_a_slot_until_released() -> None:
    limits, _ = limiter({"alice": ClientLimits(max_concurrent=1)})

    async def scenario() -> tuple[Any, Any, Any]:
        held = await limits.admit("alice")
        refused = await limits.admit("alice")
        assert isinstance(held, Admission)
        await limits.release(held)
        return held, refused, await limits.admit("alice")

    held, refused, again = run(scenario())
    assert isinstance(held, Admission) and held.slot is not None
    assert isinstance(refused, Refusal)
    assert (refused.status, refused.limit, refused.retry_after) == (429, "max_concurrent", 1)
    assert isinstance(again, Admission) and again.slot is not None


def test_a_request_refused_per_minute_gives_its_slot_back() -> None:
    limits, _ = limiter({"alice": ClientLimits(requests_per_minute=1, max_concurrent=2)})
    store = limits.store.local

    async def scenario() -> Any:
        first = await limits.admit("alice")
        second = await limits.admit("alice")
        return first, second

    first, second = run(scenario())
    assert isinstance(first, Admission) and isinstance(second, Refusal)
    assert second.limit == "requests_per_minute"
    assert store.slots_held("alice") == 1  # only the admitted request's


def test_tokens_per_day_serves_the_crossing_request_and_refuses_the_next_until_midnight() -> None:
    limits, clock = limiter({"alice": ClientLimits(tokens_per_day=1000)})

    async def scenario() -> list[Any]:
        results = [await limits.admit("alice")]
        await limits.record_tokens("alice", 900)
        results.append(await limits.admit("alice"))  # 900 < 1000: served, and it crosses
        await limits.record_tokens("alice", 300)
        results.append(await limits.admit("alice"))  # 1200 >= 1000
        clock.now += 12 * 3600  # 00:00 UTC the next day
        results.append(await limits.admit("alice"))
        return results

    first, crossing, after, tomorrow = run(scenario())
    assert isinstance(first, Admission) and isinstance(crossing, Admission)
    assert isinstance(after, Refusal)
    assert (after.status, after.limit, after.retry_after, after.should_retry) == (
        429,
        "tokens_per_day",
        43200,
        False,
    )
    assert "1200 of its 1000 tokens" in after.message
    assert isinstance(tomorrow, Admission)


def test_tokens_are_counted_only_for_clients_with_a_budget() -> None:
    limits, _ = limiter({"alice": ClientLimits(requests_per_minute=5)})
    run(limits.record_tokens("alice", 500))
    assert run(limits.store.tokens_used("alice", "2026-12-01")) == 0


def test_model_groups_refuse_with_403() -> None:
    limits, _ = limiter({"alice": ClientLimits(model_groups=("anthropic", "glm*"))})
    assert limits.group_refusal("alice", "glm-4.6") is None
    assert limits.group_refusal("bob", "openai") is None
    refusal = limits.group_refusal("alice", "openai")
    assert refusal is not None
    assert (refusal.status, refusal.limit, refusal.retry_after, refusal.should_retry) == (
        403,
        "model_groups",
        None,
        False,
    )
    assert "'openai'" in refusal.message and "anthropic, glm*" in refusal.message
    assert limits.refusals.value("alice", "model_groups") == 1


class BrokenRedis:
    """A shared store whose every call fails, as a Redis that is down."""

    calls = 0

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            BrokenRedis.calls += 1
            raise ConnectionError("redis down")

        return fail


def test_redis_down_counts_in_this_process_and_retries_redis_later() -> None:
    monotonic = Clock(0.0)
    store = FallbackLimitStore(BrokenRedis(), LocalLimitStore(), monotonic)  # type: ignore[arg-type]
    limits = Limiter(LimitSettings({"alice": ClientLimits(requests_per_minute=1, max_concurrent=1)}), store)
    BrokenRedis.calls = 0

    async def scenario() -> list[Any]:
        first = await limits.admit("alice")
        second = await limits.admit("alice")
        assert isinstance(first, Admission)
        await limits.release(first)
        return [first, second]

    first, second = run(scenario())
    assert isinstance(second, Refusal)  # still limited, per process
    assert first.slot is not None and not first.slot.shared
    assert BrokenRedis.calls == 1  # one failure, then this process's counts for a while
    monotonic.now += 10
    run(store.take_request("carol", 5, NOON))
    assert BrokenRedis.calls == 2
