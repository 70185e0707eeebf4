"""Unit tests for the subscription-aware pool: Anthropic's unified rate-limit headers, selection
by utilization, early rotation on `allowed_warning`, family-scoped cooling and reset jitter."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

import pytest

from litellm_plugins.cli.commands import format_pool_status
from litellm_plugins.core.metadata_keys import ROTATOR_STATE
from litellm_plugins.rotator.hook import TokenRotator
from litellm_plugins.rotator.settings import RotatorSettings
from litellm_plugins.rotator.token_pool import TokenPool
from litellm_plugins.rotator.unified_limits import (
    MAX_JITTER_SECONDS,
    UnifiedLimits,
    jitter,
    limits_document,
    limits_from_document,
    model_family,
    parse_unified_limits,
)

TOKENS = tuple(f"sk-ant-oat01-{letter * 40}" for letter in "ABCDEF")
START = 1_800_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def unified(
    five_hour: float = 0.1,
    seven_day: float = 0.1,
    status: str = "allowed",
    claim: str = "five_hour",
    reset: float = START + 3600,
    **extra: str,
) -> dict[str, str]:
    """Headers as Anthropic sends them on a subscription's response (mixed case, as HTTP allows)."""
    return {
        "Anthropic-Ratelimit-Unified-Status": status,
        "anthropic-ratelimit-unified-reset": str(int(reset)),
        "anthropic-ratelimit-unified-representative-claim": claim,
        "anthropic-ratelimit-unified-5h-utilization": str(five_hour),
        "anthropic-ratelimit-unified-5h-status": "allowed_warning" if five_hour >= 0.8 else "allowed",
        "anthropic-ratelimit-unified-5h-reset": str(int(reset)),
        "anthropic-ratelimit-unified-7d-utilization": str(seven_day),
        "anthropic-ratelimit-unified-7d-status": "allowed",
        "anthropic-ratelimit-unified-7d-reset": str(int(START + 5 * 86400)),
        "anthropic-ratelimit-unified-fallback-percentage": "0.5",
        **extra,
    }


def limits(**kwargs: Any) -> UnifiedLimits:
    return parse_unified_limits(unified(**kwargs))


def make_pool(clock: FakeClock, count: int = 3, strategy: str = "balanced") -> TokenPool:
    return TokenPool("claude", TOKENS[:count], strategy, clock=clock)


SESSION_NUMBERS = itertools.count()


def new_sessions(pool: TokenPool, count: int, **select: Any) -> list[str]:
    """The tokens `count` sessions never seen before are given."""
    chosen = []
    for _ in range(count):
        lease = pool.select(session=f"new-session-{next(SESSION_NUMBERS)}", **select)
        assert lease is not None
        chosen.append(lease.fingerprint)
    return chosen


# -- reading the headers ---------------------------------------------------------------------
def test_the_unified_headers_are_read_in_any_case() -> None:
    found = parse_unified_limits(unified(five_hour=0.42, seven_day=0.13))
    assert (found.status, found.claim, found.reset) == ("allowed", "five_hour", START + 3600)
    assert found.windows["5h"].utilization == pytest.approx(0.42)
    assert found.windows["5h"].status == "allowed"
    assert found.windows["7d"].utilization == pytest.approx(0.13)
    assert found.windows["7d"].reset == START + 5 * 86400
    assert found.family is None


def test_headers_without_unified_limits_or_with_garbage_give_nothing() -> None:
    assert parse_unified_limits({"content-type": "application/json"}).empty
    garbage = parse_unified_limits(
        {
            "anthropic-ratelimit-unified-status": "sideways",
            "anthropic-ratelimit-unified-5h-utilization": "nan",
            "anthropic-ratelimit-unified-5h-reset": "soon",
        }
    )
    assert garbage.empty and garbage.windows == {}


@pytest.mark.parametrize(
    ("claim", "seven_day_status", "family"),
    [
        ("seven_day_opus", "allowed", "opus"),
        ("seven_day_sonnet", "allowed", "sonnet"),
        ("seven_day_opus", "rejected", None),  # the shared weekly window is spent: the whole token
        ("five_hour", "allowed", None),
        ("seven_day", "allowed", None),
    ],
)
def test_a_rejection_claimed_by_a_model_family_is_scoped_to_it(
    claim: str, seven_day_status: str, family: str | None
) -> None:
    headers = unified(status="rejected", claim=claim)
    headers["anthropic-ratelimit-unified-7d-status"] = seven_day_status
    assert parse_unified_limits(headers).family == family


