"""A pool of credentials with cooldowns and session stickiness, in one process (pure, thread-safe).

Selection is O(log n) in the pool size whatever its health, so a pool of 100,000 keys costs
what a pool of 10 does:
- `balanced` spreads new sessions round-robin over healthy tokens (an ordered ring);
- `sequential` uses the first healthy token in declaration order until it cools (daily quotas);
- a session sticks to its token while that token is healthy, so prompt caching keeps hitting;
- cooling tokens sit in a heap ordered by the end of their cooldown and come back on their own.
When every token is cooling, `select` returns None and `seconds_until_available` says when the
first one frees up.

Subscription windows (:mod:`litellm_plugins.rotator.unified_limits`), per token, from the
headers of its responses:
- `balanced` gives a new session the least-utilized of the next few healthy tokens in the ring
  (`UTILIZATION_CHOICES`; ties keep round-robin), so selection stays O(1) in the pool size;
- a token in `allowed_warning` is passed over, by new sessions and by the sessions stuck to
  it, while a token without a warning is available (then it is used as before);
- a limit scoped to one model family (`seven_day_opus`) rests only that family of that token.

Time comes from an injectable clock in epoch seconds (wall time, because cooldowns are shared
with other processes through Redis). The lock is never held across an await: there is none here.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final

from litellm_plugins.core.redaction import Secret, fingerprint
from litellm_plugins.rotator.unified_limits import UnifiedLimits, Window

STRATEGIES: Final = frozenset({"balanced", "sequential"})
DEFAULT_STICKY_SECONDS: Final = 3600.0
DEFAULT_MAX_SESSIONS: Final = 100_000
UTILIZATION_CHOICES: Final = 8  # healthy tokens a new session chooses among, by utilization
WARNING_SECONDS: Final = 300.0  # how long a warning without a reset time is believed
NOTABLE_UTILIZATION_CHANGE: Final = 0.01  # smaller changes are not worth telling other workers


@dataclass(frozen=True)
class Lease:
    """The token chosen for one attempt. Its repr never shows the token."""

    pool: str
    fingerprint: str
    secret: Secret
    leased_at: float = 0.0  # the pool's clock when it was chosen (under the pool's lock)

    @property
    def token(self) -> str:
        return self.secret.reveal()


@dataclass
class TokenState:
    secret: Secret
    index: int
    cooling_until: float = 0.0
    reason: str = ""
    requests: int = 0
    successes: int = 0
    rate_limits: int = 0
    failures: int = 0
    limits: UnifiedLimits | None = None
    limits_at: float = 0.0
    family_cooling: dict[str, float] = field(default_factory=dict)

    def load(self, now: float) -> float:
        """The highest utilization among its windows that have not reset yet (0 when unknown)."""
        if self.limits is None:
            return 0.0
        return max(
            (
                w.utilization
                for w in self.limits.windows.values()
                if w.utilization is not None and (w.reset is None or w.reset > now)
            ),
            default=0.0,
        )

    def warned(self, now: float) -> bool:
        if self.limits is None or self.limits.status != "allowed_warning":
            return False
        until = self.limits.reset if self.limits.reset is not None else self.limits_at + WARNING_SECONDS
        return until > now


class TokenPool:
    def __init__(
        self,
        name: str,
        tokens: Sequence[str],
        strategy: str = "balanced",
        clock: Callable[[], float] = time.time,
        sticky_seconds: float = DEFAULT_STICKY_SECONDS,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"pool {name!r}: strategy must be one of {sorted(STRATEGIES)}, got {strategy!r}")
        self.name = name
        self.strategy = strategy
        self._clock = clock
        self._sticky_seconds = sticky_seconds
        self._max_sessions = max_sessions
        self._lock = threading.Lock()
        self._states: dict[str, TokenState] = {}
        for token in tokens:
            fp = fingerprint(token)
            if fp not in self._states:
                self._states[fp] = TokenState(Secret(token), len(self._states))
        self._by_index = list(self._states)
        self._ring: OrderedDict[str, None] = OrderedDict((fp, None) for fp in self._states)
        self._sequential: list[int] = list(range(len(self._by_index)))  # a heap of healthy indexes
        # Indexes in the heap: a cooled index stays in it until it reaches the top, so healing
        # must not push it a second time (the heap would grow with every cool/heal cycle).
        self._in_sequential: set[int] = set(self._sequential)
        self._cooling: list[tuple[float, str]] = []
        self._sessions: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._warned: set[str] = set()  # tokens whose last response said allowed_warning
        self._family_cooling: dict[str, dict[str, float]] = {}  # family -> fingerprint -> until

    def __len__(self) -> int:
        return len(self._states)

    @property
    def fingerprints(self) -> list[str]:
        return list(self._by_index)

    def owns(self, token: str | None) -> str | None:
        """The fingerprint of `token` if it belongs to this pool."""
        if not token:
            return None
        fp = fingerprint(token)
        return fp if fp in self._states else None

    # -- selection ---------------------------------------------------------------------------
    def select(
        self,
        session: str | None = None,
        exclude: Iterable[str] = (),
        preferred: str | None = None,
        family: str | None = None,
    ) -> Lease | None:
        """A lease for `session` (sticky), never one of `exclude`, nor a token whose `family`
        (the request's model family: opus, sonnet, haiku) is resting."""
        with self._lock:
            now = self._clock()
            self._release_expired(now)
            excluded = frozenset(exclude) | self._family_blocked(family, now)
            avoid = self._warnings_to_avoid(excluded, now)
            fp = self._sticky_choice(session, preferred, excluded | avoid, now)
            if fp is None:
                fp = self._next_healthy(excluded, avoid, now)
            if fp is None:
                return None
            state = self._states[fp]
            state.requests += 1
            if session:
                self._remember(session, fp, now)
            return Lease(self.name, fp, state.secret, now)

    def _healthy(self, fp: str, now: float) -> bool:
        state = self._states.get(fp)
        return state is not None and state.cooling_until <= now

    def _sticky_choice(
        self, session: str | None, preferred: str | None, excluded: frozenset[str], now: float
    ) -> str | None:
        candidates = []
        if session:
            remembered = self._sessions.get(session)
            if remembered is not None and remembered[1] > now:
                candidates.append(remembered[0])
        if preferred:
            candidates.append(preferred)
        for fp in candidates:
            if fp not in excluded and self._healthy(fp, now):
                return fp
        return None

    def _family_blocked(self, family: str | None, now: float) -> frozenset[str]:
        resting = self._family_cooling.get(family or "")
        if not resting:
            return frozenset()
        for fp, until in list(resting.items()):
            if until <= now:
                del resting[fp]
                self._states[fp].family_cooling.pop(family or "", None)
        return frozenset(resting)

    def _warnings_to_avoid(self, excluded: frozenset[str], now: float) -> frozenset[str]:
        """The warned tokens to pass over: all of them while a healthy unwarned one is left."""
        warned = frozenset(fp for fp in self._warned if self._states[fp].warned(now))
        self._warned.intersection_update(warned)
        if not warned:
            return warned
        blocked = excluded | warned
        # Among any len(blocked) + 1 ring entries one is unblocked if the ring has one at all.
        for fp in islice(self._ring, len(blocked) + 1):
            if fp not in blocked:
                return warned
        return frozenset()

    def _next_healthy(self, excluded: frozenset[str], avoid: frozenset[str], now: float) -> str | None:
        if self.strategy == "sequential":
            if avoid:
                found = self._next_sequential(excluded | avoid, now)
                if found is not None:
                    return found
            return self._next_sequential(excluded, now)
        return self._next_balanced(excluded | avoid, now) or (
            self._next_balanced(excluded, now) if avoid else None
        )

    def _next_balanced(self, excluded: frozenset[str], now: float) -> str | None:
        """The least-utilized of the next `UTILIZATION_CHOICES` healthy tokens of the ring (the
        first of them on a tie, which is round-robin); the ones passed over stay in place."""
        candidates: list[str] = []
        skipped: list[str] = []
        for fp in islice(self._ring, len(excluded) + UTILIZATION_CHOICES):
            if fp in excluded:
                skipped.append(fp)
            else:
                candidates.append(fp)
                if len(candidates) == UTILIZATION_CHOICES:
                    break
        for fp in skipped:
            self._ring.move_to_end(fp)
        if not candidates:
            return None
        chosen = min(candidates, key=lambda fp: self._states[fp].load(now))  # min keeps the first tie
        self._ring.move_to_end(chosen)
        return chosen

    def _next_sequential(self, excluded: frozenset[str], now: float) -> str | None:
        skipped: list[int] = []
        found = None
        while self._sequential:
            index = self._sequential[0]
            fp = self._by_index[index]
            if self._states[fp].cooling_until > now:
                heapq.heappop(self._sequential)  # stale entry: it comes back when it heals
                self._in_sequential.discard(index)
                continue
            if fp in excluded:
                skipped.append(heapq.heappop(self._sequential))
                continue
            found = fp
            break
        for index in skipped:
            heapq.heappush(self._sequential, index)
        return found

    def _remember(self, session: str, fp: str, now: float) -> None:
        self._sessions[session] = (fp, now + self._sticky_seconds)
        self._sessions.move_to_end(session)
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)

    def _release_expired(self, now: float) -> None:
        while self._cooling and self._cooling[0][0] <= now:
            until, fp = heapq.heappop(self._cooling)
            state = self._states[fp]
            if state.cooling_until != until:
                continue  # superseded by a later cooldown
            state.reason = ""
            self._ring[fp] = None
            if state.index not in self._in_sequential:
                self._in_sequential.add(state.index)
                heapq.heappush(self._sequential, state.index)

    # -- outcomes ----------------------------------------------------------------------------
    def cool(self, fp: str, seconds: float, reason: str) -> float | None:
        """Rest `fp` for `seconds` (a longer cooldown already in force wins); returns its end."""
        with self._lock:
            state = self._states.get(fp)
            if state is None:
                return None
            now = self._clock()
            until = now + seconds
            if reason == "rate_limited":
                state.rate_limits += 1
            state.failures += 1
            if until <= state.cooling_until:
                return state.cooling_until
            state.cooling_until = until
            state.reason = reason
            self._ring.pop(fp, None)
            heapq.heappush(self._cooling, (until, fp))
            return until

    def cool_until(self, fp: str, until: float, reason: str) -> None:
        """Adopt a cooldown another process decided (shared state)."""
        with self._lock:
            state = self._states.get(fp)
            if state is None or until <= state.cooling_until or until <= self._clock():
                return
            state.cooling_until = until
            state.reason = reason
            self._ring.pop(fp, None)
            heapq.heappush(self._cooling, (until, fp))

    def cool_family(self, fp: str, family: str, seconds: float) -> float | None:
        """Rest only `family` (opus, sonnet) of `fp` for `seconds`; returns the end of that rest."""
        with self._lock:
            state = self._states.get(fp)
            if state is None:
                return None
            state.rate_limits += 1
            state.failures += 1
            return self._rest_family(state, fp, family, self._clock() + seconds)

    def _rest_family(self, state: TokenState, fp: str, family: str, until: float) -> float:
        until = max(until, state.family_cooling.get(family, 0.0))
        state.family_cooling[family] = until
        self._family_cooling.setdefault(family, {})[fp] = until
        return until

    def record_limits(self, fp: str, limits: UnifiedLimits, seen_at: float | None = None) -> bool:
        """Keep what a response (or another worker, `seen_at` its time) said about `fp`'s
        subscription windows; True when that is news worth sharing (status or claim changed,
        utilization moved by a point or more)."""
        if limits.empty:
            return False
        with self._lock:
            state = self._states.get(fp)
            if state is None:
                return False
            now = self._clock()
            when = now if seen_at is None else seen_at
            if when < state.limits_at:
                return False  # an older report than the one already kept
            before = state.limits
            state.limits, state.limits_at = limits, when
            if state.warned(now):
                self._warned.add(fp)
            else:
                self._warned.discard(fp)
            return before is None or _notable_change(before, limits)

    def adopt_family_cooling(self, fp: str, families: dict[str, float]) -> None:
        """Adopt model-family rests another process decided (shared state)."""
        with self._lock:
            state = self._states.get(fp)
            now = self._clock()
            for family, until in families.items():
                if state is not None and until > now:
                    self._rest_family(state, fp, family, until)

    def limits_of(self, fp: str) -> tuple[UnifiedLimits | None, float, dict[str, float]]:
        """(last unified limits, when they were seen, family rests) of `fp`, for sharing."""
        with self._lock:
            state = self._states.get(fp)
            if state is None:
                return None, 0.0, {}
            return state.limits, state.limits_at, dict(state.family_cooling)

    def avoids(self, fp: str, family: str | None = None, exclude: Iterable[str] = ()) -> bool:
        """Whether `select` would now pass `fp` over (its family rests, or it is warned while
        an unwarned healthy token is left); used after adopting another worker's view."""
        with self._lock:
            now = self._clock()
            excluded = frozenset(exclude) | self._family_blocked(family, now)
            return fp in excluded or fp in self._warnings_to_avoid(excluded, now)

    def record_success(self, fp: str) -> None:
        with self._lock:
            state = self._states.get(fp)
            if state is not None:
                state.successes += 1

    def seconds_until_available(self, family: str | None = None) -> float:
        with self._lock:
            now = self._clock()
            self._release_expired(now)
            resting = self._family_cooling.get(family or "", {})
            if any(fp not in resting or resting[fp] <= now for fp in self._ring):
                return 0.0
            pending = [max(state.cooling_until, resting.get(fp, 0.0)) for fp, state in self._states.items()]
            return max(0.0, min(pending) - now) if pending else 0.0

    def status(self) -> list[dict[str, object]]:
        """Per token fingerprint: health, cooldown end and reason, counters. No token values."""
        with self._lock:
            now = self._clock()
            return [
                {
                    "pool": self.name,
                    "fingerprint": fp,
                    "healthy": state.cooling_until <= now,
                    "cooling_until": state.cooling_until if state.cooling_until > now else None,
                    "reason": state.reason if state.cooling_until > now else "",
                    "requests": state.requests,
                    "successes": state.successes,
                    "rate_limits": state.rate_limits,
                    "failures": state.failures,
                    **limits_status(state, now),
                }
                for fp, state in self._states.items()
            ]


