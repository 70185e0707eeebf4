"""Thinking and reasoning in requests and responses, as every plugin recognises them (pure).

Anthropic-shaped messages carry thinking as `thinking` / `redacted_thinking` content blocks;
OpenAI-shaped ones as `reasoning_content`, `thinking_blocks` and, from some providers,
`reasoning` / `reasoning_details` fields, or `reasoning` content parts. Turning thinking off for
a whole request is :mod:`litellm_plugins.core.thinking_off`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

THINKING_BLOCK_TYPES: Final = frozenset({"thinking", "redacted_thinking"})
REASONING_FIELDS: Final = ("reasoning_content", "thinking_blocks", "reasoning", "reasoning_details")
REASONING_PART_TYPES: Final = frozenset({*THINKING_BLOCK_TYPES, "reasoning"})


def is_thinking_block(block: Any) -> bool:
    return isinstance(block, Mapping) and block.get("type") in THINKING_BLOCK_TYPES


def message_is_assistant(message: Any) -> bool:
    return isinstance(message, Mapping) and message.get("role") == "assistant"


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
                kept = [
                    p
                    for p in content
                    if not (isinstance(p, Mapping) and p.get("type") in REASONING_PART_TYPES)
                ]
                parts_removed = len(content) - len(kept)
            if present or parts_removed:
                dropped += len(present) + parts_removed
                message = {k: v for k, v in message.items() if k not in REASONING_FIELDS}
                if parts_removed:
                    message["content"] = kept or ""
        result.append(message)
    return result, dropped