def test_an_allowed_family_claim_cools_nothing() -> None:
    assert limits(status="allowed", claim="seven_day_opus").family is None


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-opus-4-1", "opus"),
        ("anthropic/claude-sonnet-4-5", "sonnet"),
        ("claude-haiku-4-5-20251001", "haiku"),
        ("glm-4.6", None),
        ("", None),
    ],
)
def test_model_family(model: str, family: str | None) -> None:
    assert model_family(model) == family


def test_limits_survive_the_shared_state_document() -> None:
    found = limits(five_hour=0.85, status="allowed_warning")
    document = limits_from_document(limits_document(found, START, {"opus": START + 60}))
    assert document == (found, START, {"opus": START + 60})
    assert limits_from_document({"windows": "not a mapping"}) is None
    assert limits_from_document("junk") is None


# -- jitter ----------------------------------------------------------------------------------
@pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999999])
@pytest.mark.parametrize("seconds", [0.0, 1.0, 60.0, 300.0, 7 * 86400.0])
def test_jitter_is_bounded_and_follows_the_random_source(draw: float, seconds: float) -> None:
    extra = jitter(seconds, lambda: draw)
    bound = min(0.05 * seconds, MAX_JITTER_SECONDS)
    assert 0.0 <= extra <= bound
    assert extra == pytest.approx(bound * draw)


def test_jitter_never_makes_a_wait_shorter() -> None:
    assert jitter(-5.0, lambda: 0.9) == 0.0
    assert jitter(100.0, lambda: -1.0) == 0.0
    assert jitter(100.0, lambda: 7.0) == pytest.approx(5.0)


