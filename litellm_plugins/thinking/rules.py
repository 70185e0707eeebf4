"""Which thinking blocks each target may receive, as pure functions over one attempt's request.

Anthropic verifies the `signature` of every `thinking` block it is sent and answers 400 for one it
did not sign; DeepSeek-style APIs answer 400 when reasoning comes back at all. Claude Code replays
every block it was ever given, so a conversation that moved between providers carries blocks the
next one cannot take. These functions sort the blocks per target and return a new request plus a
:class:`ThinkingReport` saying what was dropped and why. Nothing is mutated: LiteLLM reuses the
original request for retries and fallbacks.

Provenance. A block is Anthropic's when it carries a signature and nothing says otherwise: a block
with no signature (how LiteLLM translates another provider's `reasoning_content`), an empty one,
or one whose signature or `data` starts with :data:`FOREIGN_PREFIX` (put there by
:mod:`litellm_plugins.thinking.hook` on every signed block a non-Anthropic deployment returns) or with
LiteLLM's own `litellm_encrypted_reasoning:` (Responses API reasoning) is foreign. The marker
travels inside the conversation itself, so it needs no shared state between workers or restarts;
other targets get the original signature back.

Targets:
- Anthropic's API: keep Anthropic's blocks, drop the foreign ones; when `thinking` is on and the
  final assistant turn of an open tool loop does not start with a thinking block, turn thinking
  off for this request (with `output_config.effort` and the `clear_thinking_*` context edits,
  which would turn it back on or need it) instead of sending a request Anthropic rejects.
- Other Anthropic-speaking endpoints (GLM, Kimi) and OpenAI-compatible ones: with
  `model_info.reasoning_input: drop` every block is dropped; with `keep` marked blocks get their
  original signature back and only empty ones go.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from litellm_plugins.core.reasoning import THINKING_BLOCK_TYPES, is_thinking_block, message_is_assistant
from litellm_plugins.core.thinking_off import turn_thinking_off

FOREIGN_PREFIX: Final = "litellm-plugins-foreign:"
LITELLM_ENCRYPTED_PREFIX: Final = "litellm_encrypted_reasoning:"
THINKING_ON: Final = frozenset({"enabled", "adaptive"})
EFFORT_OFF: Final = frozenset({"none", "disabled"})

# Why a block was dropped (the keys of ThinkingReport.dropped).
UNSIGNED: Final = "unsigned"
EMPTY: Final = "empty"
FOREIGN: Final = "foreign"
TARGET_REJECTS: Final = "target rejects reasoning"


@dataclass
class ThinkingReport:
    """What the rules did to one attempt's request."""

    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    unwrapped: int = 0
    thinking_off: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.dropped) or self.unwrapped > 0 or self.thinking_off is not None

    def summary(self) -> str:
        parts = [f"kept {self.kept}, dropped {sum(self.dropped.values())} thinking block(s)"]
        if self.dropped:
            parts[0] += (
                " (" + ", ".join(f"{reason}={count}" for reason, count in sorted(self.dropped.items())) + ")"
            )
        if self.unwrapped:
            parts.append(f"{self.unwrapped} foreign signature(s) restored for their provider")
        if self.thinking_off:
            parts.append(f"thinking off: {self.thinking_off}")
        return "; ".join(parts)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "unwrapped": self.unwrapped,
            "thinking_off": self.thinking_off,
        }


# -- provenance -------------------------------------------------------------------------------
def opaque_field(block: Mapping[str, Any]) -> str:
    """The field a block's provenance travels in: `signature`, or `data` for redacted thinking."""
    return "data" if block.get("type") == "redacted_thinking" else "signature"


def mark_foreign(value: Any) -> Any:
    """A non-Anthropic provider's signature, marked so it is never sent to Anthropic."""
    if not isinstance(value, str) or not value or value.startswith(FOREIGN_PREFIX):
        return value
    return FOREIGN_PREFIX + value


def is_marked(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FOREIGN_PREFIX)


def unwrap_foreign(value: Any) -> Any:
    """The original signature behind a marker (for the provider that minted it)."""
    return value.removeprefix(FOREIGN_PREFIX) if is_marked(value) else value


def unwrapped_block(block: Mapping[str, Any]) -> Mapping[str, Any]:
    """The block with its original signature (or data) when it carries the marker."""
    key = opaque_field(block)
    return {**block, key: unwrap_foreign(block[key])} if is_marked(block.get(key)) else block


