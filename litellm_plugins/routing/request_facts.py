"""What the routing rules ask about one request, read lazily from it (pure but for the counter).

A fact is read the first time a rule or a capability check asks for it, and then kept; the
input-token estimate is computed at most once per request, by an injectable counter (LiteLLM's own
local estimate by default, the one `count_tokens` answers with:
:func:`litellm_plugins.transformer.count_tokens.litellm_count`). Before counting, a cheap bound
decides the easy cases: a token is at least one byte of the request's JSON, so a request whose
JSON (its `content-length`, or the counted fields serialized; plus a margin for the tokenizer's
per-message framing) is no longer than a threshold is not above it and is never counted.

Facts: the requested `model`; `thinking` (Anthropic `thinking.type` enabled/adaptive, OpenAI
`reasoning_effort`); `images` (an image block in any message, tool results included, or an OpenAI
`image_url` part); `server_tools` (each tool's `type` other than custom/function; OpenAI's
`web_search_options` counts as `web_search`); `subagent` (Claude Code's `x-claude-code-agent-id`
or `x-claude-code-parent-agent-id` header); `client` (the proxy token's name); any `header`.
No settings of its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Any, Final

logger = logging.getLogger(__name__)

# (model group or id, request body, "anthropic" | "openai") -> the estimate, or None if it failed.
TokenCounter = Callable[[str, Mapping[str, Any], str], Awaitable[int | None]]

SUBAGENT_HEADERS: Final = ("x-claude-code-agent-id", "x-claude-code-parent-agent-id")
THINKING_TYPES: Final = frozenset({"enabled", "adaptive"})
PLAIN_TOOL_TYPES: Final = frozenset({"custom", "function"})
IMAGE_BLOCK_TYPES: Final = frozenset({"image", "image_url", "input_image"})
FRAMING_MARGIN: Final = 2048  # tokens a tokenizer may add for roles and tool framing
COUNTED_FIELDS: Final = ("system", "messages", "tools")


def _has_image(content: Any, depth: int = 0) -> bool:
    if depth > 4 or not isinstance(content, list):
        return False
    for block in content:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") in IMAGE_BLOCK_TYPES:
            return True
        if block.get("type") == "tool_result" and _has_image(block.get("content"), depth + 1):
            return True
    return False


def lower_headers(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        return {}
    return {str(name).lower(): str(value) for name, value in headers.items()}


class RequestFacts:
    """The facts of one request. `body`: LiteLLM's request data; `openai_format`: chat completions."""

    def __init__(
        self,
        body: Mapping[str, Any],
        *,
        openai_format: bool,
        headers: Mapping[str, str],
        client: str | None,
        counter: TokenCounter,
        count_model: str | None = None,
        known_estimate: int | None = None,
    ) -> None:
        self._body = body
        self.openai_format = openai_format
        self._headers = lower_headers(headers)
        self.client = client
        self._counter = counter
        self.count_model = count_model  # the group (or id) whose tokenizer counts
        self._estimate = known_estimate
        self._counted = known_estimate is not None

    @property
    def model(self) -> str | None:
        model = self._body.get("model")
        return model if isinstance(model, str) else None

    @cached_property
    def thinking(self) -> bool:
        thinking = self._body.get("thinking")
        if isinstance(thinking, Mapping) and thinking.get("type") in THINKING_TYPES:
            return True
        effort = self._body.get("reasoning_effort")
        return isinstance(effort, str) and effort.lower() not in ("", "none")

    @cached_property
    def images(self) -> bool:
        messages = self._body.get("messages")
        return isinstance(messages, list) and any(
            isinstance(message, Mapping) and _has_image(message.get("content")) for message in messages
        )

    @cached_property
    def server_tools(self) -> tuple[str, ...]:
        tools = self._body.get("tools")
        types = [
            str(tool["type"]).lower()
            for tool in (tools if isinstance(tools, list) else [])
            if isinstance(tool, Mapping)
            and isinstance(tool.get("type"), str)
            and tool["type"] not in PLAIN_TOOL_TYPES
        ]
        if self._body.get("web_search_options") is not None:
            types.append("web_search")
        return tuple(types)

    @cached_property
    def subagent(self) -> bool:
        return any(self._headers.get(name) for name in SUBAGENT_HEADERS)

    def header(self, name: str) -> str | None:
        return self._headers.get(name.lower())

    @cached_property
    def wider_window_beta(self) -> bool:
        """The client asked for a window wider than LiteLLM's map knows (`context-1m-*` beta)."""
        return any(
            flag.strip().startswith("context-1m") for flag in (self.header("anthropic-beta") or "").split(",")
        )

    @cached_property
    def size_bound(self) -> int:
        """An upper bound on the input tokens (a byte-level tokenizer makes at most one token per
        byte) plus framing: the client's `content-length` when its body is not compressed, else
        the counted fields' JSON length."""
        length = self.header("content-length")
        if length and length.isdigit() and not self.header("content-encoding"):
            return int(length) + FRAMING_MARGIN
        counted = {key: self._body.get(key) for key in COUNTED_FIELDS if key in self._body}
        return len(json.dumps(counted, default=str)) + FRAMING_MARGIN

    @property
    def estimate(self) -> int | None:
        """The estimate if it was computed (or handed in), else None; never counts."""
        return self._estimate

    async def input_tokens(self) -> int | None:
        """The input-token estimate, computed on the first call only (None if it cannot be counted)."""
        if not self._counted:
            self._counted = True
            model = self.count_model or self.model or ""
            fmt = "openai" if self.openai_format else "anthropic"
            self._estimate = await self._counter(model, self._body, fmt)
        return self._estimate

    async def input_tokens_above(self, limit: int) -> bool:
        """Whether the estimate is above `limit`; counts only when the cheap bound cannot tell."""
        if self._estimate is None and self.size_bound <= limit:
            return False
        estimate = await self.input_tokens()
        return estimate is not None and estimate > limit
