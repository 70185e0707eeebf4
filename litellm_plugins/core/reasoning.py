"""Thinking and reasoning in requests, for every plugin: what they look like, turning them off (pure).

Anthropic-shaped messages carry thinking as `thinking` / `redacted_thinking` content blocks;
OpenAI-shaped ones as `reasoning_content`, `thinking_blocks` and, from some providers,
`reasoning` / `reasoning_details` fields, or `reasoning` content parts.

Turning thinking off: removing `thinking` alone is not enough: for models before adaptive thinking LiteLLM turns
`output_config.effort` back into `thinking: enabled`, and Claude Code's `clear_thinking_*`
context edits need thinking on (Anthropic answers 400 otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final

THINKING_BLOCK_TYPES: Final = frozenset({"thinking", "redacted_thinking"})
REASONING_FIELDS: Final = ("reasoning_content", "thinking_blocks", "reasoning", "reasoning_details")
REASONING_PART_TYPES: Final = frozenset({*THINKING_BLOCK_TYPES, "reasoning"})


def is_thinking_block(block: Any) -> bool:
    return isinstance(block, Mapping) and block.get("type") in THINKING_BLOCK_TYPES


def message_is_assistant(message: Any) -> bool:
    return isinstance(message, Mapping) and message.get("role") == "assistant"


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


def drop_reasoning_from_openai_messages(messages: Any) -> tuple[Any, int]:
    """Assistant messages without reasoning fields and parts; returns (messages, how many removed)."""
    if not isinstance(messages, list):
        return messages, 0
    dropped = 0
    result: list[Any] = []
    for message in messages:
        if message_is_assistant(message):
            present = [key for key in REASONING_FIELDS if message.get(key) is not None]
            content = message.get("content")
            parts_removed = 0
            if isinstance(content, list):
                kept = [p for p in content if not (isinstance(p, Mapping) and p.get("type") in REASONING_PART_TYPES)]
                parts_removed = len(content) - len(kept)
            if present or parts_removed:
                dropped += len(present) + parts_removed
                message = {k: v for k, v in message.items() if k not in REASONING_FIELDS}
                if parts_removed:
                    message["content"] = kept or ""
        result.append(message)
    return result, dropped
