"""The bundle's Prometheus metrics, on `prometheus_client`'s default registry.

Served by LiteLLM's own `/metrics` route, which its `prometheus` callback mounts on the
open-source proxy (no database, no licence; checked on 1.106.2 and 1.108.7); the bundle's
request guard keeps it for the master key (`Authorization: Bearer $LITELLM_MASTER_KEY`):

    litellm_settings:
      callbacks: ["prometheus", "litellm_plugins.hooks.request_transformer", ...]

Metrics (labels are names and fingerprints, never a secret):

    litellm_plugins_requests_total{client,group,deployment,token,status}      counter
    litellm_plugins_tokens_total{client,group,deployment,token,type}          counter
        type: input, output, cache_read, cache_write (as the provider reported them)
    litellm_plugins_failovers_total{pool,token,status}   a pooled token failed and another took over
    litellm_plugins_fallbacks_total{client,group,to_group}   an attempt in `group` failed and the
        request went on to `to_group` (`-` when no group served it in the end)
    litellm_plugins_pool_token_cooling{pool,token}              1 while the token cools, else 0
    litellm_plugins_pool_token_cooldown_seconds{pool,token}     seconds until it is healthy again
    litellm_plugins_pool_token_utilization{pool,token,window}   the subscription window's
        utilization (0..1), when the pool's token state has it
    litellm_plugins_pool_token_requests_total{pool,token}       leases of the token
    litellm_plugins_pool_token_rate_limits_total{pool,token}    429s the token got

The pool metrics are read from the rotator's pool status at scrape time (this worker's view;
not in LiteLLM's `PROMETHEUS_MULTIPROC_DIR` mode, whose registry reads only files on disk).
Counters are per process, as Prometheus expects: a scrape of each replica, summed by the query.
Without `prometheus_client` installed the metrics are off and a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from litellm_plugins.usage.record import NONE, Failover, UsageRecord, label

logger = logging.getLogger(__name__)

LOG_NO_CLIENT: Final = (
    "usage metrics off: prometheus_client is not installed (pip install prometheus-client, a "
    "dependency of litellm-plugins)"
)
PoolStatus = Callable[[], Sequence[Mapping[str, Any]]]
TOKEN_TYPES: Final = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache_read", "cache_read_tokens"),
    ("cache_write", "cache_write_tokens"),
)


def utilization_of(row: Mapping[str, Any]) -> dict[str, float]:
    """Window -> utilization from a pool status row: `utilization: {window: x}` or
    `windows: {window: {utilization: x, ...}}`; {} when the row has neither."""
    found: dict[str, float] = {}
    flat = row.get("utilization")
    if isinstance(flat, Mapping):
        for window, value in flat.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[label(str(window))] = float(value)
    windows = row.get("windows")
    if isinstance(windows, Mapping):
        for window, state in windows.items():
            value = state.get("utilization") if isinstance(state, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[label(str(window))] = float(value)
    return found


def pool_samples(
    rows: Sequence[Mapping[str, Any]], now: float
) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The pool metrics' samples from the pool status rows (pure)."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {
        "cooling": [],
        "cooldown_seconds": [],
        "utilization": [],
        "requests": [],
        "rate_limits": [],
    }
    for row in rows:
        labels = {"pool": label(row.get("pool")), "token": label(row.get("fingerprint"))}
        until = row.get("cooling_until")
        cooling = not row.get("healthy", True)
        samples["cooling"].append((labels, 1.0 if cooling else 0.0))
        remaining = float(until) - now if cooling and isinstance(until, (int, float)) else 0.0
        samples["cooldown_seconds"].append((labels, max(0.0, remaining)))
        for window, value in utilization_of(row).items():
            samples["utilization"].append(({**labels, "window": window}, value))
        for key in ("requests", "rate_limits"):
            value = row.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                samples[key].append((labels, float(value)))
    return samples


class UsageMetrics:
    """The counters and the pool collector, registered once on `registry` (the default one)."""

    def __init__(self, registry: Any, pool_status: PoolStatus | None, clock: Callable[[], float]) -> None:
        from prometheus_client import Counter

        self._pool_status = pool_status
        self._clock = clock
        usage = ["client", "group", "deployment", "token"]
        self.requests = Counter(
            "litellm_plugins_requests",
            "Requests per client, group, deployment, pooled token and status",
            [*usage, "status"],
            registry=registry,
        )
        self.tokens = Counter(
            "litellm_plugins_tokens",
            "Tokens as the provider reported them, per type",
            [*usage, "type"],
            registry=registry,
        )
        self.failovers = Counter(
            "litellm_plugins_failovers",
            "Pooled tokens that failed and were replaced inside a request",
            ["pool", "token", "status"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "litellm_plugins_fallbacks",
            "Attempts in one group that failed before another group was tried",
            ["client", "group", "to_group"],
            registry=registry,
        )
        if pool_status is not None:
            registry.register(_PoolCollector(self))

    def observe(
        self, record: UsageRecord, failovers: Sequence[Failover], fallback_groups: Sequence[str]
    ) -> None:
        usage = (record.client, record.group, record.deployment, record.token)
        self.requests.labels(*usage, str(record.status)).inc()
        counts = record.counts()
        for kind, counter in TOKEN_TYPES:
            if counts[counter]:
                self.tokens.labels(*usage, kind).inc(counts[counter])
        for failover in failovers:
            self.failovers.labels(failover.pool, failover.token, failover.status).inc()
        for group in fallback_groups:
            self.fallbacks.labels(record.client, label(group), record.group).inc()

    def pool_rows(self) -> Sequence[Mapping[str, Any]]:
        if self._pool_status is None:
            return []
        try:
            return self._pool_status()
        except Exception as error:  # noqa: BLE001 - a scrape must not fail for the pool's sake
            logger.warning("usage metrics: the pool status is unavailable (%s)", type(error).__name__)
            return []


class _PoolCollector:
    """Reads the rotator's pool status at each scrape."""

    def __init__(self, metrics: UsageMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Any]:
        return []  # the samples depend on the pool: collected at scrape time only

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        samples = pool_samples(self._metrics.pool_rows(), self._metrics._clock())
        families = {
            "cooling": GaugeMetricFamily(
                "litellm_plugins_pool_token_cooling",
                "1 while the pooled token cools",
                labels=["pool", "token"],
            ),
            "cooldown_seconds": GaugeMetricFamily(
                "litellm_plugins_pool_token_cooldown_seconds",
                "Seconds until the pooled token is healthy",
                labels=["pool", "token"],
            ),
            "utilization": GaugeMetricFamily(
                "litellm_plugins_pool_token_utilization",
                "Subscription window utilization (0..1)",
                labels=["pool", "token", "window"],
            ),
            "requests": CounterMetricFamily(
                "litellm_plugins_pool_token_requests", "Leases of the pooled token", labels=["pool", "token"]
            ),
            "rate_limits": CounterMetricFamily(
                "litellm_plugins_pool_token_rate_limits",
                "429s the pooled token got",
                labels=["pool", "token"],
            ),
        }
        for key, family in families.items():
            for labels, value in samples[key]:
                family.add_metric(list(labels.values()), value)
            yield family


def create_metrics(
    registry: Any, pool_status: PoolStatus | None, clock: Callable[[], float]
) -> UsageMetrics | None:
    """The metrics on `registry` (None: the default registry), or None without prometheus_client."""
    try:
        import prometheus_client
    except ImportError:
        logger.warning(LOG_NO_CLIENT)
        return None
    try:
        return UsageMetrics(prometheus_client.REGISTRY if registry is None else registry, pool_status, clock)
    except ValueError as error:  # a second copy of the bundle in this process: the first one counts
        logger.warning("usage metrics off in this copy of the bundle: %s", error)
        return None


__all__ = ["NONE", "UsageMetrics", "create_metrics", "pool_samples", "utilization_of"]