def limits_status(state: TokenState, now: float) -> dict[str, Any]:
    """A token's subscription windows for the status route (epoch seconds; no secret)."""
    limits = state.limits
    windows: dict[str, Any] = {}
    if limits is not None:
        for name, window in limits.windows.items():
            windows[name] = {
                "utilization": window.utilization,
                "status": window.status,
                "reset": window.reset,
            }
    return {
        "unified_status": limits.status if limits is not None else None,
        "representative_claim": limits.claim if limits is not None else None,
        "unified_reset": limits.reset if limits is not None else None,
        "windows": windows,
        "warning": state.warned(now),
        "utilization": state.load(now) if limits is not None else None,
        "family_cooling": {family: until for family, until in state.family_cooling.items() if until > now},
        "limits_seen_at": state.limits_at or None,
    }


def _notable_change(before: UnifiedLimits, after: UnifiedLimits) -> bool:
    if (before.status, before.claim) != (after.status, after.claim):
        return True
    for name in set(before.windows) | set(after.windows):
        old, new = before.windows.get(name, Window()), after.windows.get(name, Window())
        if old.status != new.status or old.reset != new.reset:
            return True
        if abs((old.utilization or 0.0) - (new.utilization or 0.0)) >= NOTABLE_UTILIZATION_CHANGE:
            return True
    return False
