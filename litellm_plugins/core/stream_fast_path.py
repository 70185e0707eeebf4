"""Keep LiteLLM on its fast stream path: no `async_post_call_streaming_iterator_hook` registered.

With any callback that overrides `async_post_call_streaming_iterator_hook`, LiteLLM's proxy
wraps every stream in a layer per such callback and per chunk, keeps every chunk it served
(`served_chunks` in `litellm/proxy/utils.py`) and, at the end, joins and parses the whole reply
again (`served_stream_output_texts`): CPU and memory that grow with the reply. The bundle's own
stream work is an ASGI layer (:mod:`litellm_plugins.streams.layer`), so the only such callback left
is LiteLLM's `ResponsesIDSecurity`, which encrypts the ids of the Responses API
(`/v1/responses`) so that one key cannot read another key's stored responses. The bundle serves
that API to no client: the request guard admits proxy tokens to
:data:`~litellm_plugins.core.client_routes.CLIENT_ROUTES` only, and `/v1/responses` is the
master key's (one operator, who can read everything anyway). So the hook is taken out of
`litellm.callbacks`, once, at the first request (LiteLLM adds its proxy hooks after it loaded
the config, so not at the bundle's startup).

Settings: none. A LiteLLM without that hook (or a newer one that names it differently) is left
as it is.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

LOG_DROPPED = "stream fast path: LiteLLM's %s removed from its callbacks (/v1/responses is the master key's)"


def drop_responses_id_security(callbacks: list[Any] | None = None) -> int:
    """Remove LiteLLM's `ResponsesIDSecurity` from `callbacks` (default `litellm.callbacks`)."""
    try:
        from litellm.proxy.hooks.responses_id_security import ResponsesIDSecurity
    except ImportError:
        return 0
    if callbacks is None:
        import litellm

        callbacks = litellm.callbacks
    kept = [callback for callback in callbacks if not isinstance(callback, ResponsesIDSecurity)]
    removed = len(callbacks) - len(kept)
    if removed:
        callbacks[:] = kept
        logger.info(LOG_DROPPED, ResponsesIDSecurity.__name__)
    return removed
