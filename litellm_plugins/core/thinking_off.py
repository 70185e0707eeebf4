"""Turning thinking off for one request, completely (pure).

Removing `thinking` alone is not enough: for models before adaptive thinking LiteLLM turns
`output_config.effort` back into `thinking: enabled`, and Claude Code's `clear_thinking_*`
context edits need thinking on (Anthropic answers 400 otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any


def without_effort(output_config: Any) -> Any:
    """`output_config` without `effort`; None when nothing else was in it."""
    if not isinstance(output_config, Mapping) or "effort" not in output_config:
        return output_config
    rest = {key: value for key, value in output_config.items() if key != "effort"}
    return rest or None


def without_thinking_edits(context_management: Any) -> Any:
    """`context_management` without the `clear_thinking_*` edits; None when nothing is left."""
    if not isinstance(context_management, Mapping) or not isinstance(context_management.get("edits"), list):
        return context_management
    edits = [
        edit
        for edit in context_management["edits"]
        if not (isinstance(edit, Mapping) and str(edit.get("type", "")).startswith("clear_thinking"))
    ]
    if len(edits) == len(context_management["edits"]):
        return context_management
    rest = {**context_management, "edits": edits}
    return rest if edits or len(rest) > 1 else None


def turn_thinking_off(request: MutableMapping[str, Any]) -> None:
    """Remove `thinking` and what would bring it back or needs it; `request` is a fresh copy."""
    request.pop("thinking", None)
    for key, trim in (("output_config", without_effort), ("context_management", without_thinking_edits)):
        if key in request:
            trimmed = trim(request[key])
            if trimmed is None:
                request.pop(key)
            else:
                request[key] = trimmed
