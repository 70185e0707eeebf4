"""The single instance of each plugin, created on first import of this module.

Kept apart from :mod:`litellm_plugins.hooks` so that LiteLLM executing `hooks.py` afresh (see its
docstring) still finds these objects in `sys.modules` instead of building second copies.

When the proxy loads its config (LiteLLM imports this module then), the settings of every
plugin are read and validated, so a weak proxy token or a malformed pool stops the proxy at
startup with a message that says how to fix it, and the bundle's ASGI layers are installed on
the proxy app: the request guard, Anthropic-shaped errors on /v1/messages, the pool status route, the
count_tokens route (:mod:`litellm_plugins.transformer.count_tokens`) and the garbage-collection tuning of `litellm_plugins.garbage_collection` when it is configured.
"""

from __future__ import annotations

import sys

from litellm_plugins.auth.hook import StaticTokenAuth
from litellm_plugins.transformer.count_tokens import TokenCounter
from litellm_plugins.transformer.count_tokens import install as install_count_tokens
from litellm_plugins.core.gc_tuning import install as install_gc_tuning
from litellm_plugins.core.gc_tuning import parse_gc_settings
from litellm_plugins.core.logging_setup import configure_logging
from litellm_plugins.guards.protocol_errors import install as install_protocol_errors
from litellm_plugins.guards.request_guard import install as install_request_guard
from litellm_plugins.rotator.hook import TokenRotator
from litellm_plugins.core.settings import load_settings
from litellm_plugins.rotator.status_route import install as install_status_route
from litellm_plugins.thinking.hook import ThinkingStripper
from litellm_plugins.transformer.hook import RequestTransformer
from litellm_plugins.guards.upstream_guard import UpstreamGuard

configure_logging()

request_transformer = RequestTransformer()
static_token_auth = StaticTokenAuth.from_environ()
user_api_key_auth = static_token_auth.user_api_key_auth
token_rotator = TokenRotator()
thinking_stripper = ThinkingStripper()
upstream_guard = UpstreamGuard()

_proxy_server = sys.modules.get("litellm.proxy.proxy_server")
if _proxy_server is not None:  # loaded by the proxy: validate now, not at the first request
    _plugin_settings = load_settings()  # config.yaml read once for every plugin that validates now
    token_rotator.configure(_plugin_settings)
    thinking_stripper.configure(_plugin_settings)
    _gc_settings = parse_gc_settings(_plugin_settings)
    _app = getattr(_proxy_server, "app", None)
    if _app is not None:
        # Each wraps the stack built so far: the last installed sees a request first.
        install_protocol_errors(_app)
        install_status_route(_app, token_rotator.status_report)
        install_request_guard(_app)
        install_gc_tuning(_app, _gc_settings)
        install_count_tokens(
            _app,
            TokenCounter(
                _plugin_settings.model_aliases,
                token_rotator.settings.is_anthropic_api,
                token_rotator.count_credential,
            ),
        )

__all__ = [
    "request_transformer",
    "static_token_auth",
    "thinking_stripper",
    "token_rotator",
    "upstream_guard",
    "user_api_key_auth",
]