# -- selection by utilization ----------------------------------------------------------------
def test_new_sessions_go_to_the_least_utilized_token(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, c = pool.fingerprints
    pool.record_limits(a, limits(five_hour=0.9, seven_day=0.2))
    pool.record_limits(b, limits(five_hour=0.1, seven_day=0.3))
    pool.record_limits(c, limits(five_hour=0.5, seven_day=0.1))
    assert new_sessions(pool, 4) == [b, b, b, b]  # b's busiest window (0.3) is the lowest
    pool.record_limits(b, limits(five_hour=0.6, seven_day=0.3))
    assert new_sessions(pool, 2) == [c, c]


def test_equal_utilization_keeps_round_robin(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, c = pool.fingerprints
    for fp in (a, b, c):
        pool.record_limits(fp, limits(five_hour=0.2, seven_day=0.2))
    assert new_sessions(pool, 6) == [a, b, c, a, b, c]


def test_a_reset_window_no_longer_counts(clock: FakeClock) -> None:
    pool = make_pool(clock, 2)
    a, b = pool.fingerprints
    pool.record_limits(a, limits(five_hour=0.7, seven_day=0.0, reset=START + 60))
    pool.record_limits(b, limits(five_hour=0.3, seven_day=0.0, reset=START + 3600))
    assert new_sessions(pool, 1) == [b]
    clock.advance(61)  # a's 5-hour window reset: it is the emptier one now
    assert new_sessions(pool, 1) == [a]


def test_an_older_report_does_not_replace_a_newer_one(clock: FakeClock) -> None:
    pool = make_pool(clock, 1)
    [a] = pool.fingerprints
    assert pool.record_limits(a, limits(five_hour=0.5)) is True
    assert pool.record_limits(a, limits(five_hour=0.9), seen_at=START - 10) is False
    assert pool.limits_of(a)[0] == limits(five_hour=0.5)
    assert pool.record_limits(a, limits(five_hour=0.504)) is False  # not news for other workers


# -- allowed_warning -------------------------------------------------------------------------
def test_a_session_steps_away_from_a_warned_token_while_a_healthier_one_exists(clock: FakeClock) -> None:
    pool = make_pool(clock)
    a, b, c = pool.fingerprints
    first = pool.select(session="conversation")
    assert first is not None and first.fingerprint == a
    assert pool.select(session="conversation").fingerprint == a  # type: ignore[union-attr]
    pool.record_limits(a, limits(five_hour=0.85, status="allowed_warning", reset=START + 600))
    moved = pool.select(session="conversation")
    assert moved is not None and moved.fingerprint in (b, c)
    # The session now sticks to where it moved, and new sessions avoid the warned token.
    assert pool.select(session="conversation").fingerprint == moved.fingerprint  # type: ignore[union-attr]
    assert a not in new_sessions(pool, 6)
    assert pool.status()[0]["warning"] is True


def test_a_warned_token_still_serves_when_every_token_is_warned(clock: FakeClock) -> None:
    pool = make_pool(clock, 2)
    a, b = pool.fingerprints
    assert pool.select(session="s").fingerprint == a  # type: ignore[union-attr]
    for fp in (a, b):
        pool.record_limits(fp, limits(five_hour=0.9, status="allowed_warning", reset=START + 600))
    assert pool.select(session="s").fingerprint == a  # type: ignore[union-attr]  # nothing healthier: stays
    pool.cool(b, 60, "rate_limited")
    assert pool.select(session="other").fingerprint == a  # type: ignore[union-attr]


def test_a_warning_lapses_when_its_window_resets(clock: FakeClock) -> None:
    pool = make_pool(clock, 2)
    a, b = pool.fingerprints
    pool.record_limits(a, limits(five_hour=0.0, seven_day=0.0, status="allowed_warning", reset=START + 30))
    pool.record_limits(b, limits(five_hour=0.0, seven_day=0.0))
    assert new_sessions(pool, 2) == [b, b]
    clock.advance(31)
    assert new_sessions(pool, 2) == [a, b]


def test_sequential_passes_over_a_warned_first_token(clock: FakeClock) -> None:
    pool = make_pool(clock, 3, "sequential")
    a, b, _ = pool.fingerprints
    assert new_sessions(pool, 2) == [a, a]
    pool.record_limits(a, limits(status="allowed_warning", reset=START + 600))
    assert new_sessions(pool, 2) == [b, b]


# -- family-scoped cooling -------------------------------------------------------------------
def test_a_family_limit_rests_that_family_only(clock: FakeClock) -> None:
    pool = make_pool(clock, 2)
    a, b = pool.fingerprints
    pool.cool_family(a, "opus", 120)
    assert set(new_sessions(pool, 4, family="opus")) == {b}
    assert set(new_sessions(pool, 4, family="sonnet")) == {a, b}
    assert pool.status()[0]["healthy"] is True
    assert pool.status()[0]["family_cooling"] == {"opus": START + 120}
    pool.cool_family(b, "opus", 60)
    assert pool.select(family="opus") is None
    assert pool.seconds_until_available("opus") == pytest.approx(60)
    assert pool.seconds_until_available("sonnet") == 0.0
    clock.advance(60)
    assert set(new_sessions(pool, 2, family="opus")) == {b}
    clock.advance(60)
    assert set(new_sessions(pool, 4, family="opus")) == {a, b}
    assert pool.status()[0]["family_cooling"] == {}


# -- the hook: what a response's headers do --------------------------------------------------
def rotator(clock: FakeClock, draw: float = 0.5, count: int = 2) -> TokenRotator:
    return TokenRotator(RotatorSettings(claude_tokens=TOKENS[:count]), clock=clock, draw=lambda: draw)


def test_a_family_scoped_429_cools_the_family_not_the_token(clock: FakeClock) -> None:
    hook = rotator(clock)
    pool = hook.pool()
    a, b = pool.fingerprints
    headers = unified(
        status="rejected", claim="seven_day_opus", reset=START + 1000, **{"retry-after": "1000"}
    )
    asyncio.run(hook.report_failure(pool, a, 429, headers))
    row = pool.status()[0]
    assert row["healthy"] is True and row["cooling_until"] is None
    # The rest is the reset plus a jitter of half its bound (draw 0.5): 1000 + min(50, 30) / 2.
    assert row["family_cooling"] == {"opus": pytest.approx(START + 1015)}
    assert asyncio.run(hook.lease(pool, None, family="opus")).fingerprint == b  # type: ignore[union-attr]
    # Sonnet requests may still use it (b is the less utilized one, so take b out of the way).
    sonnet = asyncio.run(hook.lease(pool, None, frozenset({b}), family="sonnet"))
    assert sonnet is not None and sonnet.fingerprint == a


def test_a_token_wide_429_cools_the_token_with_jitter(clock: FakeClock) -> None:
    hook = rotator(clock, draw=0.2)
    pool = hook.pool()
    a, _ = pool.fingerprints
    asyncio.run(hook.report_failure(pool, a, 429, {"retry-after": "200"}))
    assert pool.status()[0]["cooling_until"] == pytest.approx(START + 200 + 10 * 0.2)


def test_a_response_records_its_windows_for_the_status(clock: FakeClock) -> None:
    hook = rotator(clock)
    pool = hook.pool()
    a, _ = pool.fingerprints
    asyncio.run(hook.record_limits(pool, a, unified(five_hour=0.86, status="allowed_warning")))
    report = asyncio.run(hook.status_report())
    row = report["tokens"][0]
    assert row["unified_status"] == "allowed_warning" and row["warning"] is True
    assert row["representative_claim"] == "five_hour"
    assert row["windows"]["5h"] == {
        "utilization": pytest.approx(0.86),
        "status": "allowed_warning",
        "reset": START + 3600,
    }
    assert row["utilization"] == pytest.approx(0.86)


def test_the_pool_command_shows_windows_in_local_time_not_epoch_seconds(clock: FakeClock) -> None:
    hook = rotator(clock)
    pool = hook.pool()
    a, b = pool.fingerprints
    asyncio.run(hook.record_limits(pool, a, unified(five_hour=0.86, seven_day=0.4, status="allowed_warning")))
    pool.cool_family(b, "opus", 7200)
    text = format_pool_status(asyncio.run(hook.status_report()), START)
    reset_5h = datetime.fromtimestamp(START + 3600).astimezone().strftime("%a %d %b %H:%M")
    reset_7d = datetime.fromtimestamp(START + 5 * 86400).astimezone().strftime("%a %d %b %H:%M")
    opus_until = datetime.fromtimestamp(START + 7200).astimezone().strftime("%a %d %b %H:%M")
    [row_a] = [line for line in text.splitlines() if a in line]
    [row_b] = [line for line in text.splitlines() if b in line]
    assert f"86%! {reset_5h}" in row_a and f"40%  {reset_7d}" in row_a
    assert "warning (five_hour)" in row_a
    assert f"opus resting until {opus_until}" in row_b
    assert str(int(START)) not in text and str(int(START + 3600)) not in text
    for token in TOKENS:
        assert token not in text


def test_a_chat_completion_answer_records_the_windows_of_its_pooled_token(clock: FakeClock) -> None:
    from litellm_plugins.rotator.hook import provider_response_headers

    class Answer:  # where LiteLLM's responses (ModelResponse, stream wrappers) keep the headers
        def __init__(self, headers: dict[str, str]) -> None:
            self._hidden_params = {"additional_headers": headers}

    hook = rotator(clock)
    pool = hook.pool()
    response = Answer(
        {
            **{
                f"llm_provider-{name}": value
                for name, value in unified(five_hour=0.9, status="allowed_warning").items()
            },
            "x-ratelimit-remaining-requests": "10",  # LiteLLM's OpenAI-style copy: not ours to read
        }
    )
    assert provider_response_headers(response)["anthropic-ratelimit-unified-status"] == "allowed_warning"
    assert provider_response_headers(object()) == {}
    kept = asyncio.run(hook.async_post_call_success_deployment_hook({"api_key": TOKENS[0]}, response, None))
    assert kept is None  # the response is not replaced
    assert pool.status()[0]["warning"] is True
    # A key the pool does not own (a deployment's own) records nothing.
    asyncio.run(hook.async_post_call_success_deployment_hook({"api_key": "sk-ant-api03-own"}, response, None))
    assert pool.status()[1]["unified_status"] is None


def test_a_deployment_with_its_own_key_gets_no_pooled_token(clock: FakeClock) -> None:
    hook = rotator(clock)
    own = "sk-ant-api03-deployments-own-" + "k" * 30
    kwargs = {
        "model": "claude-sonnet-4-5",
        "custom_llm_provider": "anthropic",
        "api_base": "https://api.anthropic.com",
        "api_key": own,
        "headers": {"authorization": "Bearer sk-ant-oat01-the-clients-own-" + "c" * 30},
        "litellm_metadata": {
            ROTATOR_STATE: {"mode": "rotate", "session": None, "leases": [], "failovers": []}
        },
    }
    out = asyncio.run(hook.async_pre_call_deployment_hook(dict(kwargs), "aanthropic_messages"))
    assert out is not None and out["api_key"] == own and "client" not in out
    assert "authorization" not in out["headers"]  # the client's credential is still removed
    assert out["litellm_metadata"][ROTATOR_STATE]["leases"] == []
    # Without a key of its own the deployment is the pool's.
    pooled = asyncio.run(
        hook.async_pre_call_deployment_hook({**kwargs, "api_key": None}, "aanthropic_messages")
    )
    assert pooled is not None and pooled["api_key"] in TOKENS
    # A pooled token left in the kwargs by an earlier attempt is not "the deployment's own".
    again = asyncio.run(
        hook.async_pre_call_deployment_hook({**kwargs, "api_key": TOKENS[1]}, "aanthropic_messages")
    )
    assert again is not None and again["litellm_metadata"][ROTATOR_STATE]["leases"]
