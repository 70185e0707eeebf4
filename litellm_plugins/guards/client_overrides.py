"""A client may ask LiteLLM for less upstream work, never for more than the operator allows (pure).

LiteLLM honours per-request routing overrides: the headers `x-litellm-num-retries`,
`x-litellm-timeout` and `x-litellm-stream-timeout` (copied into the request as `num_retries`,
`timeout`, `stream_timeout` before any hook runs) and the body fields `num_retries`,
`max_retries` (the provider SDK's own retries, multiplied by the router's), `timeout`,
`request_timeout`, `stream_timeout`, `fallbacks` (which replace the operator's), `max_fallbacks`,
`router_settings_override`, `model_group_retry_policy`, and the `mock_*` testing switches that
fail or fake an answer on purpose. One `x-litellm-num-retries: 20` made a request cost 13
upstream attempts over 117 s.

:func:`limit_client_overrides` caps the counts and durations at the operator's settings
(`router_settings.num_retries`, `litellm_settings.request_timeout`; a client may still ask for
fewer retries or a shorter timeout) and drops every other routing control. The upstream guard
applies it in `async_pre_call_hook`, once per client request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# Capped at the operator's retry count.
RETRY_FIELDS: Final = ("num_retries",)
# Capped at the operator's request timeout (seconds).
TIMEOUT_FIELDS: Final = ("timeout", "request_timeout", "stream_timeout")
# Routing and testing controls that belong to the operator's config, never to a request.
DROPPED_FIELDS: Final = frozenset(
    {
        "max_retries",  # the provider SDK's retries, inside each router attempt
        "fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "max_fallbacks",
        "fallback_depth",
        "router_settings_override",  # the bundle's static tokens carry no key/team router settings
        "model_group_retry_policy",
        "retry_policy",
        "cooldown_time",
        "specific_deployment",
        "include_fallback_errors",
        "keepalive_seconds",
        "mock_response",
        "mock_tool_calls",
        "mock_testing_fallbacks",
        "mock_testing_context_fallbacks",
        "mock_testing_content_policy_fallbacks",
        "mock_testing_rate_limit_error",
        "mock_timeout",
        "mock_delay",
    }
)


@dataclass(frozen=True)
class OperatorLimits:
    """The ceilings from the proxy's config: retries per model group, seconds per attempt."""

    num_retries: int = 0
    timeout: float | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def limit_client_overrides(
    request: Mapping[str, Any], limits: OperatorLimits
) -> tuple[dict[str, Any], list[str]]:
    """A copy of `request` within `limits`, and the names of the fields changed or dropped."""
    out = dict(request)
    changed: list[str] = []
    for name in DROPPED_FIELDS & out.keys():
        del out[name]
        changed.append(name)
    if "disable_fallbacks" in out and out["disable_fallbacks"] is not True:
        del out["disable_fallbacks"]  # asking for no fallbacks costs nothing; anything else is dropped
        changed.append("disable_fallbacks")
    for name in RETRY_FIELDS:
        if name not in out:
            continue
        asked = _number(out[name])
        allowed = None if asked is None or asked < 0 else min(int(asked), limits.num_retries)
        if allowed is None:
            del out[name]
            changed.append(name)
        elif allowed != out[name]:
            out[name] = allowed
            changed.append(name)
    for name in TIMEOUT_FIELDS:
        if name not in out:
            continue
        asked = _number(out[name])
        if asked is None or asked <= 0:
            del out[name]
            changed.append(name)
        elif limits.timeout is not None and asked > limits.timeout:
            out[name] = limits.timeout
            changed.append(name)
    return out, sorted(changed)


def operator_limits() -> OperatorLimits:
    """The running proxy's ceilings: the router's `num_retries` and the request timeout."""
    import litellm

    retries: Any = None
    timeout: Any = None
    try:
        from litellm.proxy import proxy_server

        router = getattr(proxy_server, "llm_router", None)
    except ImportError:  # outside the proxy
        router = None
    if router is not None:
        retries = getattr(router, "num_retries", None)
        timeout = getattr(router, "timeout", None)
    if not isinstance(retries, int) or isinstance(retries, bool):
        retries = getattr(litellm, "num_retries", None)
    seconds = _number(timeout) or _number(getattr(litellm, "request_timeout", None))
    return OperatorLimits(
        num_retries=max(0, retries) if isinstance(retries, int) and not isinstance(retries, bool) else 0,
        timeout=seconds if seconds is not None and seconds > 0 else None,
    )
