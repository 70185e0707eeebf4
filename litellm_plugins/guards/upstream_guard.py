"""The upstream guard: what a request may cost upstream, and how upstream failures reach the client.

Hooks:
- `async_pre_call_hook`: client overrides of retries, timeouts and fallbacks (`x-litellm-num-retries`,
  `x-litellm-timeout`, body `num_retries`, `fallbacks`, `mock_*`, ...) are capped at the
  operator's `router_settings.num_retries` and `request_timeout`, or dropped
  (:mod:`litellm_plugins.client_overrides`).
- `async_pre_call_deployment_hook`: a base that is not Anthropic's own API gets only known
  `anthropic-beta` flags and no other client `anthropic-*` header
  (:mod:`litellm_plugins.anthropic_headers`); and once the provider refused the request as the
  client's own mistake (400, 404, 413, 422; :mod:`litellm_plugins.client_errors`), a fallback
  attempt is not made: the refusal itself reaches the client.
- `async_post_call_failure_deployment_hook`: remembers such a refusal for the request.
- `async_post_call_failure_hook`: LiteLLM's catch-all 500 for an upstream that could not be
  reached, cut the connection, or answered with something that is not a response becomes a
  502, and Anthropic's "overloaded" a 529 (:mod:`litellm_plugins.guards.upstream_errors`), so clients
  retry them as the transient failures they are.
  A 401/403 about a credential (LiteLLM's "Missing Anthropic API Key", a refused login or key)
  gets the fix for this bundle and `x-should-retry: false` (:mod:`litellm_plugins.claude_credential`).
- streams: a `/v1/messages` stream is checked frame by frame in the stream layer
  (:mod:`litellm_plugins.streams.layer`, :mod:`litellm_plugins.guards.stream_integrity`); a cut
  or corrupt upstream stream ends with an `event: error` frame. A `/v1/chat/completions` stream
  whose upstream ended without a `finish_reason` (LiteLLM would add `"stop"` and `[DONE]`) ends
  with an OpenAI error chunk `data: {"error": {...}}` and no `[DONE]`: only LiteLLM's own stream
  object knows the difference, which `async_post_call_response_headers_hook` (run before a
  stream starts) leaves in the request's stream context for the layer to ask at the finish
  chunk. No `async_post_call_streaming_iterator_hook`: with one registered, LiteLLM keeps every
  chunk of every stream and parses the whole reply again at its end.

Reads `litellm_plugins.anthropic_api_bases` and `third_party_anthropic_betas`. A stalled
upstream is ended by LiteLLM's `request_timeout` (set it in `litellm_settings`). Wire it with:

    litellm_settings:
      callbacks: [..., "litellm_plugins.hooks.upstream_guard", "litellm_plugins.hooks.thinking_stripper"]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger

from litellm_plugins.core.claude_credential import (
    QUIET_MARK,
    credential_error_fix,
    install_log_filter,
    mark_explained,
)
from litellm_plugins.core.deployment import provider_of
from litellm_plugins.core.errors import clean_message, hint_error_header
from litellm_plugins.core.request_metadata import metadata_value, request_metadata
from litellm_plugins.core.settings import NotStartedError, PluginSettings, SettingsError
from litellm_plugins.guards.anthropic_headers import extra_betas_setting, filter_anthropic_headers
from litellm_plugins.guards.client_errors import is_client_error
from litellm_plugins.guards.client_overrides import OperatorLimits, limit_client_overrides, operator_limits
from litellm_plugins.guards.upstream_errors import client_status_for
from litellm_plugins.streams import context as stream_context

logger = logging.getLogger(__name__)

STATE_KEY: Final = "litellm_plugins_upstream_guard"
LOG_REMAPPED: Final = "upstream guard: %s from the upstream reported as %s"
LOG_CREDENTIAL: Final = (
    "upstream guard: HTTP %s for %s: %s refused the credential (mode %s), answered with the fix: %s"
)
LOG_CUT: Final = "upstream guard: the upstream stream for %r ended badly; sent an error event"
LOG_OVERRIDES: Final = "upstream guard: client overrides capped or dropped: %s"
LOG_BETAS: Final = "upstream guard: %d unknown anthropic-* header(s) or beta flag(s) removed for %r"
LOG_NO_FALLBACK: Final = "upstream guard: %s %s is the client's own mistake; not falling back to %r"
_MISSING: Final = object()
MAX_STREAM_LAYERS: Final = 4


def explain_credential_error(request_data: Any, exception: Exception, status: int | None) -> None:
    """A 401/403 about a credential gets this bundle's fix in its message and `x-should-retry:
    false` (Claude Code retries a 401 about ten times without it)."""
    message = str(getattr(exception, "message", "") or exception)
    provider = getattr(exception, "llm_provider", None)
    mode = (
        (metadata_value(request_data, "litellm_plugins_rotator", dict) or {}).get("mode")
        if isinstance(request_data, dict)
        else None
    )
    fix = credential_error_fix(status, message, provider if isinstance(provider, str) else None, mode)
    if fix is None:
        return
    hint_error_header("x-should-retry", "false")
    if getattr(exception, QUIET_MARK, False):
        return  # a fallback's failure hook saw it already
    upstream = clean_message(message)[:300]
    try:
        # The upstream's own words go to the log line only: "invalid x-api-key" would make Claude
        # Code print its generic "Not logged in" instead of this fix.
        exception.message = fix  # type: ignore[attr-defined]
    except AttributeError:
        return
    install_log_filter()
    mark_explained(exception)
    logger.warning(LOG_CREDENTIAL, status, request_data.get("model"), provider, mode, upstream[:120])


def _layer_below(stream: Any) -> Any:
    """The stream a LiteLLM pass-through layer reads from, or None.

    1.108 hands the hook a boundary object (`_source`) around the router's fallback wrapper,
    which reads the attempt's own stream wrapper through a generator (`model_response`, or
    `fallback_response` once a fallback took over)."""
    try:
        source = object.__getattribute__(stream, "_source")
    except AttributeError:
        source = None
    if source is not None:
        return source
    generator = stream.__dict__.get("_async_generator") if hasattr(stream, "__dict__") else None
    frame = getattr(generator, "ag_frame", None)
    if frame is None:
        return None
    local = frame.f_locals
    return local.get("fallback_response") or local.get("model_response")


def upstream_finished(stream: Any) -> bool | None:
    """Whether the attempt's stream wrapper saw the upstream's own finish_reason; None: unknown.

    LiteLLM's `CustomStreamWrapper` records it in `received_finish_reason` (or
    `intermittent_finish_reason`) and sends `"stop"` when the upstream sent none."""
    for _ in range(MAX_STREAM_LAYERS):
        if stream is None:
            return None
        wraps_generator = hasattr(stream, "__dict__") and "_async_generator" in stream.__dict__
        received = (
            stream.__dict__.get("received_finish_reason", _MISSING)
            if hasattr(stream, "__dict__")
            else _MISSING
        )
        if received is not _MISSING and not wraps_generator:
            return received is not None or stream.__dict__.get("intermittent_finish_reason") is not None
        stream = _layer_below(stream)
    return None


def is_anthropic_messages(request_data: Any) -> bool:
    request = request_data.get("proxy_server_request") if isinstance(request_data, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    return isinstance(url, str) and "/v1/messages" in url and "count_tokens" not in url


def _has_finish(chunk: Any) -> bool:
    for choice in getattr(chunk, "choices", None) or ():
        if getattr(choice, "finish_reason", None):
            return True
    return False


class UpstreamGuard(CustomLogger):
    def __init__(
        self,
        limits: Callable[[], OperatorLimits] = operator_limits,
        is_anthropic_api: Callable[[str | None], bool] | None = None,
        extra_betas: Collection[str] | None = None,
    ) -> None:
        super().__init__()
        self._limits = limits
        self._is_anthropic_api = is_anthropic_api
        self._extra_betas = None if extra_betas is None else tuple(extra_betas)

    def configure(self, plugin_settings: PluginSettings) -> None:
        """Read `anthropic_api_bases` and `third_party_anthropic_betas` (at startup; raises SettingsError)."""
        from litellm_plugins.core.deployment import anthropic_api_check

        if self._is_anthropic_api is None:
            self._is_anthropic_api = anthropic_api_check(plugin_settings)
        if self._extra_betas is None:
            try:
                self._extra_betas = extra_betas_setting(plugin_settings.raw)
            except ValueError as error:
                raise SettingsError(str(error)) from error

    # -- requests ------------------------------------------------------------------------------
    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any, **kwargs: Any
    ) -> dict:
        limited, changed = limit_client_overrides(data, self._limits())
        for name in changed:
            if name in limited:
                data[name] = limited[name]
            else:
                data.pop(name, None)
        if changed:
            logger.info(LOG_OVERRIDES, ", ".join(changed))
        metadata = request_metadata(data)
        if metadata is not None:
            metadata[STATE_KEY] = {}
        return data

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any, **extra: Any
    ) -> dict | None:
        state = metadata_value(kwargs, STATE_KEY, dict)
        refused = state.get("client_error") if state else None
        if isinstance(refused, BaseException):
            status = getattr(refused, "status_code", "")
            logger.info(LOG_NO_FALLBACK, type(refused).__name__, status, kwargs.get("model"))
            raise refused
        if provider_of(str(kwargs.get("model") or ""), kwargs.get("custom_llm_provider")) != "anthropic":
            return None
        if self._is_anthropic_api is None or self._extra_betas is None:
            raise NotStartedError("the upstream guard")
        if self._is_anthropic_api(kwargs.get("api_base")):
            return None  # Anthropic's own API keeps every header
        filtered, removed = filter_anthropic_headers(kwargs, self._extra_betas)
        if not removed:
            return None
        logger.info(LOG_BETAS, removed, kwargs.get("model"))
        return dict(filtered)

    async def async_post_call_failure_deployment_hook(
        self,
        request_data: Mapping[str, Any],
        exception: Exception,
        call_type: Any,
        fallback_depth: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not is_client_error(exception):
            return
        state = metadata_value(request_data, STATE_KEY, dict)
        if state is not None:
            state.setdefault("client_error", exception)

    # -- answers -------------------------------------------------------------------------------
    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
        **kwargs: Any,
    ) -> None:
        status = getattr(original_exception, "status_code", None)
        explain_credential_error(
            request_data, original_exception, status if isinstance(status, int) else None
        )
        mapped = client_status_for(original_exception, status if isinstance(status, int) else None)
        if mapped is None:
            return
        try:
            original_exception.status_code = mapped  # type: ignore[attr-defined]
        except AttributeError:
            return
        logger.info(LOG_REMAPPED, type(original_exception).__name__, mapped)
        return

    async def async_post_call_response_headers_hook(
        self, data: dict, user_api_key_dict: Any, response: Any, request_headers: Any = None, **kwargs: Any
    ) -> None:
        """A chat stream's LiteLLM stream object, for the stream layer to ask at the finish chunk
        whether the upstream sent that finish_reason (:meth:`chat_stream_cut`)."""
        context = stream_context.current()
        if context is not None and response is not None and not is_anthropic_messages(data):
            context.chat_stream = response

    @staticmethod
    def chat_stream_cut(context: stream_context.StreamContext) -> bool:
        """At a chat stream's finish chunk: LiteLLM made that `"stop"` up, the upstream sent none."""
        if context.chat_stream is None or upstream_finished(context.chat_stream) is not False:
            return False
        logger.warning(LOG_CUT, "/v1/chat/completions")
        return True

    @staticmethod
    def stream_cut(route: str) -> None:
        """The stream layer ended an Anthropic stream the upstream cut (or corrupted)."""
        logger.warning(LOG_CUT, route)
