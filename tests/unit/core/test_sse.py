"""Unit tests for litellm_plugins.core.sse: one frame end for both stream modules."""

from __future__ import annotations

import json

import pytest

from litellm_plugins.core.sse import find_frame_end
from litellm_plugins.guards.stream_integrity import AnthropicStreamMonitor
from litellm_plugins.thinking.stream import AnthropicStreamRewriter

TERMINATORS = [b"\n\n", b"\r\n\r\n", b"\r\r", b"\r\n\n", b"\n\r\n"]


@pytest.mark.parametrize("terminator", TERMINATORS)
def test_every_sse_line_ending_style_ends_a_frame(terminator: bytes) -> None:
    buffer = b"event: ping" + terminator + b"data: rest"
    assert find_frame_end(buffer) == (len(b"event: ping") + len(terminator), terminator)
    assert find_frame_end(buffer, len(buffer) - 3) is None


def test_the_plain_lf_search_finds_what_the_regex_finds() -> None:
    buffer = b"data: 1\n\ndata: 2\n\n"
    assert find_frame_end(buffer, 0, plain=True) == find_frame_end(buffer, 0, plain=False) == (9, b"\n\n")


def _stream(terminator: bytes) -> bytes:
    events = [
        {"type": "message_start", "message": {"id": "m"}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
        {"type": "message_stop"},
    ]
    line_end = terminator[: len(terminator) // 2] if terminator in (b"\n\n", b"\r\n\r\n", b"\r\r") else b"\n"
    return b"".join(
        b"event: " + e["type"].encode() + line_end + b"data: " + json.dumps(e).encode() + terminator
        for e in events
    )


@pytest.mark.parametrize("terminator", TERMINATORS)
def test_the_guard_and_the_thinking_stripper_agree_on_frames(terminator: bytes) -> None:
    whole = _stream(terminator)
    monitor = AnthropicStreamMonitor()
    assert monitor.feed(whole) + monitor.finish() == whole  # a complete stream, untouched
    rewriter = AnthropicStreamRewriter(strip_thinking=True, mark_signatures=True)
    assert rewriter.feed(whole) + rewriter.finish() == whole
