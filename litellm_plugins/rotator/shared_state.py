"""Cooldowns and session stickiness shared by every proxy worker and replica through Redis.

Configured by `REDIS_URL`, or LiteLLM's own `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`.
Keys (values never contain a token, only fingerprints):

    litellm_plugins:pool:<pool>:cool:<fingerprint>   "<until epoch>|<reason>", expires with the cooldown
    litellm_plugins:pool:<pool>:session:<hash>       "<fingerprint>", expires after the sticky period
    litellm_plugins:pool:<pool>:limits:<fingerprint> JSON: the token's subscription windows
                                                     (utilization, status, reset) and family rests

Each process keeps its own :class:`TokenPool` and consults Redis for the one candidate it is
about to use, so selection stays O(1) round trips whatever the pool size. A Redis outage is
logged and the pool carries on with its local view (a cooldown is an optimisation, not a
security decision).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Final

logger = logging.getLogger(__name__)

PREFIX: Final = "litellm_plugins:pool"
LOG_REDIS_DOWN: Final = "pool shared state: redis unavailable (%s); using this process's view"


def session_key(session: str) -> str:
    return hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SharedPoolState:
    def __init__(self, url: str, client: Any | None = None) -> None:
        if client is None:
            import redis.asyncio as redis_asyncio

            client = redis_asyncio.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._redis = client

    @staticmethod
    def _cool_key(pool: str, fp: str) -> str:
        return f"{PREFIX}:{pool}:cool:{fp}"

    @staticmethod
    def _session_key(pool: str, session: str) -> str:
        return f"{PREFIX}:{pool}:session:{session_key(session)}"

    async def cooling(self, pool: str, fp: str) -> tuple[float, str] | None:
        try:
            raw = await self._redis.get(self._cool_key(pool, fp))
        except Exception as error:  # noqa: BLE001 - any Redis failure degrades to local state
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)
            return None
        return _cooling_value(raw)

    @staticmethod
    def _limits_key(pool: str, fp: str) -> str:
        return f"{PREFIX}:{pool}:limits:{fp}"

    async def candidate(self, pool: str, fp: str) -> tuple[tuple[float, str] | None, Any]:
        """One round trip for the token about to be leased: (its cooldown, its limits document)."""
        try:
            cool_raw, limits_raw = await self._redis.mget(
                [self._cool_key(pool, fp), self._limits_key(pool, fp)]
            )
        except Exception as error:  # noqa: BLE001 - any Redis failure degrades to local state
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)
            return None, None
        return _cooling_value(cool_raw), _json_value(limits_raw)

    async def set_limits(self, pool: str, fp: str, document: dict[str, Any], seconds: float) -> None:
        try:
            await self._redis.set(self._limits_key(pool, fp), json.dumps(document), ex=max(60, int(seconds)))
        except Exception as error:  # noqa: BLE001
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)

    async def all_limits(self, pool: str) -> dict[str, Any]:
        """Every token's limits document for `pool` (for the status route)."""
        result: dict[str, Any] = {}
        try:
            async for key in self._redis.scan_iter(match=f"{PREFIX}:{pool}:limits:*", count=500):
                name = key.decode() if isinstance(key, bytes) else key
                document = _json_value(await self._redis.get(name))
                if document is not None:
                    result[name.rsplit(":", 1)[-1]] = document
        except Exception as error:  # noqa: BLE001
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)
        return result

    async def set_cooling(self, pool: str, fp: str, until: float, seconds: float, reason: str) -> None:
        try:
            await self._redis.set(
                self._cool_key(pool, fp), f"{until}|{reason}", px=max(1, int(seconds * 1000))
            )
        except Exception as error:  # noqa: BLE001
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)

    async def session_token(self, pool: str, session: str) -> str | None:
        try:
            raw = await self._redis.get(self._session_key(pool, session))
        except Exception as error:  # noqa: BLE001
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)
            return None
        return raw.decode() if isinstance(raw, bytes) else raw

    async def remember_session(self, pool: str, session: str, fp: str, seconds: float) -> None:
        try:
            await self._redis.set(self._session_key(pool, session), fp, ex=max(1, int(seconds)))
        except Exception as error:  # noqa: BLE001
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)

    async def all_cooling(self, pool: str) -> dict[str, tuple[float, str]]:
        """Every cooldown recorded for `pool` (for the status command)."""
        result: dict[str, tuple[float, str]] = {}
        try:
            async for key in self._redis.scan_iter(match=f"{PREFIX}:{pool}:cool:*", count=500):
                name = key.decode() if isinstance(key, bytes) else key
                found = await self.cooling(pool, name.rsplit(":", 1)[-1])
                if found:
                    result[name.rsplit(":", 1)[-1]] = found
        except Exception as error:  # noqa: BLE001
            logger.warning(LOG_REDIS_DOWN, type(error).__name__)
        return result


def _cooling_value(raw: Any) -> tuple[float, str] | None:
    if not raw:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    until, _, reason = text.partition("|")
    try:
        return float(until), reason
    except ValueError:
        return None


def _json_value(raw: Any) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except ValueError:
        return None
