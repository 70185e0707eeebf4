"""Unit tests for litellm_plugins.rotator.token_pool: selection strategies, stickiness, cooldowns, status."""

from __future__ import annotations

import random
import sys
import threading

import pytest

from litellm_plugins.core.redaction import fingerprint
from litellm_plugins.rotator.token_pool import Lease, TokenPool


def is_cooling(pool: TokenPool, fp: str) -> bool:
    """Whether `fp` is cooling, as the pool's status (what an operator sees) reports it."""
    return any(row["fingerprint"] == fp and not row["healthy"] for row in pool.status())


TOKENS = tuple(f"sk-ant-oat01-{letter * 40}" for letter in "ABCDEFGH")
START = 1_700_000_000.0


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def make_pool(clock: FakeClock, count: int = 3, strategy: str = "balanced", **options: float) -> TokenPool:
    return TokenPool("claude", TOKENS[:count], strategy, clock=clock, **options)  # type: ignore[arg-type]


def picks(pool: TokenPool, times: int, **select: object) -> list[str]:
    chosen = []
    for _ in range(times):
        lease = pool.select(**select)  # type: ignore[arg-type]
        assert lease is not None
        chosen.append(lease.fingerprint)
    return chosen


# -- balanced ---------------------------------------------------------------------------------
def test_balanced_round_robins_over_every_token(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, c = pool.fingerprints
    assert picks(pool, 7) == [a, b, c, a, b, c, a]


def test_balanced_skips_cooling_token_and_takes_it_back_when_it_heals(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, c = pool.fingerprints
    pool.cool(b, 30, "rate_limited")
    assert picks(pool, 4) == [a, c, a, c]
    clock.advance(30)
    assert set(picks(pool, 3)) == {a, b, c}


def test_lease_carries_pool_fingerprint_and_token(clock: FakeClock) -> None:
    pool = make_pool(clock, 1)
    lease = pool.select()
    assert isinstance(lease, Lease)
    assert (lease.pool, lease.fingerprint, lease.token) == ("claude", fingerprint(TOKENS[0]), TOKENS[0])
    assert TOKENS[0] not in repr(lease) and TOKENS[0] not in str(lease)


# -- sequential -------------------------------------------------------------------------------
def test_sequential_uses_first_healthy_token_until_it_cools(clock: FakeClock) -> None:
    pool = make_pool(clock, 3, "sequential")
    a, b, c = pool.fingerprints
    assert picks(pool, 3) == [a, a, a]
    pool.cool(a, 60, "rate_limited")
    assert picks(pool, 3) == [b, b, b]
    pool.cool(b, 120, "rate_limited")
    assert picks(pool, 2) == [c, c]
    clock.advance(60)  # a heals first and is first again, although b is still cooling
    assert picks(pool, 2) == [a, a]
    clock.advance(60)
    assert picks(pool, 2) == [a, a]
    pool.cool(a, 10, "overloaded")
    assert picks(pool, 1) == [b]


def test_sequential_returns_to_first_token_when_it_heals(clock: FakeClock) -> None:
    pool = make_pool(clock, 3, "sequential")
    a, b, _ = pool.fingerprints
    pool.cool(a, 5, "overloaded")
    assert picks(pool, 1) == [b]
    clock.advance(5)
    assert picks(pool, 1) == [a]


def test_sequential_heap_stays_bounded_over_cool_heal_cycles(clock: FakeClock) -> None:
    # A cooled index deeper than the heap's top stays in the heap; healing must not add it again.
    pool = make_pool(clock, 5, "sequential")
    fps = pool.fingerprints
    for cycle in range(200):
        pool.cool(fps[cycle % 4 + 1], 10, "rate_limited")
        clock.advance(11)
        assert pool.select() is not None
        pool.cool(fps[0], 1, "overloaded")
        pool.select()
        clock.advance(2)
        pool.select()
    assert len(pool._sequential) <= len(pool)
    assert sorted(set(pool._sequential)) == sorted(pool._sequential)


def test_sequential_exclusion_does_not_lose_the_excluded_token(clock: FakeClock) -> None:
    pool = make_pool(clock, 3, "sequential")
    a, b, _ = pool.fingerprints
    assert picks(pool, 1, exclude={a}) == [b]
    assert picks(pool, 1) == [a]


# -- stickiness -------------------------------------------------------------------------------
def test_session_sticks_to_its_token_while_healthy(clock: FakeClock) -> None:
    pool = make_pool(clock)
    first = picks(pool, 1, session="s1")[0]
    assert picks(pool, 5, session="s1") == [first] * 5


def test_new_sessions_spread_over_tokens(clock: FakeClock) -> None:
    pool = make_pool(clock)
    chosen = [picks(pool, 1, session=f"s{i}")[0] for i in range(3)]
    assert sorted(chosen) == sorted(pool.fingerprints)


def test_session_moves_when_its_token_cools_and_stays_on_the_new_one(clock: FakeClock) -> None:
    pool = make_pool(clock)
    first = picks(pool, 1, session="s1")[0]
    pool.cool(first, 30, "rate_limited")
    moved = picks(pool, 1, session="s1")[0]
    assert moved != first
    clock.advance(31)  # the old token healed; the session keeps the cache it now has
    assert picks(pool, 3, session="s1") == [moved] * 3


def test_stickiness_expires_after_sticky_seconds(clock: FakeClock) -> None:
    pool = make_pool(clock, 3, sticky_seconds=10)
    a, b, _ = pool.fingerprints
    assert picks(pool, 1, session="s1") == [a]
    clock.advance(5)
    assert picks(pool, 1, session="s1") == [a]  # refreshes the sticky period
    clock.advance(9)
    assert picks(pool, 1, session="s1") == [a]
    clock.advance(10)
    assert picks(pool, 1, session="s1") == [b]  # expired: the ring's next token


def test_session_lru_is_bounded_by_max_sessions(clock: FakeClock) -> None:
    pool = make_pool(clock, 4, max_sessions=2)
    a, b, c, d = pool.fingerprints
    assert [picks(pool, 1, session=s)[0] for s in ("s1", "s2")] == [a, b]
    assert picks(pool, 1, session="s1") == [a]  # touched: s2 is now the oldest
    assert picks(pool, 1, session="s3") == [c]  # evicts s2
    assert len(pool._sessions) == 2
    assert picks(pool, 1, session="s1") == [a]
    assert picks(pool, 1, session="s2") == [d]  # forgotten: a fresh round-robin pick


# -- exclude and preferred --------------------------------------------------------------------
def test_exclude_skips_tokens_and_returns_none_when_all_are_excluded(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, c = pool.fingerprints
    assert picks(pool, 4, exclude={a}) == [b, c, b, c]
    assert pool.select(exclude={a, b, c}) is None
    assert pool.select(exclude=["fp:unknown"]) is not None


def test_exclude_overrides_the_session_token(clock: FakeClock) -> None:
    pool = make_pool(clock)
    first = picks(pool, 1, session="s1")[0]
    other = picks(pool, 1, session="s1", exclude={first})[0]
    assert other != first
    assert picks(pool, 1, session="s1") == [other]


def test_preferred_token_is_used_when_healthy(clock: FakeClock) -> None:
    pool = make_pool(clock)
    _, _, c = pool.fingerprints
    assert picks(pool, 3, preferred=c) == [c, c, c]
    pool.cool(c, 10, "rate_limited")
    assert c not in picks(pool, 3, preferred=c)
    assert c not in picks(pool, 2, preferred=c, exclude={c})


def test_unknown_preferred_token_falls_back_to_rotation(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, _ = pool.fingerprints
    assert picks(pool, 2, preferred="fp:00000000") == [a, b]


def test_session_token_wins_over_preferred(clock: FakeClock) -> None:
    pool = make_pool(clock)
    first = picks(pool, 1, session="s1")[0]
    other = next(fp for fp in pool.fingerprints if fp != first)
    assert picks(pool, 1, session="s1", preferred=other) == [first]


def test_preferred_binds_a_new_session(clock: FakeClock) -> None:
    pool = make_pool(clock)
    _, _, c = pool.fingerprints
    assert picks(pool, 1, session="s1", preferred=c) == [c]
    assert picks(pool, 2, session="s1") == [c, c]


# -- cooldowns --------------------------------------------------------------------------------
def test_cooldown_ends_exactly_at_its_end(clock: FakeClock) -> None:
    pool = make_pool(clock, 1)
    (a,) = pool.fingerprints
    assert pool.cool(a, 30, "rate_limited") == START + 30
    clock.advance(29.5)
    assert is_cooling(pool, a)
    assert pool.select() is None
    clock.advance(0.5)
    assert not is_cooling(pool, a)
    assert picks(pool, 1) == [a]


def test_cool_keeps_the_longer_of_two_cooldowns(clock: FakeClock) -> None:
    pool = make_pool(clock, 2)
    a, b = pool.fingerprints
    assert pool.cool(a, 100, "invalid") == START + 100
    assert pool.cool(a, 10, "rate_limited") == START + 100  # shorter: the first one stands
    clock.advance(50)
    assert is_cooling(pool, a)
    assert pool.status()[0]["reason"] == "invalid"
    assert pool.cool(b, 10, "overloaded") == START + 60
    assert pool.cool(b, 100, "rate_limited") == START + 150  # longer: it extends
    clock.advance(20)  # past the first, superseded end of b's cooldown
    assert is_cooling(pool, b)
    assert pool.select(exclude={a}) is None
    clock.advance(80)
    assert set(picks(pool, 2)) == {a, b}


def test_cool_counts_failures_and_rate_limits(clock: FakeClock) -> None:
    pool = make_pool(clock, 1)
    (a,) = pool.fingerprints
    pool.cool(a, 10, "rate_limited")
    pool.cool(a, 5, "rate_limited")
    pool.cool(a, 5, "invalid")
    row = pool.status()[0]
    assert (row["rate_limits"], row["failures"]) == (2, 3)


def test_cool_unknown_fingerprint_is_ignored(clock: FakeClock) -> None:
    pool = make_pool(clock)
    assert pool.cool("fp:00000000", 10, "rate_limited") is None
    pool.cool_until("fp:00000000", START + 10, "rate_limited")
    pool.record_success("fp:00000000")
    assert not is_cooling(pool, "fp:00000000")
    assert len(picks(pool, 3)) == 3


def test_cool_until_adopts_a_later_cooldown_only(clock: FakeClock) -> None:
    pool = make_pool(clock, 2)
    a, b = pool.fingerprints
    pool.cool_until(a, START - 1, "rate_limited")  # already over
    assert not is_cooling(pool, a)
    pool.cool_until(a, START + 40, "rate_limited")
    assert is_cooling(pool, a)
    pool.cool_until(a, START + 20, "overloaded")  # shorter than the one in force
    assert picks(pool, 2) == [b, b]
    clock.advance(20)
    assert is_cooling(pool, a)
    clock.advance(20)
    assert not is_cooling(pool, a)
    assert a in picks(pool, 2)


def test_all_cooling_select_is_none_and_wait_is_the_earliest_end(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, c = pool.fingerprints
    assert pool.seconds_until_available() == 0.0
    pool.cool(a, 300, "rate_limited")
    pool.cool(b, 45, "rate_limited")
    assert pool.seconds_until_available() == 0.0  # c is healthy
    pool.cool(c, 120, "rate_limited")
    assert pool.select() is None
    assert pool.select(session="s1") is None
    assert pool.seconds_until_available() == pytest.approx(45)
    clock.advance(40)
    assert pool.seconds_until_available() == pytest.approx(5)
    clock.advance(5)
    assert pool.seconds_until_available() == 0.0
    assert picks(pool, 2) == [b, b]


def test_empty_pool_selects_nothing(clock: FakeClock) -> None:
    pool = TokenPool("empty", [], clock=clock)
    assert len(pool) == 0
    assert pool.select(session="s1") is None
    assert pool.seconds_until_available() == 0.0
    assert pool.status() == []


# -- identity, status, validation -------------------------------------------------------------
def test_duplicate_tokens_are_deduplicated_in_declaration_order(clock: FakeClock) -> None:
    pool = TokenPool("claude", [TOKENS[1], TOKENS[0], TOKENS[1], TOKENS[0]], clock=clock)
    assert len(pool) == 2
    assert pool.fingerprints == [fingerprint(TOKENS[1]), fingerprint(TOKENS[0])]
    assert picks(pool, 4) == pool.fingerprints * 2


def test_owns_answers_with_the_fingerprint(clock: FakeClock) -> None:
    pool = make_pool(clock, 2)
    assert pool.owns(TOKENS[0]) == fingerprint(TOKENS[0])
    assert pool.owns(TOKENS[5]) is None
    assert pool.owns("") is None
    assert pool.owns(None) is None


def test_status_rows_show_fingerprints_and_never_tokens(clock: FakeClock) -> None:
    pool = make_pool(clock, 3)
    a, b, c = pool.fingerprints
    lease = pool.select(session="s1")
    assert lease is not None
    pool.record_success(lease.fingerprint)
    pool.cool(b, 60, "rate_limited")
    rows = pool.status()
    assert [row["fingerprint"] for row in rows] == [a, b, c]
    assert rows[0] == {
        "pool": "claude",
        "fingerprint": a,
        "healthy": True,
        "cooling_until": None,
        "reason": "",
        "requests": 1,
        "successes": 1,
        "rate_limits": 0,
        "failures": 0,
        # No response has reported subscription windows yet.
        "unified_status": None,
        "representative_claim": None,
        "unified_reset": None,
        "windows": {},
        "warning": False,
        "utilization": None,
        "family_cooling": {},
        "limits_seen_at": None,
    }
    assert rows[1]["healthy"] is False
    assert rows[1]["cooling_until"] == START + 60
    assert rows[1]["reason"] == "rate_limited"
    rendered = str(rows) + repr(rows) + repr(lease) + repr(pool.__dict__)
    for token in TOKENS[:3]:
        assert token not in rendered
        assert token[13:] not in rendered
    clock.advance(60)
    healed = pool.status()[1]
    assert (healed["healthy"], healed["cooling_until"], healed["reason"]) == (True, None, "")
    assert (healed["rate_limits"], healed["failures"]) == (1, 1)


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="strategy must be one of") as error:
        TokenPool("claude", TOKENS[:2], "random")
    assert TOKENS[0] not in str(error.value)


# -- concurrency ------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["balanced", "sequential"])
def test_select_never_returns_a_token_cooled_before_it_started(strategy: str) -> None:
    """8 threads select and cool at one fixed time: a cooled token never comes back."""
    tokens = [f"sk-ant-oat01-thread{i:03d}" + "x" * 30 for i in range(40)]
    clock = FakeClock()
    pool = TokenPool("claude", tokens, strategy, clock=clock, max_sessions=50)
    fps = pool.fingerprints
    coolable = fps[:20]  # the other half stays healthy, so select always has an answer
    cooled: set[str] = set()
    cooled_lock = threading.Lock()
    errors: list[str] = []
    selects = [0] * 8
    barrier = threading.Barrier(8)

    def worker(number: int) -> None:
        rng = random.Random(number)
        barrier.wait()
        for step in range(1500):
            with cooled_lock:
                cooled_before = frozenset(cooled)
            roll = rng.random()
            if roll < 0.15:
                fp = rng.choice(coolable)
                if rng.random() < 0.5:
                    pool.cool(fp, rng.uniform(1, 100), "rate_limited")
                else:
                    pool.cool_until(fp, clock.now + rng.uniform(1, 100), "overloaded")
                with cooled_lock:
                    cooled.add(fp)
                continue
            session = f"s{rng.randrange(100)}" if roll < 0.8 else None
            exclude = {rng.choice(fps)} if roll > 0.9 else ()
            preferred = rng.choice(fps) if rng.random() < 0.3 else None
            lease = pool.select(session=session, exclude=exclude, preferred=preferred)
            selects[number] += 1
            if lease is None:
                errors.append(f"thread {number} step {step}: no token although 20 are healthy")
            elif lease.fingerprint in cooled_before:
                errors.append(f"thread {number} step {step}: got {lease.fingerprint}, cooled before select")
            elif lease.fingerprint in exclude:
                errors.append(f"thread {number} step {step}: got excluded {lease.fingerprint}")
            else:
                pool.record_success(lease.fingerprint)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often so the lock really is contended
    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(previous)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    rows = pool.status()
    assert sum(row["requests"] for row in rows) == sum(selects)  # type: ignore[misc]
    assert sum(row["successes"] for row in rows) == sum(selects)  # type: ignore[misc]
    assert {row["fingerprint"] for row in rows if not row["healthy"]} == cooled
    assert len(pool._sessions) <= 50
    assert len(pool._sequential) <= len(pool)
