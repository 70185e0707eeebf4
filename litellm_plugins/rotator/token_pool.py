"""A pool of credentials with cooldowns and session stickiness, in one process (pure, thread-safe).

Selection is O(log n) in the pool size whatever its health, so a pool of 100,000 keys costs
what a pool of 10 does:
- `balanced` spreads new sessions round-robin over healthy tokens (an ordered ring);
- `sequential` uses the first healthy token in declaration order until it cools (daily quotas);
- a session sticks to its token while that token is healthy, so prompt caching keeps hitting;
- cooling tokens sit in a heap ordered by the end of their cooldown and come back on their own.
When every token is cooling, `select` returns None and `seconds_until_available` says when the
first one frees up.

Time comes from an injectable clock in epoch seconds (wall time, because cooldowns are shared
with other processes through Redis). The lock is never held across an await: there is none here.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from litellm_plugins.core.redaction import Secret, fingerprint

STRATEGIES: Final = frozenset({"balanced", "sequential"})
DEFAULT_STICKY_SECONDS: Final = 3600.0
DEFAULT_MAX_SESSIONS: Final = 100_000


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
        self, session: str | None = None, exclude: Iterable[str] = (), preferred: str | None = None
    ) -> Lease | None:
        excluded = frozenset(exclude)
        with self._lock:
            now = self._clock()
            self._release_expired(now)
            fp = self._sticky_choice(session, preferred, excluded, now)
            if fp is None:
                fp = self._next_healthy(excluded, now)
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

    def _next_healthy(self, excluded: frozenset[str], now: float) -> str | None:
        if self.strategy == "sequential":
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
        for _ in range(min(len(self._ring), len(excluded) + 1)):
            fp = next(iter(self._ring), None)
            if fp is None:
                return None
            self._ring.move_to_end(fp)
            if fp not in excluded:
                return fp
        return None

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

    def record_success(self, fp: str) -> None:
        with self._lock:
            state = self._states.get(fp)
            if state is not None:
                state.successes += 1

    def seconds_until_available(self) -> float:
        with self._lock:
            now = self._clock()
            self._release_expired(now)
            if self._ring:
                return 0.0
            pending = [state.cooling_until for state in self._states.values()]
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
                }
                for fp, state in self._states.items()
            ]
