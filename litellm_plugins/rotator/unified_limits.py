"""Anthropic's unified (subscription) rate-limit headers, read into plain data (pure).

Every response to a Claude subscription's OAuth token carries them, successes and errors alike:

    anthropic-ratelimit-unified-status                 allowed | allowed_warning | rejected
    anthropic-ratelimit-unified-reset                  epoch seconds: when the binding window resets
    anthropic-ratelimit-unified-representative-claim   the binding window: five_hour | seven_day |
                                                       seven_day_opus | seven_day_sonnet | ...
    anthropic-ratelimit-unified-5h-utilization         0..1 share of the 5-hour window used
    anthropic-ratelimit-unified-5h-status / -5h-reset  that window's own status and reset
    anthropic-ratelimit-unified-7d-...                 the same for the 7-day window

A limit of one model family (the weekly Opus or Sonnet allowance) names itself in the claim
(`seven_day_opus`): it is rejected while the shared 5h/7d windows still allow, so only that
family of that token must rest. The header names are the ones Claude Code itself reads.

No setting is read here; the rotator (:mod:`litellm_plugins.rotator.hook`) feeds it response
headers and the token pool keeps the result per token.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

PREFIX: Final = "anthropic-ratelimit-unified-"
STATUSES: Final = ("allowed", "allowed_warning", "rejected")
WINDOWS: Final = {"5h": "five_hour", "7d": "seven_day"}
FAMILY_CLAIMS: Final = {"seven_day_opus": "opus", "seven_day_sonnet": "sonnet"}
FAMILIES: Final = ("opus", "sonnet", "haiku")
# A reset is spread over up to this share of the wait, capped, so replicas that learn the same
# reset do not all come back in the same second.
JITTER_FRACTION: Final = 0.05
MAX_JITTER_SECONDS: Final = 30.0


@dataclass(frozen=True)
class Window:
    utilization: float | None = None  # 0..1
    status: str | None = None
    reset: float | None = None  # epoch seconds


@dataclass(frozen=True)
class UnifiedLimits:
    """What one response said about its token's subscription windows."""

    status: str | None = None
    reset: float | None = None
    claim: str | None = None
    windows: dict[str, Window] = field(default_factory=dict)  # "5h" / "7d" -> Window

    @property
    def empty(self) -> bool:
        return self.status is None and not self.windows

    @property
    def family(self) -> str | None:
        """The model family a rejection is scoped to (None: the whole token is limited)."""
        family = FAMILY_CLAIMS.get(self.claim or "")
        if family is None or self.status != "rejected":
            return None
        shared_rejected = any(window.status == "rejected" for window in self.windows.values())
        return None if shared_rejected else family


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(name).lower(): str(value).strip() for name, value in headers.items()}


def _number(value: str | None) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _status(value: str | None) -> str | None:
    lowered = (value or "").lower()
    return lowered if lowered in STATUSES else None


def parse_unified_limits(headers: Mapping[str, str]) -> UnifiedLimits:
    """The unified rate-limit state in `headers` (an empty result when there is none)."""
    found = _lowered(headers)
    windows = {}
    for short in WINDOWS:
        utilization = _number(found.get(f"{PREFIX}{short}-utilization"))
        window = Window(
            utilization=None if utilization is None else min(max(utilization, 0.0), 10.0),
            status=_status(found.get(f"{PREFIX}{short}-status")),
            reset=_number(found.get(f"{PREFIX}{short}-reset")),
        )
        if window != Window():
            windows[short] = window
    claim = found.get(f"{PREFIX}representative-claim") or None
    return UnifiedLimits(
        status=_status(found.get(f"{PREFIX}status")),
        reset=_number(found.get(f"{PREFIX}reset")),
        claim=claim[:40] if claim else None,
        windows=windows,
    )


def model_family(model: str | None) -> str | None:
    """`opus`, `sonnet` or `haiku` for a Claude model id (`anthropic/claude-opus-4-1` too)."""
    lowered = (model or "").lower()
    for family in FAMILIES:
        if family in lowered:
            return family
    return None


def jitter(seconds: float, draw: Callable[[], float] = random.random) -> float:
    """Extra seconds to add to a wait of `seconds`: in [0, min(5% of it, 30 s)), from `draw`
    (a number in [0, 1); injectable so tests are deterministic)."""
    bound = min(max(seconds, 0.0) * JITTER_FRACTION, MAX_JITTER_SECONDS)
    return bound * min(max(draw(), 0.0), 1.0)


def limits_document(
    limits: UnifiedLimits, seen_at: float, families: Mapping[str, float]
) -> dict[str, object]:
    """A token's subscription state as JSON-ready data (shared through Redis; no secret)."""
    return {
        "status": limits.status,
        "reset": limits.reset,
        "claim": limits.claim,
        "windows": {
            name: {"utilization": w.utilization, "status": w.status, "reset": w.reset}
            for name, w in limits.windows.items()
        },
        "families": dict(families),
        "seen_at": seen_at,
    }


def limits_from_document(document: object) -> tuple[UnifiedLimits, float, dict[str, float]] | None:
    """The inverse of :func:`limits_document`; None for anything malformed."""
    if not isinstance(document, Mapping):
        return None
    try:
        windows = {
            str(name): Window(
                utilization=None if w.get("utilization") is None else float(w["utilization"]),
                status=_status(w.get("status")),
                reset=None if w.get("reset") is None else float(w["reset"]),
            )
            for name, w in (document.get("windows") or {}).items()
            if name in WINDOWS and isinstance(w, Mapping)
        }
        limits = UnifiedLimits(
            status=_status(document.get("status")),
            reset=None if document.get("reset") is None else float(document["reset"]),
            claim=str(document["claim"])[:40] if document.get("claim") else None,
            windows=windows,
        )
        families = {
            str(family): float(until)
            for family, until in (document.get("families") or {}).items()
            if family in FAMILIES
        }
        return limits, float(document.get("seen_at") or 0.0), families
    except (TypeError, ValueError, AttributeError):
        return None
