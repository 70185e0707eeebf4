"""Python's garbage collector tuned for a long-running proxy: `litellm_plugins.garbage_collection`.

A LiteLLM proxy holds a few hundred MB of long-lived objects (its modules, the model cost map,
FastAPI's routes) and allocates many short-lived ones per request. With CPython's defaults a
young collection runs every 700 allocations and, every so often, a full collection walks the
whole heap: measured on the Claude Code streaming path (bench/README.md), about 2.8 ms of GC per
request, most of it full collections that stop the event loop, and every stream in it, for
0.5-0.9 s at a time. Two settings remove most of it:

    litellm_plugins:
      garbage_collection:
        freeze_after_startup: true      # gc.freeze() once the first POST request has been served
        thresholds: [20000, 50, 100]    # gc.set_threshold(...); PYTHON_GC_THRESHOLD wins if set

`freeze_after_startup` moves every object that exists after the first POST request (everything
startup and LiteLLM's lazy imports for a model call created; health checks are GETs) into the
permanent generation, which collections no longer walk; it costs one full collection, once, right
after that request. Larger thresholds run young collections less often (each finds the same
garbage). The trade: cyclic garbage lives a little longer, and objects of the startup that later
become garbage are never freed (startup state lives as long as the process anyway). Without the
section nothing is changed.
LiteLLM's own `PYTHON_GC_THRESHOLD` (`gen0,gen1,gen2`) is applied by LiteLLM and left alone.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from litellm_plugins.core.asgi import ASGIApp, Receive, Scope, Send, install_layer
from litellm_plugins.core.settings import SECTION, PluginSettings, SettingsError

logger = logging.getLogger(__name__)

GC_SECTION: Final = "garbage_collection"
KNOWN_KEYS: Final = frozenset({"freeze_after_startup", "thresholds"})
LITELLM_THRESHOLD_VARIABLE: Final = "PYTHON_GC_THRESHOLD"
LOG_THRESHOLDS: Final = "garbage collection: thresholds set to %s"
LOG_THRESHOLDS_LEFT: Final = "garbage collection: %s is set, so thresholds stay %s"
LOG_FROZEN: Final = "garbage collection: %d startup objects frozen after the first request"


@dataclass(frozen=True)
class GarbageCollectionSettings:
    freeze_after_startup: bool = False
    thresholds: tuple[int, int, int] | None = None


def parse_gc_settings(plugin_settings: PluginSettings) -> GarbageCollectionSettings:
    section = plugin_settings.checked_section(GC_SECTION, KNOWN_KEYS)
    where = f"{SECTION}.{GC_SECTION}"
    freeze = section.get("freeze_after_startup", False)
    if not isinstance(freeze, bool):
        raise SettingsError(f"{where}.freeze_after_startup must be true or false, got {freeze!r}")
    raw = section.get("thresholds")
    thresholds = None
    if raw is not None:
        if (
            not isinstance(raw, list)
            or len(raw) != 3
            or not all(isinstance(value, int) and not isinstance(value, bool) and value > 0 for value in raw)
        ):
            raise SettingsError(
                f"{where}.thresholds must be three positive integers (young, middle, old), "
                "e.g. [20000, 50, 100]"
            )
        thresholds = (raw[0], raw[1], raw[2])
    return GarbageCollectionSettings(freeze_after_startup=freeze, thresholds=thresholds)


def apply_thresholds(settings: GarbageCollectionSettings, environ: Mapping[str, str] | None = None) -> bool:
    """Set the collector's thresholds unless LiteLLM's own variable chose them; returns whether it did."""
    environ = os.environ if environ is None else environ
    if settings.thresholds is None:
        return False
    if environ.get(LITELLM_THRESHOLD_VARIABLE):
        logger.info(LOG_THRESHOLDS_LEFT, LITELLM_THRESHOLD_VARIABLE, gc.get_threshold())
        return False
    gc.set_threshold(*settings.thresholds)
    logger.info(LOG_THRESHOLDS, settings.thresholds)
    return True


def freeze_startup_objects() -> int:
    """Collect what startup left as garbage, then exempt the rest from future collections."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class FreezeAfterFirstRequest:
    """ASGI layer: freeze once, after the first POST request has been answered, then pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.frozen = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.frozen or scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            if not self.frozen:
                self.frozen = True
                logger.info(LOG_FROZEN, freeze_startup_objects())


def install(app: Any, settings: GarbageCollectionSettings) -> bool:
    """Apply the thresholds now and, if asked, install the freeze layer; returns whether it installed it."""
    apply_thresholds(settings)
    if not settings.freeze_after_startup:
        return False
    return install_layer(app, FreezeAfterFirstRequest)
