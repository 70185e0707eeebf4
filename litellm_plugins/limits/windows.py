"""The limit arithmetic, pure: a sliding one-minute window, the UTC day, leases, retry-after values.

Used by both stores of :mod:`litellm_plugins.limits.store` (the Redis scripts do the same steps
atomically on the server), with the time passed in, so the unit tests drive a fake clock.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping, MutableSequence
from datetime import UTC, datetime, timedelta
from typing import Final

MINUTE: Final = 60.0
DAY_KEY_SECONDS: Final = 2 * 86400  # a day's token counter outlives its day, then expires


def take_from_window(stamps: MutableSequence[float], now: float, limit: int, window: float) -> float | None:
    """Count one request in a sliding window of `window` seconds holding at most `limit`.

    `stamps`: the times of the requests counted so far (oldest first), pruned in place. Returns None
    when the request is counted, else the seconds until one is allowed again (nothing is counted:
    a refused request does not push the window further out).
    """
    while stamps and stamps[0] <= now - window:
        del stamps[0]
    if len(stamps) < limit:
        stamps.append(now)
        return None
    # The request that makes room is the one that leaves the window first among those over the limit.
    return stamps[len(stamps) - limit] + window - now


def take_slot(leases: MutableMapping[str, float], lease: str, now: float, limit: int, ttl: float) -> bool:
    """Hold one of `limit` slots as `lease` until `now + ttl` (renewed while the request runs).

    `leases`: lease id -> expiry; expired leases (a worker that died mid-request) are dropped first.
    """
    for stale in [name for name, until in leases.items() if until <= now]:
        del leases[stale]
    if len(leases) >= limit:
        return False
    leases[lease] = now + ttl
    return True


def utc_day(now: float) -> str:
    """The UTC date of epoch second `now` ("2026-12-01"): the key of that day's token budget."""
    return datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d")


def seconds_until_next_utc_day(now: float) -> float:
    moment = datetime.fromtimestamp(now, tz=UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp() - now


def retry_after_seconds(seconds: float) -> int:
    """A `retry-after` header value: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(seconds))
