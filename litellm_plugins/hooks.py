"""The names `config.yaml` points at.

LiteLLM resolves `litellm_plugins.hooks.<name>` by executing `<config dir>/litellm_plugins/hooks.py`
as a fresh module when that file exists (a repo checkout or a Docker mount), or by importing it
normally (pip install). Either way this file only re-exports instances created once in their
own modules, so every config entry and every import shares the same objects and state.

    litellm_settings:
      callbacks: ["litellm_plugins.hooks.request_transformer", "litellm_plugins.hooks.token_rotator"]
    general_settings:
      custom_auth: litellm_plugins.hooks.user_api_key_auth

`litellm_plugins.hooks.thinking_stripper` goes in the same callbacks list (thinking across providers),
and so do `litellm_plugins.hooks.upstream_guard` and, last, `litellm_plugins.hooks.request_log`
(one log line per request).
"""

from __future__ import annotations

from litellm_plugins.instances import (
    request_log,
    request_transformer,
    thinking_stripper,
    token_rotator,
    upstream_guard,
    user_api_key_auth,
)

__all__ = ["request_log", "request_transformer", "thinking_stripper", "token_rotator", "upstream_guard", "user_api_key_auth"]
