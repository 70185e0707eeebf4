"""The upstream guard: upstream failures reach the client as what they are, in its protocol.

Hooks:
- `async_post_call_failure_hook`: LiteLLM's catch-all 500 for an upstream that could not be
  reached, cut the connection, or answered with something that is not a response becomes a
  502, and Anthropic's "overloaded" a 529 (:mod:`litellm_plugins.upstream_errors`), so clients
  retry them as the transient failures they are.
  A 401/403 about a credential (LiteLLM's "Missing Anthropic API Key", a refused login or key)
  gets the fix for this bundle and `x-should-retry: false` (:mod:`litellm_plugins.claude_credential`).
- `async_post_call_streaming_iterator_hook`: a `/v1/messages` stream is checked frame by frame
  (:mod:`litellm_plugins.stream_integrity`); a cut or corrupt upstream stream ends with an
  `event: error` frame instead of reaching the client truncated or broken.

A stalled upstream is ended by LiteLLM's `request_timeout` (set it in `litellm_settings`).
Wire it with:

    litellm_settings:
      callbacks: [..., "litellm_plugins.hooks.upstream_guard"]
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger

from .claude_credential import QUIET_MARK, credential_error_fix, install_log_filter, mark_explained
from .protocol_errors import clean_message, hint_error_header
from .request_metadata import metadata_value
from .stream_integrity import AnthropicStreamMonitor
from .upstream_errors import client_status_for

logger = logging.getLogger(__name__)

LOG_REMAPPED: Final = "upstream guard: %s from the upstream reported as %s"
LOG_CREDENTIAL: Final = "upstream guard: HTTP %s for %s: %s refused the credential (mode %s), answered with the fix: %s"
LOG_CUT: Final = "upstream guard: the upstream stream for %s ended badly; sent an error event"


def is_anthropic_messages(request_data: Any) -> bool:
    request = request_data.get("proxy_server_request") if isinstance(request_data, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    return isinstance(url, str) and "/v1/messages" in url and "count_tokens" not in url


def explain_credential_error(request_data: Any, exception: Exception, status: int | None) -> None:
    """A 401/403 about a credential gets this bundle's fix in its message and `x-should-retry:
    false` (Claude Code retries a 401 about ten times without it)."""
    message = str(getattr(exception, "message", "") or exception)
    provider = getattr(exception, "llm_provider", None)
    mode = (metadata_value(request_data, "litellm_plugins_rotator", dict) or {}).get("mode") if isinstance(request_data, dict) else None
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


class UpstreamGuard(CustomLogger):
    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
        **kwargs: Any,
    ) -> None:
        status = getattr(original_exception, "status_code", None)
        explain_credential_error(request_data, original_exception, status if isinstance(status, int) else None)
        mapped = client_status_for(original_exception, status if isinstance(status, int) else None)
        if mapped is None:
            return
        try:
            original_exception.status_code = mapped  # type: ignore[attr-defined]
        except AttributeError:
            return
        logger.info(LOG_REMAPPED, type(original_exception).__name__, mapped)
        return

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict
    ) -> AsyncIterator[Any]:
        # /v1/messages streams are Anthropic SSE bytes; watch them even if nothing arrives.
        monitor = AnthropicStreamMonitor() if is_anthropic_messages(request_data) else None
        async for item in response:
            if monitor is not None and isinstance(item, (bytes, bytearray)):
                # After the end (or a broken frame) the rest is drained unsent, so LiteLLM still
                # sees its stream finish (usage, cost, success logging).
                out = monitor.feed(bytes(item))
                if out:
                    yield out
            else:
                monitor = None  # not a byte stream: nothing to check here
                yield item
        if monitor is not None:
            tail = monitor.finish()
            if tail:
                logger.warning(LOG_CUT, request_data.get("model"))
                yield tail
