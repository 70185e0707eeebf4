"""LiteLLM's call types, as the hooks tell one request shape from the other (pure).

`/v1/messages` arrives as `anthropic_messages` (or its async twin), `/v1/chat/completions` and a
`/v1/messages` request LiteLLM translated to chat as `completion` / `acompletion`. LiteLLM passes
either the `CallTypes` enum or its string value.
"""

from __future__ import annotations

from typing import Any, Final

ANTHROPIC_CALL_TYPES: Final = frozenset({"anthropic_messages", "aanthropic_messages"})
OPENAI_CALL_TYPES: Final = frozenset({"completion", "acompletion"})


def call_type_name(call_type: Any) -> str:
    """The call type's string value, whether LiteLLM passed the enum or the string."""
    return str(getattr(call_type, "value", call_type) or "")
