"""One handler for the bundle's loggers, with the redacting filter as a backstop.

LiteLLM configures its own loggers only; without this, the plugins' INFO lines (what the
transformer changed, which token fingerprint served a request) would be dropped by the root
logger's default WARNING level. Level from `LITELLM_PLUGINS_LOG_LEVEL` (default INFO).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from litellm_plugins.core.redaction import RedactingFilter

PACKAGE_LOGGER = "litellm_plugins"
FORMAT = "%(asctime)s - litellm_plugins:%(levelname)s: %(name)s - %(message)s"


def configure_logging(environ: Mapping[str, str] | None = None) -> logging.Logger:
    environ = os.environ if environ is None else environ
    logger = logging.getLogger(PACKAGE_LOGGER)
    if not any(getattr(handler, "_litellm_plugins", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
        handler.addFilter(RedactingFilter())
        handler._litellm_plugins = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    level = environ.get("LITELLM_PLUGINS_LOG_LEVEL", "INFO").upper()
    logger.setLevel(getattr(logging, level, logging.INFO))
    # Whatever else logs in this process (LiteLLM included) gets the same backstop.
    for existing in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in existing.filters):
            existing.addFilter(RedactingFilter())
    return logger
