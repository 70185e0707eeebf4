"""Where usage counters live: in this process, or in Redis shared by every worker and replica.

Keys (values are counts; fields name a client, group, deployment, token fingerprint, status
and counter, never a secret):

    litellm_plugins:usage:minute:<epoch minute>   hash, expires after two hours
    litellm_plugins:usage:day:<YYYY-MM-DD>        hash, expires after two days
    litellm_plugins:usage:total                   hash

A field is the JSON array `[client, group, deployment, token, status, counter]`. A Redis outage
is logged and usage carries on in this process (counting is not a security decision): what
was counted locally meanwhile is shown while Redis is down and not merged back later.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any, Final, Protocol

from litellm_plugins.usage.record import COUNTERS, UsageRecord
from litellm_plugins.usage.windows import buckets_to_add, buckets_to_read

logger = logging.getLogger(__name__)

PREFIX: Final = "litellm_plugins:usage"
LOG_REDIS_DOWN: Final = "usage: redis unavailable (%s); counting in this process meanwhile"
RETRY_REDIS_SECONDS: Final = 5.0
Dimensions = tuple[str, str, str, str, int]
Totals = dict[Dimensions, dict[str, int]]


class UsageStore(Protocol):
    name: str

    async def add(self, record: UsageRecord, now: float) -> None: ...

    async def read(self, window: str, now: float) -> Totals: ...


def merge(into: Totals, dimensions: Dimensions, counter: str, amount: int) -> None:
    if counter in COUNTERS and amount:
        row = into.setdefault(dimensions, dict.fromkeys(COUNTERS, 0))
        row[counter] += amount


def encode_field(dimensions: Dimensions, counter: str) -> str:
    return json.dumps([*dimensions, counter], separators=(",", ":"))


def decode_field(raw: bytes | str) -> tuple[Dimensions, str] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not (isinstance(value, list) and len(value) == 6 and all(isinstance(v, str) for v in value[:4])):
        return None
    if not isinstance(value[4], int) or not isinstance(value[5], str):
        return None
    return (value[0], value[1], value[2], value[3], value[4]), value[5]


class LocalUsageStore:
    """The counters of this process, behind one lock; expired buckets are dropped as time passes."""

    name = "in-process"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Totals] = {}
        self._expires: dict[str, float] = {}

    def add_now(self, record: UsageRecord, now: float) -> None:
        with self._lock:
            for bucket, ttl in buckets_to_add(now):
                totals = self._buckets.setdefault(bucket, {})
                for counter, amount in record.counts().items():
                    merge(totals, record.dimensions, counter, amount)
                if ttl is not None:
                    self._expires.setdefault(bucket, now + ttl)
            for bucket in [b for b, until in self._expires.items() if until <= now]:
                self._buckets.pop(bucket, None)
                del self._expires[bucket]

    def read_now(self, window: str, now: float) -> Totals:
        names = buckets_to_read(window, now)
        result: Totals = {}
        with self._lock:
            for name in names:
                if self._expires.get(name, now + 1) <= now:
                    continue
                for dimensions, row in self._buckets.get(name, {}).items():
                    for counter, amount in row.items():
                        merge(result, dimensions, counter, amount)
        return result

    def bucket_count(self) -> int:
        with self._lock:
            return len(self._buckets)

    async def add(self, record: UsageRecord, now: float) -> None:
        self.add_now(record, now)

    async def read(self, window: str, now: float) -> Totals:
        return self.read_now(window, now)


class RedisUsageStore:
    """Counters in Redis (HINCRBY per bucket, one pipeline per request), this process's as fallback."""

    name = "redis"

    def __init__(self, url: str, client: Any | None = None) -> None:
        if client is None:
            import redis.asyncio as redis_asyncio

            client = redis_asyncio.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._redis = client
        self.local = LocalUsageStore()
        self._down_until = 0.0

    def _down(self, error: Exception, now: float) -> None:
        if self._down_until <= now:
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)
        self._down_until = now + RETRY_REDIS_SECONDS

    async def add(self, record: UsageRecord, now: float) -> None:
        if self._down_until > now:
            self.local.add_now(record, now)
            return
        try:
            pipe = self._redis.pipeline(transaction=False)
            for bucket, ttl in buckets_to_add(now):
                key = f"{PREFIX}:{bucket}"
                for counter, amount in record.counts().items():
                    if amount:
                        pipe.hincrby(key, encode_field(record.dimensions, counter), amount)
                if ttl is not None:
                    pipe.expire(key, ttl)
            await pipe.execute()
        except Exception as error:  # noqa: BLE001 - any Redis failure degrades to local counting
            self._down(error, now)
            self.local.add_now(record, now)

    async def read(self, window: str, now: float) -> Totals:
        names = buckets_to_read(window, now)
        if self._down_until > now:
            return self.local.read_now(window, now)
        try:
            pipe = self._redis.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(f"{PREFIX}:{name}")
            hashes: Iterable[dict[Any, Any]] = await pipe.execute()
        except Exception as error:  # noqa: BLE001
            self._down(error, now)
            return self.local.read_now(window, now)
        result = {}
        for found in hashes:
            for raw_field, raw_value in (found or {}).items():
                decoded = decode_field(raw_field)
                if decoded is None:
                    continue
                try:
                    amount = int(raw_value)
                except (TypeError, ValueError):
                    continue
                merge(result, decoded[0], decoded[1], amount)
        return result
