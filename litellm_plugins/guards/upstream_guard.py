"""The upstream guard: upstream failures reach the client as what they are, in its protocol.

Hooks:
- `async_post_call_failure_hook`: LiteLLM's catch-all 500 for an upstream that could not be
  reached, cut the connection, or answered with something that is not a response becomes a
  502, and Anthropic's "overloaded" a 529 (:mod:`litellm_plugins.guards.upstream_errors`), so clients
  retry them as the transient failures they are.
- `async_post_call_streaming_iterator_hook`: a `/v1/messages` stream is checked frame by frame
  (:mod:`litellm_plugins.guards.stream_integrity`); a cut or corrupt upstream stream ends with an
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

from litellm_plugins.guards.stream_integrity import AnthropicStreamMonitor
from litellm_plugins.guards.upstream_errors import client_status_for

logger = logging.getLogger(__name__)

LOG_REMAPPED: Final = "upstream guard: %s from the upstream reported as %s"
LOG_CUT: Final = "upstream guard: the upstream stream for %s ended badly; sent an error event"


def is_anthropic_messages(request_data: Any) -> bool:
    request = request_data.get("proxy_server_request") if isinstance(request_data, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    return isinstance(url, str) and "/v1/messages" in url and "count_tokens" not in url


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
        self, user_api_key_dict: Any, response: Any, request_data: dict, **kwargs: Any
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
