"""Thinking and reasoning in responses: removed, or marked as foreign, as pure functions.

Anthropic-shaped bodies (non-streaming `/v1/messages`) are plain dicts; OpenAI-shaped ones
(`/v1/chat/completions`) are LiteLLM's `ModelResponse` / `ModelResponseStream` objects, whose
messages and deltas carry reasoning as `reasoning_content`, `thinking_blocks` and, from some
providers, `reasoning` / `reasoning_details`. Every function returns a copy and leaves its input
alone: LiteLLM's logging still holds the original. Streaming Anthropic SSE is handled frame by
frame in :mod:`litellm_plugins.thinking.stream`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from litellm_plugins.core.reasoning import REASONING_FIELDS, THINKING_BLOCK_TYPES
from litellm_plugins.thinking.rules import mark_foreign, opaque_field

DELTA_PAYLOAD_FIELDS: Final = ("content", "tool_calls", "function_call", "role", "audio", "refusal")


# -- Anthropic message bodies ------------------------------------------------------------------
def strip_anthropic_message(body: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """The message without thinking blocks, and how many were removed."""
    content = body.get("content")
    if not isinstance(content, list):
        return dict(body), 0
    kept = [
        block
        for block in content
        if not (isinstance(block, Mapping) and block.get("type") in THINKING_BLOCK_TYPES)
    ]
    return {**body, "content": kept}, len(content) - len(kept)


def _marked_block(block: Any) -> Any:
    if not isinstance(block, Mapping) or block.get("type") not in THINKING_BLOCK_TYPES:
        return block
    key = opaque_field(block)
    marked = mark_foreign(block.get(key))
    return block if marked == block.get(key) else {**block, key: marked}


def mark_anthropic_message(body: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """The message with every signed thinking block marked foreign, and how many were."""
    content = body.get("content")
    if not isinstance(content, list):
        return dict(body), 0
    marked = [_marked_block(block) for block in content]
    count = sum(new is not old for new, old in zip(marked, content, strict=True))
    return {**body, "content": marked}, count


# -- OpenAI-shaped messages and deltas ---------------------------------------------------------
def _present(holder: Any, name: str) -> bool:
    if isinstance(holder, Mapping):
        return holder.get(name) is not None
    return getattr(holder, name, None) is not None


def _without_reasoning(holder: Any) -> tuple[Any, int]:
    """A copy of a message or delta without its reasoning fields, and how many it had."""
    found = [name for name in REASONING_FIELDS if _present(holder, name)]
    specific = _get(holder, "provider_specific_fields")
    specific_found = [
        name for name in REASONING_FIELDS if isinstance(specific, Mapping) and specific.get(name) is not None
    ]
    if not found and not specific_found:
        return holder, 0
    if isinstance(holder, Mapping):
        copy: Any = {key: value for key, value in holder.items() if key not in found}
    else:
        copy = holder.model_copy()
        for name in found:
            # LiteLLM's Message and Delta delete unset reasoning attributes rather than hold None,
            # so the client never sees `"reasoning_content": null`.
            try:
                delattr(copy, name)
            except AttributeError:
                setattr(copy, name, None)
    if specific_found:
        _set(copy, "provider_specific_fields", {k: v for k, v in specific.items() if k not in specific_found})  # type: ignore[union-attr]
    return copy, len(found) + len(specific_found)


def _get(holder: Any, name: str) -> Any:
    return holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)


def _set(holder: Any, name: str, value: Any) -> None:
    if isinstance(holder, dict):
        holder[name] = value
    else:
        setattr(holder, name, value)


def _with_choices(response: Any, choices: list[Any]) -> Any:
    if isinstance(response, Mapping):
        return {**response, "choices": choices}
    copy = response.model_copy()
    copy.choices = choices
    return copy


def _with_field(holder: Any, name: str, value: Any) -> Any:
    if isinstance(holder, Mapping):
        return {**holder, name: value}
    copy = holder.model_copy()
    setattr(copy, name, value)
    return copy


def _rewrite_choices(
    response: Any, field_name: str, rewrite: Callable[[Any], tuple[Any, int]]
) -> tuple[Any, int]:
    """`response` with each choice's `field_name` passed through `rewrite(holder) -> (new, count)`;
    choices (and the response) are copied only when a count says something changed."""
    choices = _get(response, "choices")
    if not isinstance(choices, list):
        return response, 0
    new_choices: list[Any] = []
    changed = 0
    for choice in choices:
        holder = _get(choice, field_name)
        new_holder, count = rewrite(holder) if holder is not None else (holder, 0)
        changed += count
        new_choices.append(_with_field(choice, field_name, new_holder) if count else choice)
    return (_with_choices(response, new_choices), changed) if changed else (response, 0)


def strip_openai_response(response: Any, field_name: str = "message") -> tuple[Any, int]:
    """A chat completion (or a stream chunk, with `field_name="delta"`) without reasoning."""
    return _rewrite_choices(response, field_name, _without_reasoning)


def is_empty_chunk(chunk: Any) -> bool:
    """A stream chunk left with nothing for the client: no payload, no finish reason, no usage."""
    if _get(chunk, "usage") is not None:
        return False
    for choice in _get(chunk, "choices") or []:
        if _get(choice, "finish_reason") is not None:
            return False
        delta = _get(choice, "delta")
        if delta is not None and any(_get(delta, name) not in (None, "") for name in DELTA_PAYLOAD_FIELDS):
            return False
    return True


def _with_marked_blocks(holder: Any) -> tuple[Any, int]:
    blocks = _get(holder, "thinking_blocks")
    if not isinstance(blocks, list):
        return holder, 0
    new_blocks = [_marked_block(block) for block in blocks]
    count = sum(new is not old for new, old in zip(new_blocks, blocks, strict=True))
    return (_with_field(holder, "thinking_blocks", new_blocks), count) if count else (holder, 0)


def mark_openai_response(response: Any, field_name: str = "message") -> tuple[Any, int]:
    """A chat completion (or chunk) whose signed `thinking_blocks` are marked foreign."""
    return _rewrite_choices(response, field_name, _with_marked_blocks)
