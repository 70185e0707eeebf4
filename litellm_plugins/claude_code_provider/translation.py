"""What Claude Code reports, in OpenAI's terms (pure).

- a partial message's `content_block_delta` / `text_delta` is one streamed token chunk;
- the result's `usage` (Anthropic's input, output and cache counts) becomes OpenAI usage:
  `prompt_tokens` counts every input token (cached or not, as OpenAI does), with the cached
  part in `prompt_tokens_details.cached_tokens` and Anthropic's own cache fields alongside;
- a failed run's HTTP status decides whether the pooled token is cooled and the next one tried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

FAILOVER_STATUSES: Final = frozenset({401, 403, 429, 529})
FINISH_REASONS: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
}


def text_delta(event: Mapping[str, Any]) -> str | None:
    if event.get("type") != "content_block_delta":
        return None
    delta = event.get("delta")
    if (
        isinstance(delta, Mapping)
        and delta.get("type") == "text_delta"
        and isinstance(delta.get("text"), str)
    ):
        return delta["text"]
    return None


def _count(usage: Mapping[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def openai_usage(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    usage = usage or {}
    fresh = _count(usage, "input_tokens")
    read = _count(usage, "cache_read_input_tokens")
    written = _count(usage, "cache_creation_input_tokens")
    output = _count(usage, "output_tokens")
    prompt = fresh + read + written
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": read},
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": written,
    }


def finish_reason(stop_reason: str | None) -> str:
    return FINISH_REASONS.get(stop_reason or "", "stop")
