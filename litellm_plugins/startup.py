"""The bundle's startup, in one place: read the config once, validate every plugin, install the layers.

`litellm_plugins/hooks.py`, the module `config.yaml` points at, calls :func:`start_in_proxy` when
LiteLLM loads it; LiteLLM does that once per config entry naming it, and :func:`start` runs once
per proxy process (a marker on LiteLLM's `proxy_server` module). In order:

1. logging: one handler for the bundle's loggers with the redacting filter
   (`LITELLM_PLUGINS_LOG_LEVEL`, :mod:`litellm_plugins.core.logging_setup`);
2. `config.yaml`'s `litellm_plugins:` section, read once (:mod:`litellm_plugins.core.settings`);
3. every deployment's `model_info` types (:mod:`litellm_plugins.core.model_info`), then every
   plugin validated and configured: the request transformer (`model_aliases`, `routing`: each
   rule's conditions and that its target is a group of `model_list`), the static-token
   auth (`PROXY_STATIC_TOKEN`, ...), the token rotator (`CLAUDE_OAUTH_TOKENS`, `pools`,
   `anthropic_api_bases`, `REDIS_URL`), the upstream guard (`third_party_anthropic_betas`), the
   thinking stripper (`thinking`), the client limits (`clients`) and the garbage-collection settings
   (`garbage_collection`). A bad
   value raises :class:`~litellm_plugins.core.settings.SettingsError`, which stops the proxy with a
   message that says how to fix it, instead of failing a user's first request;
4. the ASGI layers on the proxy app. Each wraps the stack built so far, so the last installed sees
   a request first: the request guard (which asks the auth decision before it reads a body),
   then the client limits (when `clients` is configured),
   then the pool status route and the usage route, the internals filter, the protocol errors
   layer (and the garbage-collection freeze), the stream layer (the upstream guard's and the
   thinking stripper's work on streamed replies), then LiteLLM; the count_tokens route goes in front of
   LiteLLM's own routes.

Importing this module (or any other of the package) has no side effects.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from litellm_plugins import instances
from litellm_plugins.core.gc_tuning import install as install_gc_tuning
from litellm_plugins.core.gc_tuning import parse_gc_settings
from litellm_plugins.core.logging_setup import configure_logging
from litellm_plugins.core.model_info import validate_model_list
from litellm_plugins.core.proxy import running_proxy_server
from litellm_plugins.core.settings import SECTION, load_document, parse_settings
from litellm_plugins.guards.internals_filter import install as install_internals_filter
from litellm_plugins.guards.protocol_errors import install as install_protocol_errors
from litellm_plugins.guards.request_guard import install as install_request_guard
from litellm_plugins.limits.admission import install as install_client_limits
from litellm_plugins.rotator.status_route import install as install_status_route
from litellm_plugins.streams.layer import install as install_stream_layer
from litellm_plugins.transformer.count_tokens import TokenCounter
from litellm_plugins.transformer.count_tokens import install as install_count_tokens
from litellm_plugins.usage.route import install as install_usage_route

logger = logging.getLogger(__name__)

STARTED_MARKER: Final = "_litellm_plugins_started"


def model_groups(model_list: Any) -> frozenset[str]:
    """The group names of config.yaml's `model_list` (what routing rules may target)."""
    entries = model_list if isinstance(model_list, list) else []
    return frozenset(str(e["model_name"]) for e in entries if isinstance(e, Mapping) and e.get("model_name"))


def start(
    proxy_server: Any,
    environ: Mapping[str, str] | None = None,
    config: Path | None = None,
    plugins: Any = instances,
) -> bool:
    """Configure every plugin and install the ASGI layers on `proxy_server.app`; returns whether it ran.

    `proxy_server`: LiteLLM's `litellm.proxy.proxy_server` module (its `app`, the config path it
    loaded). Runs once per `proxy_server`; raises SettingsError for a bad setting. `plugins`: the
    instances to configure (:mod:`litellm_plugins.instances`; tests pass their own).
    """
    if getattr(proxy_server, STARTED_MARKER, False):
        return False
    environ = os.environ if environ is None else environ
    configure_logging(environ)
    document = load_document(config, environ)  # config.yaml read once for every plugin
    validate_model_list(document.get("model_list"))  # LiteLLM would answer 500 to each request
    plugin_settings = parse_settings(document.get(SECTION))
    plugins.request_transformer.configure(plugin_settings, model_groups(document.get("model_list")))
    plugins.static_token_auth.configure(environ)
    plugins.token_rotator.configure(plugin_settings, environ)
    plugins.upstream_guard.configure(plugin_settings)
    plugins.thinking_stripper.configure(plugin_settings)
    plugins.client_limits.configure(plugin_settings, environ, plugins.static_token_auth.client_names())
    plugins.claude_code_provider.configure(environ)
    token_rotator = plugins.token_rotator
    usage_counter = getattr(plugins, "usage_counter", None)  # tests may start without one
    if usage_counter is not None:
        usage_counter.configure(environ, pool_status=token_rotator.status)
    gc_settings = parse_gc_settings(plugin_settings)
    app = getattr(proxy_server, "app", None)
    if app is not None:
        # Each wraps the stack built so far: the last installed sees a request first.
        install_stream_layer(  # innermost: the reply's bytes as LiteLLM wrote them
            app,
            plan=plugins.thinking_stripper.stream_plan,
            record=plugins.thinking_stripper.record_response,
            on_cut=plugins.upstream_guard.stream_cut,
            chat_cut=plugins.upstream_guard.chat_stream_cut,
        )
        install_protocol_errors(app)
        install_internals_filter(app)  # outside protocol errors: sees the final error shapes
        install_status_route(app, token_rotator.status_report)
        if usage_counter is not None:
            install_usage_route(app, usage_counter.report)
        if plugins.client_limits.limiter is not None:  # inside the guard: counts authenticated requests
            install_client_limits(app, plugins.static_token_auth.client_name, plugins.client_limits.limiter)
        install_request_guard(app, gate=plugins.static_token_auth.refusal)
        install_gc_tuning(app, gc_settings)
        install_count_tokens(
            app,
            TokenCounter(
                plugin_settings.model_aliases,
                token_rotator.settings.is_anthropic_api,
                token_rotator.count_credential,
                plugins.request_transformer.count_route,
            ),
        )
    setattr(proxy_server, STARTED_MARKER, True)
    logger.info("startup: every plugin configured from one read of the config; ASGI layers installed")
    return True


def start_in_proxy() -> bool:
    """:func:`start` when this process is a LiteLLM proxy loading its config; nothing otherwise."""
    proxy_server = running_proxy_server()
    return start(proxy_server) if proxy_server is not None else False
