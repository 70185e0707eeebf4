"""The usage counter: each finished request's record into the windows and the metrics.

Not a callback of its own: the request log (:mod:`litellm_plugins.request_log.hook`), which
already runs once per request on success and on failure, hands it each request's record.
Settings: `REDIS_URL` (or `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`) to share the counters
between workers and replicas (:mod:`litellm_plugins.usage.store`); none in config.yaml. The
report is served by :mod:`litellm_plugins.usage.route`, the metrics by LiteLLM's `/metrics`
(:mod:`litellm_plugins.usage.metrics`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final

from litellm_plugins.core.proxy import running_proxy_server
from litellm_plugins.core.redis_url import redis_url_from
from litellm_plugins.usage.metrics import PoolStatus, UsageMetrics, create_metrics
from litellm_plugins.usage.record import Failover, UsageRecord, bounded, parse_failover
from litellm_plugins.usage.report import build_report
from litellm_plugins.usage.store import LocalUsageStore, RedisUsageStore, UsageStore
from litellm_plugins.usage.windows import window_start

logger = logging.getLogger(__name__)

LOG_STARTUP: Final = "usage: counters %s, metrics %s"


def running_model_groups() -> Collection[str]:
    """The model group names the running proxy's router knows (empty outside a proxy)."""
    proxy_server = running_proxy_server()
    router = getattr(proxy_server, "llm_router", None) if proxy_server is not None else None
    names = getattr(router, "model_names", None) if router is not None else None
    return frozenset(name for name in names or () if isinstance(name, str))


class UsageCounter:
    def __init__(
        self,
        store: UsageStore | None = None,
        clock: Callable[[], float] = time.time,
        registry: Any = None,
        group_names: Callable[[], Collection[str]] = running_model_groups,
    ) -> None:
        self._group_names = group_names
        self._store: UsageStore = store if store is not None else LocalUsageStore()
        self._clock = clock
        self._registry = registry
        self._metrics: UsageMetrics | None = None
        self._configured = False

    def configure(self, environ: Mapping[str, str], pool_status: PoolStatus | None = None) -> None:
        """Choose the store (Redis when the environment names one) and register the metrics, once."""
        if self._configured:
            return
        self._configured = True
        url = redis_url_from(environ)
        if url:
            self._store = RedisUsageStore(url)
        self._metrics = create_metrics(self._registry, pool_status, self._clock)
        logger.info(LOG_STARTUP, self._store.name, "on" if self._metrics else "off")

    @property
    def shared_state(self) -> str:
        return self._store.name

    async def record(
        self, record: UsageRecord, failovers: Sequence[str] = (), fallback_groups: Sequence[str] = ()
    ) -> None:
        """Count one finished request; `failovers` as the rotator records them (`<pool> fp:... HTTP 429`)."""
        names = self._group_names()
        record = bounded(record, names)
        fallback_groups = [group if not names or group in names else "-" for group in fallback_groups]
        await self._store.add(record, self._clock())
        if self._metrics is not None:
            parsed: list[Failover] = [f for f in map(parse_failover, failovers) if f is not None]
            self._metrics.observe(record, parsed, fallback_groups)

    async def report(self, window: str) -> dict[str, Any]:
        now = self._clock()
        totals = await self._store.read(window, now)
        return build_report(totals, window, window_start(window, now), self._store.name)