def foreign_reason(block: Mapping[str, Any]) -> str | None:
    """Why Anthropic's API would refuse this thinking block, or None when it is Anthropic's own.

    A signed block with empty text is kept: models answering with `display: omitted` return
    exactly that, and Anthropic accepts it back.
    """
    value = block.get(opaque_field(block))
    if isinstance(value, str) and value.startswith((FOREIGN_PREFIX, LITELLM_ENCRYPTED_PREFIX)):
        return FOREIGN
    if not isinstance(value, str) or not value:
        if block.get("type") == "redacted_thinking" or not _has_text(block):
            return EMPTY
        return UNSIGNED
    return None


def _has_text(block: Mapping[str, Any]) -> bool:
    text = block.get("thinking")
    return isinstance(text, str) and bool(text.strip())


def thinking_is_on(thinking: Any) -> bool:
    return isinstance(thinking, Mapping) and thinking.get("type") in THINKING_ON


# -- Anthropic-shaped requests (/v1/messages) -------------------------------------------------
def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, Mapping) else None
    return content if isinstance(content, list) else []


def _filter_messages(messages: list[Any], keep_block: Callable[[Any], Any]) -> list[Any]:
    """Messages with each assistant block passed through `keep_block(block) -> block | None`.

    An assistant message left with no content is removed (Anthropic rejects empty content; its
    neighbours are user turns, which Anthropic joins); it held no tool_use, so no pairing breaks.
    """
    result: list[Any] = []
    for message in messages:
        content = message.get("content") if message_is_assistant(message) else None
        if not isinstance(content, list) or not any(is_thinking_block(block) for block in content):
            result.append(message)
            continue
        kept = [new for block in content if (new := keep_block(block)) is not None]
        if kept == content:
            result.append(message)
        elif kept:
            result.append({**message, "content": kept})
    return result


def final_tool_turn_without_thinking(messages: Iterable[Any]) -> str | None:
    """Why the final assistant turn of an open tool loop breaks Anthropic's thinking rule, or None.

    With thinking on, the last assistant message, when the user answers its `tool_use` with
    `tool_result`, must start with a thinking (or redacted thinking) block.
    """
    turns = [
        (i, m)
        for i, m in enumerate(messages)
        if isinstance(m, Mapping) and m.get("role") in ("user", "assistant")
    ]
    positions = [pos for pos, (_, message) in enumerate(turns) if message["role"] == "assistant"]
    if not positions or positions[-1] + 1 >= len(turns):
        return None
    index, assistant = turns[positions[-1]]
    following = turns[positions[-1] + 1][1]
    blocks = [block for block in _blocks(assistant) if isinstance(block, Mapping)]
    if not any(block.get("type") == "tool_use" for block in blocks):
        return None
    if following["role"] != "user" or not any(
        b.get("type") == "tool_result" for b in _blocks(following) if isinstance(b, Mapping)
    ):
        return None
    first = blocks[0].get("type") if blocks else None
    if first in THINKING_BLOCK_TYPES:
        return None
    return f"the final tool-use turn (messages.{index}) does not start with a thinking block"


def _turn_thinking_off(out: dict[str, Any], report: ThinkingReport, reason: str) -> None:
    # Earlier turns keep their signed blocks: Anthropic accepts them with thinking off and only
    # refuses thinking in an assistant message in the final position, which a tool loop never has.
    turn_thinking_off(out)
    report.thinking_off = reason


def for_anthropic_api(request: Mapping[str, Any]) -> tuple[dict[str, Any], ThinkingReport]:
    """The request as Anthropic's own API accepts it."""
    out = dict(request)
    report = ThinkingReport()
    messages = request.get("messages")
    if isinstance(messages, list):

        def keep(block: Any) -> Any:
            if not is_thinking_block(block):
                return block
            reason = foreign_reason(block)
            if reason is None:
                report.kept += 1
                return block
            report.dropped[reason] += 1
            return None

        filtered = _filter_messages(messages, keep)
        if report.dropped:
            out["messages"] = filtered
    # An effort alone counts: LiteLLM turns it into `thinking: enabled` for pre-4.6 models.
    output_config = out.get("output_config")
    effort = isinstance(output_config, Mapping) and output_config.get("effort") is not None
    if thinking_is_on(out.get("thinking")) or effort:
        reason = final_tool_turn_without_thinking(out.get("messages") or [])
        if reason is not None:
            _turn_thinking_off(out, report, reason)
    return out, report


