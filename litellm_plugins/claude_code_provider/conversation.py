"""OpenAI chat messages as one Claude Code run: a system prompt, a history, the new prompt (pure).

- `system` and `developer` messages, wherever they are, become the system prompt, in order
  (Claude Code takes one system prompt per run; it follows its own identity block);
- every earlier user/assistant turn becomes the history, written as the transcript of a Claude
  Code session that the run resumes (:func:`transcript_lines`), so the model sees real alternate
  turns, not a pasted text;
- the last message must be the user's: it is the prompt.

Refused with :class:`ConversationError` (a 400): `tools`/`functions`, tool and function messages
or assistant tool calls (Claude Code would run tools itself; the provider has none to offer),
images and other non-text parts, and empty turns.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

TOOLS_REFUSED: Final = (
    "the claude-code provider does not support tools: Claude Code runs here with its own tools "
    "off and cannot hand the model's tool calls back to you. Send the request without `tools`, or "
    "use a model group served by the pool route (`anthropic`), which passes tools through"
)
TOOL_FIELDS: Final = ("tools", "functions", "tool_choice", "function_call")


class ConversationError(ValueError):
    """The request cannot be run by Claude Code; the message says what to change."""


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str


@dataclass(frozen=True)
class Conversation:
    system: str | None
    history: tuple[Turn, ...] = field(default_factory=tuple)
    prompt: str = ""


def refuse_tools(optional_params: Mapping[str, Any]) -> None:
    for name in TOOL_FIELDS:
        if optional_params.get(name):
            raise ConversationError(TOOLS_REFUSED)


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ConversationError(f"{where}.content must be a string or a list of text parts")
    texts = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind != "text" or not isinstance(part.get("text"), str):
            raise ConversationError(
                f"{where}.content.{index}: the claude-code provider takes text parts only, got "
                f"{kind!r}; send images to a model group served by the pool route (`anthropic`)"
            )
        texts.append(part["text"])
    return "\n".join(texts)


def conversation_from(messages: Sequence[Any]) -> Conversation:
    if not messages:
        raise ConversationError("messages: at least one message is required")
    system: list[str] = []
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, Mapping):
            raise ConversationError(f"{where} must be an object with role and content")
        role = message.get("role")
        if role in ("tool", "function") or message.get("tool_calls") or message.get("function_call"):
            raise ConversationError(TOOLS_REFUSED)
        if role in ("system", "developer"):
            text = _text(message.get("content"), where)
            if text.strip():
                system.append(text)
            continue
        if role not in ("user", "assistant"):
            raise ConversationError(
                f"{where}.role must be system, developer, user or assistant, got {role!r}"
            )
        text = _text(message.get("content"), where)
        if not text.strip():
            raise ConversationError(f"{where}: a {role} message must have non-empty text")
        turns.append(Turn(role, text))
    if not turns or turns[-1].role != "user":
        raise ConversationError(
            "messages: the last message must be the user's (it is the prompt Claude Code runs)"
        )
    return Conversation("\n\n".join(system) or None, tuple(turns[:-1]), turns[-1].text)


def transcript_lines(
    history: Sequence[Turn], session_id: str, cwd: str, model: str, now: datetime | None = None
) -> list[str]:
    """The history as a Claude Code session transcript (JSONL lines), linked by `parentUuid`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    common = {
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session_id,
        "timestamp": stamp,
    }
    lines: list[str] = []
    parent: str | None = None
    for number, turn in enumerate(history):
        ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session_id}/{number}"))
        if turn.role == "user":
            message: dict[str, Any] = {"role": "user", "content": turn.text}
        else:
            message = {
                "id": f"msg_history_{number}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": turn.text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
        entry = {"parentUuid": parent, "type": turn.role, "message": message, "uuid": ident, **common}
        lines.append(json.dumps(entry))
        parent = ident
    return lines
