"""Unit tests for litellm_plugins.rotator.cooldown: how long a credential rests after an upstream error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litellm_plugins.rotator.cooldown import (
    DEFAULT_RATE_LIMIT_SECONDS,
    INVALID_SECONDS,
    MAX_COOLDOWN_SECONDS,
    OVERLOADED_SECONDS,
    Cooldown,
    cooldown_for,
)

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "30"}, 30.0),
        ({"Retry-After": "12.5"}, 12.5),
        ({"RETRY-AFTER": " 45 "}, 45.0),
        ({"retry-after": http_date(NOW + 120)}, 120.0),
        ({"anthropic-ratelimit-unified-reset": str(int(NOW + 300))}, 300.0),
        ({"Anthropic-Ratelimit-Unified-Reset": f"{NOW + 90.5}"}, 90.5),
    ],
)
def test_rate_limit_uses_the_upstream_hint(headers: dict[str, str], seconds: float) -> None:
    assert cooldown_for(429, headers, NOW) == Cooldown(seconds, "rate_limited")


@pytest.mark.parametrize(
    ("retry_after", "reset", "seconds"),
    [
        ("30", NOW + 600, 600.0),  # the unified reset is later
        ("900", NOW + 600, 900.0),  # retry-after is later
        (http_date(NOW + 200), NOW + 100, 200.0),
    ],
)
def test_rate_limit_with_both_hints_takes_the_longer(retry_after: str, reset: float, seconds: float) -> None:
    headers = {"retry-after": retry_after, "anthropic-ratelimit-unified-reset": str(reset)}
    assert cooldown_for(429, headers, NOW) == Cooldown(seconds, "rate_limited")


def test_rate_limit_without_hints_rests_the_default() -> None:
    assert cooldown_for(429, {}, NOW) == Cooldown(DEFAULT_RATE_LIMIT_SECONDS, "rate_limited")
    assert cooldown_for(429, {"content-type": "application/json"}, NOW) == Cooldown(60.0, "rate_limited")


@pytest.mark.parametrize(
    "value",
    ["", "   ", "soon", "30s", "Wed, 99 Foo 2024 99:99:99 GMT", "nan", "NaN", "inf", "-inf", "1e400", "0x10"],
)
def test_garbage_hints_are_ignored(value: str) -> None:
    # "nan"/"inf" parse as floats; they must not become a one-second or a week-long rest.
    assert cooldown_for(429, {"retry-after": value}, NOW) == Cooldown(
        DEFAULT_RATE_LIMIT_SECONDS, "rate_limited"
    )
    reset = {"anthropic-ratelimit-unified-reset": value}
    assert cooldown_for(429, reset, NOW) == Cooldown(DEFAULT_RATE_LIMIT_SECONDS, "rate_limited")


def test_garbage_in_one_hint_does_not_hide_the_other() -> None:
    headers = {"retry-after": "later", "anthropic-ratelimit-unified-reset": str(NOW + 75)}
    assert cooldown_for(429, headers, NOW) == Cooldown(75.0, "rate_limited")
    headers = {"retry-after": "20", "anthropic-ratelimit-unified-reset": "tomorrow"}
    assert cooldown_for(429, headers, NOW) == Cooldown(20.0, "rate_limited")


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "0"},
        {"retry-after": "-30"},
        {"retry-after": "0.2"},
        {"retry-after": http_date(NOW - 3600)},  # a date in the past
        {"anthropic-ratelimit-unified-reset": str(NOW - 10)},
    ],
)
def test_rate_limit_rests_at_least_one_second(headers: dict[str, str]) -> None:
    assert cooldown_for(429, headers, NOW) == Cooldown(1.0, "rate_limited")


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": str(30 * 24 * 3600)},
        {"retry-after": http_date(NOW + 60 * 24 * 3600)},
        {"anthropic-ratelimit-unified-reset": str(NOW + 365 * 24 * 3600)},
    ],
)
def test_rate_limit_rests_at_most_the_maximum(headers: dict[str, str]) -> None:
    assert cooldown_for(429, headers, NOW) == Cooldown(MAX_COOLDOWN_SECONDS, "rate_limited")


@pytest.fixture()
def eastern_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("eastern_local_time")
@pytest.mark.parametrize("zone", ["", " -0000"])
def test_http_date_without_zone_is_read_as_gmt_not_local_time(zone: str) -> None:
    headers = {"retry-after": "Tue, 14 Nov 2023 22:15:20" + zone}  # NOW + 120 in GMT
    assert cooldown_for(429, headers, NOW) == Cooldown(120.0, "rate_limited")


def test_overloaded_rests_briefly_whatever_the_headers() -> None:
    assert cooldown_for(529, {}, NOW) == Cooldown(OVERLOADED_SECONDS, "overloaded")
    assert cooldown_for(529, {"retry-after": "3600"}, NOW) == Cooldown(OVERLOADED_SECONDS, "overloaded")
    assert OVERLOADED_SECONDS < DEFAULT_RATE_LIMIT_SECONDS


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credential_rests_long(status: int) -> None:
    assert cooldown_for(status, {}, NOW) == Cooldown(INVALID_SECONDS, "invalid")
    assert cooldown_for(status, {"retry-after": "1"}, NOW) == Cooldown(INVALID_SECONDS, "invalid")
    assert DEFAULT_RATE_LIMIT_SECONDS < INVALID_SECONDS <= MAX_COOLDOWN_SECONDS


@pytest.mark.parametrize("status", [200, 201, 400, 402, 404, 408, 413, 422, 500, 502, 503, 504])
def test_other_statuses_do_not_cool_a_credential(status: int) -> None:
    assert cooldown_for(status, {"retry-after": "30"}, NOW) is None


@given(
    retry_after=st.one_of(st.none(), st.text(max_size=40), st.floats(allow_nan=True).map(str)),
    reset=st.one_of(st.none(), st.text(max_size=40), st.floats(allow_nan=True).map(str)),
)
def test_rate_limit_cooldown_is_always_within_bounds(retry_after: str | None, reset: str | None) -> None:
    headers = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if reset is not None:
        headers["anthropic-ratelimit-unified-reset"] = reset
    cooldown = cooldown_for(429, headers, NOW)
    assert cooldown is not None
    assert cooldown.reason == "rate_limited"
    assert 1.0 <= cooldown.seconds <= MAX_COOLDOWN_SECONDS
