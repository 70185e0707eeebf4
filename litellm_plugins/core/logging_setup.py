"""One handler for the bundle's loggers, with the redacting filter as a backstop.

LiteLLM configures its own loggers only; without this, the plugins' INFO lines (what the
transformer changed, which token fingerprint served a request) would be dropped by the root
logger's default WARNING level. Level from `LITELLM_PLUGINS_LOG_LEVEL` (default INFO).

Every handler this process logs through (the bundle's, the root logger's, LiteLLM's and
uvicorn's) also gets the one-line filter of :mod:`litellm_plugins.log_safety`: a client string
(a model id with CR/LF, NUL bytes, 100 KB) cannot write a line of its own or flood the log.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from litellm_plugins.core.log_safety import SafeLogFilter
from litellm_plugins.core.redaction import RedactingFilter

PACKAGE_LOGGER = "litellm_plugins"
FORMAT = "%(asctime)s - litellm_plugins:%(levelname)s: %(name)s - %(message)s"
# LiteLLM's loggers (litellm/_logging.py) and uvicorn's keep handlers of their own.
OTHER_LOGGERS = ("LiteLLM", "LiteLLM Proxy", "LiteLLM Router", "uvicorn", "uvicorn.access", "uvicorn.error")


def configure_logging(environ: Mapping[str, str] | None = None) -> logging.Logger:
    environ = os.environ if environ is None else environ
    logger = logging.getLogger(PACKAGE_LOGGER)
    if not any(getattr(handler, "_litellm_plugins", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
        handler.addFilter(RedactingFilter())
        handler.addFilter(SafeLogFilter())
        handler._litellm_plugins = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    level = environ.get("LITELLM_PLUGINS_LOG_LEVEL", "INFO").upper()
    logger.setLevel(getattr(logging, level, logging.INFO))
    # Whatever else logs in this process (LiteLLM included) gets the same backstops.
    handlers = list(logging.getLogger().handlers)
    for name in OTHER_LOGGERS:
        handlers += logging.getLogger(name).handlers
    for existing in handlers:
        if not any(isinstance(f, RedactingFilter) for f in existing.filters):
            existing.addFilter(RedactingFilter())
        if not any(isinstance(f, SafeLogFilter) for f in existing.filters):
            existing.addFilter(SafeLogFilter())
    return logger
