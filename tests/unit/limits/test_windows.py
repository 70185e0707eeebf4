from __future__ import annotations

from datetime import UTC, datetime

from litellm_plugins.limits.windows import (
    retry_after_seconds,
    seconds_until_next_utc_day,
    take_from_window,
    take_slot,
    utc_day,
)


def test_the_request_over_the_limit_is_refused_and_told_when_the_oldest_leaves() -> None:
    stamps: list[float] = []
    assert take_from_window(stamps, 100.0, 2, 60.0) is None
    assert take_from_window(stamps, 110.0, 2, 60.0) is None
    assert take_from_window(stamps, 130.0, 2, 60.0) == 30.0  # 100 + 60 - 130
    assert stamps == [100.0, 110.0]  # a refused request is not counted
    assert take_from_window(stamps, 160.0, 2, 60.0) is None  # the first left at 160
    assert take_from_window(stamps, 161.0, 2, 60.0) == 9.0  # 110 + 60 - 161


def test_a_window_smaller_than_what_it_holds_waits_for_enough_to_leave() -> None:
    stamps = [0.0, 1.0, 2.0, 3.0]  # the limit was 4, now 2
    assert take_from_window(stamps, 10.0, 2, 60.0) == 52.0  # the third leaves at 62


def test_slots_are_leases_that_expire() -> None:
    leases: dict[str, float] = {}
    assert take_slot(leases, "a", 0.0, 2, 60.0)
    assert take_slot(leases, "b", 1.0, 2, 60.0)
    assert not take_slot(leases, "c", 2.0, 2, 60.0)
    assert take_slot(leases, "c", 60.0, 2, 60.0)  # "a" expired (its worker died)
    assert set(leases) == {"b", "c"}


def test_the_utc_day_and_the_seconds_until_the_next() -> None:
    moment = datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC).timestamp()
    assert utc_day(moment) == "2026-12-01"
    assert seconds_until_next_utc_day(moment) == 30.0
    assert utc_day(moment + 30) == "2026-12-02"


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert retry_after_seconds(0.01) == 1
    assert retry_after_seconds(29.2) == 30
    assert retry_after_seconds(0) == 1
