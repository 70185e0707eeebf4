"""The rolling windows usage is counted over, as named buckets (pure).

Each request is added to three buckets: its minute (kept two hours), its UTC day (kept two
days) and the running total. A window is read as the sum of its buckets:

    hour    the last 60 minute buckets, the current one included
    today   the current UTC day
    total   everything since the counters started (the Redis data, or this process)

Time is epoch seconds from an injectable clock; buckets expire on their own (Redis TTLs, or the
in-process store dropping them), so memory and keys stay bounded whatever the uptime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

WINDOWS: Final = ("hour", "today", "total")
MINUTE_TTL_SECONDS: Final = 2 * 3600
DAY_TTL_SECONDS: Final = 2 * 86400
TOTAL: Final = "total"


def _minute(now: float) -> str:
    return f"minute:{int(now // 60)}"


def _day(now: float) -> str:
    return "day:" + datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def buckets_to_add(now: float) -> list[tuple[str, int | None]]:
    """The buckets a request at `now` counts in, each with its time to live (None: kept)."""
    return [(_minute(now), MINUTE_TTL_SECONDS), (_day(now), DAY_TTL_SECONDS), (TOTAL, None)]


def buckets_to_read(window: str, now: float) -> list[str]:
    """The buckets whose sum is `window` at `now`; ValueError names the known windows."""
    if window == "hour":
        current = int(now // 60)
        return [f"minute:{minute}" for minute in range(current - 59, current + 1)]
    if window == "today":
        return [_day(now)]
    if window == TOTAL:
        return [TOTAL]
    raise ValueError(f"unknown usage window {window!r}: use one of {', '.join(WINDOWS)}")


def window_start(window: str, now: float) -> float | None:
    """When `window` began (epoch seconds), None for the total."""
    if window == "hour":
        return float((int(now // 60) - 59) * 60)
    if window == "today":
        day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return day.timestamp()
    return None
