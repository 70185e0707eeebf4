"""Body fields LiteLLM refuses from clients (`api_base`, `user_config`, `langfuse_host`, ...), as a 400.

LiteLLM refuses request-body fields that would redirect a call or choose its credentials
(`api_base`, `base_url`, `extra_body.api_base`, `metadata.api_base`, `user_config`,
`model_list`, `fallbacks: [{api_base: ...}]`, `azure_ad_token`, `vertex_credentials`, custom
pricing such as `input_cost_per_token`, observability hosts such as `langfuse_host`, ...) in
`is_request_body_safe`, which it runs inside authentication. Its authentication error path then
imports `prisma`, which a proxy without a database does not have, so the refusal reaches the
client as a plain-text 500 that Claude Code retries. The request guard asks the same function
first (:func:`refused_field`), with the running proxy's `general_settings` and router, so the
operator's opt-ins (`general_settings.allow_client_side_credentials`, a deployment's
`configurable_clientside_auth_params`) still apply, and answers a 400 `invalid_request_error`
that names the field.

LiteLLM's list is used as is (it grows with each release); only when the running LiteLLM has no
`is_request_body_safe` is nothing checked here, and LiteLLM's own check still runs later.
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Final

logger = logging.getLogger(__name__)

REJECTED: Final = re.compile(r"^Rejected Request:\s*(?P<what>[^.]*\.)")
ADVICE: Final = (
    " The proxy's operator decides where requests go and with which credentials: remove the field "
    "from the request."
)
MAX_MESSAGE: Final = 300


@cache
def _litellm_check() -> tuple[Callable[..., Any], bool] | None:
    """LiteLLM's `is_request_body_safe` and whether it takes `route=`, or None if it has none."""
    try:
        from litellm.proxy.auth.auth_utils import is_request_body_safe
    except ImportError:
        logger.warning("refused fields: this LiteLLM has no is_request_body_safe; LiteLLM checks later")
        return None
    return is_request_body_safe, "route" in inspect.signature(is_request_body_safe).parameters


def refusal_message(error: Exception) -> str:
    """LiteLLM's refusal, cut to the sentence that names the field, plus what the client can do."""
    text = str(error)
    found = REJECTED.match(text)
    what = found.group("what") if found else text[:MAX_MESSAGE]
    return f"Refused request field: {what.strip()}{ADVICE}"


def refused_field(body: Mapping[str, Any], route: str) -> str | None:
    """Why LiteLLM would refuse this body, as a client message, or None when it would not."""
    check = _litellm_check()
    if check is None:
        return None
    function, takes_route = check
    proxy_server = sys.modules.get("litellm.proxy.proxy_server")
    general_settings = getattr(proxy_server, "general_settings", None) or {}
    llm_router = getattr(proxy_server, "llm_router", None)
    model = body.get("model")
    options: dict[str, Any] = {"route": route} if takes_route else {}
    try:
        function(
            request_body=dict(body),
            general_settings=general_settings,
            llm_router=llm_router,
            model=model if isinstance(model, str) else "",
            **options,
        )
    except (ValueError, TypeError) as error:  # LiteLLM's refusal (pydantic's ValidationError is a ValueError)
        return refusal_message(error)
    return None