def for_other_target(
    request: Mapping[str, Any], keep_reasoning: bool
) -> tuple[dict[str, Any], ThinkingReport]:
    """The request for a target that is not Anthropic's API (Anthropic-shaped messages)."""
    out = dict(request)
    report = ThinkingReport()
    messages = request.get("messages")
    if not isinstance(messages, list):
        return out, report

    def keep(block: Any) -> Any:
        if not is_thinking_block(block):
            return block
        if not keep_reasoning:
            report.dropped[TARGET_REJECTS] += 1
            return None
        if foreign_reason(block) == EMPTY:
            report.dropped[EMPTY] += 1
            return None
        report.kept += 1
        restored = unwrapped_block(block)
        report.unwrapped += restored is not block
        return restored

    filtered = _filter_messages(messages, keep)
    if report.dropped or report.unwrapped:
        out["messages"] = filtered
    return out, report


# -- OpenAI-shaped requests (/v1/chat/completions, or /v1/messages after translation) ----------
def _openai_thinking_on(request: Mapping[str, Any]) -> bool:
    effort = request.get("reasoning_effort")
    effort_on = effort is not None and not (isinstance(effort, str) and effort.lower() in EFFORT_OFF)
    return thinking_is_on(request.get("thinking")) or effort_on


def _final_tool_call_turn(messages: list[Any]) -> int | None:
    """Index of the last assistant message when it called tools and its results follow."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, Mapping) and message.get("role") == "assistant":
            following = messages[index + 1] if index + 1 < len(messages) else None
            if (
                message.get("tool_calls")
                and isinstance(following, Mapping)
                and following.get("role") == "tool"
            ):
                return index
            return None
    return None


def _filter_thinking_blocks(messages: list[Any], keep_block: Callable[[Any], Any]) -> list[Any]:
    """Messages with each assistant `thinking_blocks` entry passed through `keep_block(block) ->
    block | None` (the chat-completions twin of :func:`_filter_messages`). A message left with no
    thinking block loses the field; its text and tool calls stay."""
    result: list[Any] = []
    for message in messages:
        blocks = message.get("thinking_blocks") if message_is_assistant(message) else None
        if not isinstance(blocks, list):
            result.append(message)
            continue
        kept = [new for block in blocks if (new := keep_block(block)) is not None]
        if len(kept) == len(blocks) and all(new is old for new, old in zip(kept, blocks, strict=True)):
            result.append(message)
        elif kept:
            result.append({**message, "thinking_blocks": kept})
        else:
            result.append({k: v for k, v in message.items() if k != "thinking_blocks"})
    return result


def openai_for_anthropic_api(request: Mapping[str, Any]) -> tuple[dict[str, Any], ThinkingReport]:
    """A chat-completions request bound for Anthropic's API: `thinking_blocks` sorted as above."""
    out = dict(request)
    report = ThinkingReport()
    messages = request.get("messages")
    if not isinstance(messages, list):
        return out, report

    def keep(block: Any) -> Any:
        reason = foreign_reason(block) if isinstance(block, Mapping) else EMPTY
        if reason is None:
            report.kept += 1
            return block
        report.dropped[reason] += 1
        return None

    result = _filter_thinking_blocks(messages, keep)
    if report.dropped:
        out["messages"] = result
    if _openai_thinking_on(out):
        final = _final_tool_call_turn(result)
        if final is not None and not result[final].get("thinking_blocks"):
            out.pop("thinking", None)
            out.pop("reasoning_effort", None)
            report.thinking_off = (
                f"the final tool-call turn (messages.{final}) has no Anthropic thinking block"
            )
    return out, report


def openai_unwrap_foreign(request: Mapping[str, Any]) -> tuple[dict[str, Any], ThinkingReport]:
    """A chat-completions request for a non-Anthropic target that keeps reasoning: original signatures
    back."""
    out = dict(request)
    report = ThinkingReport()
    messages = request.get("messages")
    if not isinstance(messages, list):
        return out, report

    def restore(block: Any) -> Any:
        restored = unwrapped_block(block) if isinstance(block, Mapping) else block
        report.unwrapped += restored is not block
        return restored

    result = _filter_thinking_blocks(messages, restore)
    if report.unwrapped:
        out["messages"] = result
    return out, report
