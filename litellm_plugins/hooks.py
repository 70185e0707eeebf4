"""The names `config.yaml` points at.

LiteLLM resolves `litellm_plugins.hooks.<name>` by executing `<config dir>/litellm_plugins/hooks.py`
as a fresh module when that file exists (a repo checkout or a Docker mount), or by importing it
normally (pip install). Either way this file only re-exports instances created once in their
own module (:mod:`litellm_plugins.instances`), so every config entry and every import shares the
same objects and state, and starts the bundle (:func:`litellm_plugins.startup.start`, once per
proxy) when the proxy is loading its config.

    litellm_settings:
      callbacks:                      # this order: LiteLLM runs the hooks in `callbacks` order
        - litellm_plugins.hooks.request_transformer
        - litellm_plugins.hooks.client_limits
        - litellm_plugins.hooks.token_rotator
        - litellm_plugins.hooks.upstream_guard
        - litellm_plugins.hooks.thinking_stripper
        - litellm_plugins.hooks.request_log
    general_settings:
      custom_auth: litellm_plugins.hooks.user_api_key_auth
"""

from __future__ import annotations

from litellm_plugins.instances import (
    claude_code_provider,
    client_limits,
    request_log,
    request_transformer,
    thinking_stripper,
    token_rotator,
    upstream_guard,
    user_api_key_auth,
)
from litellm_plugins.startup import start_in_proxy

# The order config.yaml.example ships and every integration test runs (see PLUGIN_ORDER's test).
PLUGIN_ORDER = (
    "request_transformer",
    "client_limits",
    "token_rotator",
    "upstream_guard",
    "thinking_stripper",
    "request_log",
)

start_in_proxy()

__all__ = [
    "PLUGIN_ORDER",
    "claude_code_provider",
    "client_limits",
    "request_log",
    "request_transformer",
    "thinking_stripper",
    "token_rotator",
    "upstream_guard",
    "user_api_key_auth",
]
