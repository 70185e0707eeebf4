"""What the running LiteLLM proxy knows, read at the moment it is needed (never cached).

The master key is resolved by LiteLLM from `general_settings.master_key` while it loads the
config, after the plugins are imported: it is looked up per request, here, for every plugin.
"""

from __future__ import annotations

import os
import sys
from typing import Any

PROXY_SERVER_MODULE = "litellm.proxy.proxy_server"


def running_proxy_server() -> Any | None:
    """LiteLLM's `proxy_server` module when this process is the proxy, else None (never imports it)."""
    return sys.modules.get(PROXY_SERVER_MODULE)


def running_master_key() -> str | None:
    """The master key the running proxy resolved from its config, else `LITELLM_MASTER_KEY`."""
    proxy_server = running_proxy_server()
    value = getattr(proxy_server, "master_key", None) if proxy_server is not None else None
    if isinstance(value, str) and value:
        return value
    return os.environ.get("LITELLM_MASTER_KEY") or None
