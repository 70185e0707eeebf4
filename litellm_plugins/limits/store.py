"""Where the limits count: in this process, or in Redis shared by every worker and replica.

Keys (client names are not secrets; no token is ever part of a key or value):

    litellm_plugins:limits:rpm:<client>           sorted set: one member per counted request, scored by
                                                  its time; expires a minute after the last one
    litellm_plugins:limits:concurrent:<client>    sorted set: one member per request in flight, scored
                                                  by its lease's expiry (renewed while it runs)
    litellm_plugins:limits:tokens:<client>:<day>  integer: tokens reported today (UTC); expires after 2 days

Each step is one Lua script (or INCRBY + EXPIRE in a transaction), so workers never race between
counting and deciding. A lease expires `LEASE_SECONDS` after its last renewal: a worker that crashes
mid-request frees its slots within that time.

Redis down: :class:`FallbackLimitStore` logs it and counts in this process instead (and tries Redis
again after `RETRY_REDIS_AFTER` seconds). A limit is then enforced per process, not across them,
instead of refusing everyone: these limits share capacity fairly and cap spend, they are not the
access decision (the proxy token is, and `model_groups` never depends on Redis).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from litellm_plugins.limits.windows import DAY_KEY_SECONDS, MINUTE, take_from_window, take_slot

logger = logging.getLogger(__name__)

PREFIX: Final = "litellm_plugins:limits"
LEASE_SECONDS: Final = 60.0
RETRY_REDIS_AFTER: Final = 5.0
LOG_REDIS_DOWN: Final = "limits: redis unavailable (%s); counting in this process until it is back"
LOG_REDIS_BACK: Final = "limits: redis is back; limits are shared again"

# KEYS[1] window; ARGV: now, window seconds, limit, member. Returns {1, "0"} or {0, "<retry after>"}.
WINDOW_SCRIPT: Final = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return {1, '0'}
end
local freeing = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, tostring(tonumber(freeing[2]) + window - now)}
"""
# KEYS[1] leases; ARGV: now, ttl seconds, limit, lease id. Returns 1 (held) or 0 (full).
SLOT_SCRIPT: Final = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) < tonumber(ARGV[3]) then
  redis.call('ZADD', key, now + ttl, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(ttl * 1000))
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Slot:
    """A concurrency slot held for one request; `shared` says which store holds it."""

    client: str
    lease: str
    shared: bool


class LimitStore(Protocol):
    async def take_request(self, client: str, limit: int, now: float) -> float | None: ...
    async def take_slot(self, client: str, lease: str, limit: int, now: float) -> bool: ...
    async def renew_slot(self, client: str, lease: str, now: float) -> None: ...
    async def release_slot(self, client: str, lease: str) -> None: ...
    async def tokens_used(self, client: str, day: str) -> int: ...
    async def add_tokens(self, client: str, day: str, tokens: int) -> None: ...


class LocalLimitStore:
    """This process's counters, behind one lock (never held across an await)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}
        self._slots: dict[str, dict[str, float]] = {}
        self._tokens: dict[tuple[str, str], int] = {}

    async def take_request(self, client: str, limit: int, now: float) -> float | None:
        with self._lock:
            return take_from_window(self._windows.setdefault(client, []), now, limit, MINUTE)

    async def take_slot(self, client: str, lease: str, limit: int, now: float) -> bool:
        with self._lock:
            return take_slot(self._slots.setdefault(client, {}), lease, now, limit, LEASE_SECONDS)

    async def renew_slot(self, client: str, lease: str, now: float) -> None:
        with self._lock:
            leases = self._slots.get(client)
            if leases is not None and lease in leases:
                leases[lease] = now + LEASE_SECONDS

    async def release_slot(self, client: str, lease: str) -> None:
        with self._lock:
            self._slots.get(client, {}).pop(lease, None)

    def slots_held(self, client: str) -> int:
        with self._lock:
            return len(self._slots.get(client, {}))

    async def tokens_used(self, client: str, day: str) -> int:
        with self._lock:
            return self._tokens.get((client, day), 0)

    async def add_tokens(self, client: str, day: str, tokens: int) -> None:
        with self._lock:
            for key in [key for key in self._tokens if key[0] == client and key[1] != day]:
                del self._tokens[key]  # yesterday's count is no longer read
            self._tokens[(client, day)] = self._tokens.get((client, day), 0) + tokens


class RedisLimitStore:
    """The same counters in Redis (`client`: a `redis.asyncio` client; tests pass their own)."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        if client is None:
            import redis.asyncio as redis_asyncio

            client = redis_asyncio.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._redis = client
        self._window = client.register_script(WINDOW_SCRIPT)
        self._slot = client.register_script(SLOT_SCRIPT)

    async def take_request(self, client: str, limit: int, now: float) -> float | None:
        member = f"{now:.6f}:{uuid.uuid4().hex}"
        allowed, retry = await self._window(
            keys=[f"{PREFIX}:rpm:{client}"], args=[now, MINUTE, limit, member]
        )
        return None if int(allowed) == 1 else float(retry)

    async def take_slot(self, client: str, lease: str, limit: int, now: float) -> bool:
        key = f"{PREFIX}:concurrent:{client}"
        return int(await self._slot(keys=[key], args=[now, LEASE_SECONDS, limit, lease])) == 1

    async def renew_slot(self, client: str, lease: str, now: float) -> None:
        key = f"{PREFIX}:concurrent:{client}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {lease: now + LEASE_SECONDS}, xx=True)
            pipe.pexpire(key, int(LEASE_SECONDS * 1000))
            await pipe.execute()

    async def release_slot(self, client: str, lease: str) -> None:
        await self._redis.zrem(f"{PREFIX}:concurrent:{client}", lease)

    async def tokens_used(self, client: str, day: str) -> int:
        raw = await self._redis.get(f"{PREFIX}:tokens:{client}:{day}")
        return int(raw) if raw else 0

    async def add_tokens(self, client: str, day: str, tokens: int) -> None:
        key = f"{PREFIX}:tokens:{client}:{day}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, tokens)
            pipe.expire(key, DAY_KEY_SECONDS)
            await pipe.execute()


