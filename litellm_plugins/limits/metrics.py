"""`litellm_plugins_limit_refusals_total{client,limit}`: requests a client limit refused.

Registered in prometheus_client's default `REGISTRY`, so the bundle's metrics endpoint (and
LiteLLM's own `/metrics`) shows it; `limit` is `requests_per_minute`, `tokens_per_day`,
`max_concurrent` or `model_groups`, `client` the proxy token's name (never a secret). Without
prometheus_client installed the counts are kept here only (:meth:`RefusalCounter.value`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final

logger = logging.getLogger(__name__)

METRIC_NAME: Final = "litellm_plugins_limit_refusals"  # prometheus_client adds `_total`
METRIC_HELP: Final = "Requests a per-client limit (litellm_plugins.clients) refused, by client and limit"
LABELS: Final = ("client", "limit")


def _prometheus_counter() -> Any | None:
    try:
        from prometheus_client import REGISTRY, Counter
    except ImportError:
        logger.info("limits: prometheus_client is not installed; %s_total is not exported", METRIC_NAME)
        return None
    try:
        return Counter(METRIC_NAME, METRIC_HELP, LABELS)
    except ValueError:  # registered already (a second copy of this module): use that one
        return REGISTRY._names_to_collectors.get(f"{METRIC_NAME}_total")


class RefusalCounter:
    def __init__(self, exported: Any | None = None) -> None:
        self._exported = exported
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}

    @classmethod
    def default(cls) -> RefusalCounter:
        return cls(_prometheus_counter())

    def count(self, client: str, limit: str) -> None:
        with self._lock:
            self._counts[(client, limit)] = self._counts.get((client, limit), 0) + 1
        if self._exported is not None:
            self._exported.labels(client=client, limit=limit).inc()

    def value(self, client: str, limit: str) -> int:
        with self._lock:
            return self._counts.get((client, limit), 0)
