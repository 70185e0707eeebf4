"""How long a pooled credential rests after an upstream error (pure).

- 429: `retry-after` (seconds or an HTTP date) or `anthropic-ratelimit-unified-reset` (epoch
  seconds) when present, the longer of the two; `DEFAULT_RATE_LIMIT_SECONDS` otherwise.
- 529 / overloaded: short; the account is fine, Anthropic is busy.
- 401 / 403: the credential is invalid or revoked; it rests for a long time and the operator is
  told its fingerprint so it can be replaced.
Other statuses do not cool a credential: they are not about the credential.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Final

DEFAULT_RATE_LIMIT_SECONDS: Final = 60.0
OVERLOADED_SECONDS: Final = 5.0
INVALID_SECONDS: Final = 6 * 3600.0
MAX_COOLDOWN_SECONDS: Final = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Cooldown:
    seconds: float
    reason: str  # "rate_limited" | "overloaded" | "invalid"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _retry_after_seconds(value: str | None, now_epoch: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # "nan" and "inf" parse as floats; they are garbage, not a one-second or a week-long rest.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; a naive one must not be read as local time
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_epoch)


def _reset_seconds(value: str | None, now_epoch: float) -> float | None:
    if not value:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    return max(0.0, reset - now_epoch) if math.isfinite(reset) else None


def cooldown_for(status: int, headers: Mapping[str, str], now_epoch: float) -> Cooldown | None:
    if status == 429:
        hints = [
            seconds
            for seconds in (
                _retry_after_seconds(_header(headers, "retry-after"), now_epoch),
                _reset_seconds(_header(headers, "anthropic-ratelimit-unified-reset"), now_epoch),
            )
            if seconds is not None
        ]
        seconds = max(hints) if hints else DEFAULT_RATE_LIMIT_SECONDS
        return Cooldown(min(max(seconds, 1.0), MAX_COOLDOWN_SECONDS), "rate_limited")
    if status == 529:
        return Cooldown(OVERLOADED_SECONDS, "overloaded")
    if status in (401, 403):
        return Cooldown(INVALID_SECONDS, "invalid")
    return None
