"""The single instance of each plugin, created on first import of this module.

Kept apart from :mod:`litellm_plugins.hooks` so that LiteLLM executing `hooks.py` afresh (see its
docstring) still finds these objects in `sys.modules` instead of building second copies.

When the proxy loads its config (LiteLLM imports this module then), the settings of every
plugin are read and validated, so a weak proxy token, a malformed pool or a `model_info` value
of the wrong type (which LiteLLM would answer with a 500 on every request) stops the proxy at
startup with a message that says how to fix it, and the bundle's ASGI layers are installed on
the proxy app: the request guard (which asks the auth decision before it reads a body),
Anthropic-shaped errors on /v1/messages, internals hidden from proxy tokens, the pool status route,
the count_tokens route (:mod:`litellm_plugins.count_tokens`)
and the garbage-collection tuning of `litellm_plugins.garbage_collection` when it is configured.
"""

from __future__ import annotations

import sys

from litellm_plugins.auth import StaticTokenAuth
from litellm_plugins.count_tokens import TokenCounter
from litellm_plugins.count_tokens import install as install_count_tokens
from litellm_plugins.gc_tuning import install as install_gc_tuning
from litellm_plugins.gc_tuning import parse_gc_settings
from litellm_plugins.internals_filter import install as install_internals_filter
from litellm_plugins.logging_setup import configure_logging
from litellm_plugins.protocol_errors import install as install_protocol_errors
from litellm_plugins.request_log import RequestLog
from litellm_plugins.request_guard import install as install_request_guard
from litellm_plugins.rotator import TokenRotator
from litellm_plugins.model_info_rules import validate_model_list
from litellm_plugins.settings import SECTION, load_document, parse_settings
from litellm_plugins.status_route import install as install_status_route
from litellm_plugins.thinking import ThinkingStripper
from litellm_plugins.transformer import RequestTransformer
from litellm_plugins.upstream_guard import UpstreamGuard

configure_logging()

request_transformer = RequestTransformer()
static_token_auth = StaticTokenAuth.from_environ()
user_api_key_auth = static_token_auth.user_api_key_auth
token_rotator = TokenRotator()
thinking_stripper = ThinkingStripper()
upstream_guard = UpstreamGuard()
request_log = RequestLog()

_proxy_server = sys.modules.get("litellm.proxy.proxy_server")
if _proxy_server is not None:  # loaded by the proxy: validate now, not at the first request
    _document = load_document()  # config.yaml read once for every plugin that validates now
    validate_model_list(_document.get("model_list"))  # LiteLLM would answer 500 to each request
    _plugin_settings = parse_settings(_document.get(SECTION))
    token_rotator.configure(_plugin_settings)
    thinking_stripper.configure(_plugin_settings)
    upstream_guard.configure(_plugin_settings)
    _gc_settings = parse_gc_settings(_plugin_settings)
    _app = getattr(_proxy_server, "app", None)
    if _app is not None:
        # Each wraps the stack built so far: the last installed sees a request first.
        install_protocol_errors(_app)
        install_internals_filter(_app)  # outside protocol errors: sees the final error shapes
        install_status_route(_app, token_rotator.status_report)
        install_request_guard(_app, gate=static_token_auth.refusal)
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
    "request_log",
    "request_transformer",
    "static_token_auth",
    "thinking_stripper",
    "token_rotator",
    "upstream_guard",
    "user_api_key_auth",
]