class FallbackLimitStore:
    """Redis while it answers; this process's counters while it does not (logged once per outage)."""

    def __init__(
        self, shared: LimitStore, local: LocalLimitStore, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.shared = shared
        self.local = local
        self._clock = clock
        self._down_until: float | None = None

    def _use_shared(self) -> bool:
        return self._down_until is None or self._clock() >= self._down_until

    def _failed(self, error: Exception) -> None:
        if self._down_until is None:
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)
        self._down_until = self._clock() + RETRY_REDIS_AFTER

    def _answered(self) -> None:
        if self._down_until is not None:
            logger.warning(LOG_REDIS_BACK)
            self._down_until = None

    async def take_request(self, client: str, limit: int, now: float) -> float | None:
        if self._use_shared():
            try:
                result = await self.shared.take_request(client, limit, now)
            except Exception as error:  # noqa: BLE001 - any Redis failure: count here (module docstring)
                self._failed(error)
            else:
                self._answered()
                return result
        return await self.local.take_request(client, limit, now)

    async def take_slot(self, client: str, lease: str, limit: int, now: float) -> Slot | None:
        if self._use_shared():
            try:
                held = await self.shared.take_slot(client, lease, limit, now)
            except Exception as error:  # noqa: BLE001
                self._failed(error)
            else:
                self._answered()
                return Slot(client, lease, shared=True) if held else None
        held = await self.local.take_slot(client, lease, limit, now)
        return Slot(client, lease, shared=False) if held else None

    async def renew_slot(self, slot: Slot, now: float) -> None:
        store: LimitStore = self.shared if slot.shared else self.local
        try:
            await store.renew_slot(slot.client, slot.lease, now)
        except Exception as error:  # noqa: BLE001
            self._failed(error)

    async def release_slot(self, slot: Slot) -> None:
        store: LimitStore = self.shared if slot.shared else self.local
        try:
            await store.release_slot(slot.client, slot.lease)
        except Exception as error:  # noqa: BLE001 - the lease expires by itself
            self._failed(error)

    async def tokens_used(self, client: str, day: str) -> int:
        local = await self.local.tokens_used(client, day)
        if self.shared is not self.local and self._use_shared():
            try:
                shared = await self.shared.tokens_used(client, day)
            except Exception as error:  # noqa: BLE001
                self._failed(error)
            else:
                self._answered()
                return shared + local  # local: what was counted here while Redis was down
        return local

    async def add_tokens(self, client: str, day: str, tokens: int) -> None:
        if self._use_shared():
            try:
                await self.shared.add_tokens(client, day, tokens)
            except Exception as error:  # noqa: BLE001
                self._failed(error)
            else:
                self._answered()
                return
        await self.local.add_tokens(client, day, tokens)


def limit_store(redis_url: str | None) -> FallbackLimitStore:
    """The store for this process: Redis-backed with the local fallback, or local only."""
    local = LocalLimitStore()
    if redis_url:
        return FallbackLimitStore(RedisLimitStore(redis_url), local)
    return FallbackLimitStore(local, local)
