"""Unit tests for litellm_plugins.streams: one frame cut for the upstream guard and the thinking stripper."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from litellm_plugins.guards.stream_integrity import error_frame
from litellm_plugins.streams import context as stream_context
from litellm_plugins.streams.anthropic_stream import AnthropicStream
from litellm_plugins.streams.layer import StreamLayer
from litellm_plugins.thinking.stream import AnthropicStreamRewriter


def event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


THINKING_THEN_TEXT = [
    event({"type": "message_start", "message": {"id": "m", "content": []}}),
    event({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
    event({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "t"}}),
    event({"type": "content_block_stop", "index": 0}),
    event({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    event({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "hi"}}),
    event({"type": "content_block_stop", "index": 1}),
    event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
    event({"type": "message_stop"}),
]


def run_stream(stream: AnthropicStream, chunks: list[bytes]) -> bytes:
    return b"".join(stream.feed(chunk) for chunk in chunks) + stream.finish()


@pytest.mark.parametrize("size", [0, 1, 5, 64, 100_000])
def test_one_pass_strips_and_keeps_the_stream_valid_whatever_the_chunking(size: int) -> None:
    whole = b"".join(THINKING_THEN_TEXT)
    chunks = THINKING_THEN_TEXT if size == 0 else [whole[i : i + size] for i in range(0, len(whole), size)]
    rewriter = AnthropicStreamRewriter(strip_thinking=True, mark_signatures=False)
    out = run_stream(AnthropicStream(rewriter), chunks)
    assert b"thinking" not in out and rewriter.blocks_dropped == 1
    assert b'"index": 0, "delta": {"type": "text_delta"' in out  # renumbered from 1
    assert out.endswith(THINKING_THEN_TEXT[-2] + THINKING_THEN_TEXT[-1])


def test_frames_nothing_changes_leave_as_the_same_bytes() -> None:
    stream = AnthropicStream()
    for frame in THINKING_THEN_TEXT[:7]:
        assert stream.feed(frame) is frame
    assert stream.feed(THINKING_THEN_TEXT[7]) == b""  # message_delta waits for message_stop
    assert stream.feed(THINKING_THEN_TEXT[8]) == THINKING_THEN_TEXT[7] + THINKING_THEN_TEXT[8]
    assert stream.finish() == b""


def test_a_cut_stream_ends_with_an_error_frame_and_a_broken_one_sends_nothing_after() -> None:
    assert run_stream(AnthropicStream(), THINKING_THEN_TEXT[:3]).endswith(
        error_frame("Upstream stream ended before message_stop.")
    )
    out = run_stream(
        AnthropicStream(), [THINKING_THEN_TEXT[0], b"data: {not json\n\n", *THINKING_THEN_TEXT[1:]]
    )
    assert out.count(b"event: error") == 1 and b"message_stop" not in out


def serve(
    route: str, content_type: bytes, body: list[bytes], plan: tuple[bool, bool] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The messages the layer sends for a reply an ASGI app (LiteLLM's stand-in) sends."""
    cuts: list[str] = []
    seen_context: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen_context.append(stream_context.current())
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]}
        )
        for piece in body:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(dict(message))

    layer = StreamLayer(app, lambda _state: plan, lambda _state, _what: None, cuts.append)
    asyncio.run(layer({"type": "http", "method": "POST", "path": route}, None, send))
    assert stream_context.current() is None  # closed again after the request
    assert (seen_context[0] is not None) == (route in ("/v1/messages", "/v1/chat/completions"))
    return sent, cuts


def test_the_layer_ends_a_cut_messages_stream_and_reports_it() -> None:
    sent, cuts = serve("/v1/messages", b"text/event-stream", THINKING_THEN_TEXT[:4])
    body = b"".join(m.get("body", b"") for m in sent)
    assert body.endswith(error_frame("Upstream stream ended before message_stop.")) and cuts == [
        "/v1/messages"
    ]
    assert sent[-1]["more_body"] is False


@pytest.mark.parametrize(
    ("route", "content_type"),
    [
        ("/v1/messages", b"application/json"),
        ("/v1/messages/count_tokens", b"text/event-stream"),
        ("/v1/chat/completions", b"text/event-stream"),
    ],
)
def test_other_replies_pass_untouched(route: str, content_type: bytes) -> None:
    body = [b"data: not an anthropic event\n\n"]
    sent, cuts = serve(route, content_type, body)
    assert b"".join(m.get("body", b"") for m in sent) == body[0] and not cuts


def test_a_chat_stream_with_a_plan_loses_reasoning() -> None:
    chunks = [
        b'data: {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]}\n\n',
        b'data: {"choices": [{"index": 0, "delta": {"content": "hi", "reasoning_content": "x"}}]}\n\n',
        b"data: [DONE]\n\n",
    ]
    sent, _ = serve("/v1/chat/completions", b"text/event-stream", chunks, plan=(True, False))
    body = b"".join(m.get("body", b"") for m in sent)
    assert b"reasoning" not in body and b'"content":"hi"' in body and body.endswith(b"data: [DONE]\n\n")


def test_marking_keeps_every_index_and_marks_the_signature() -> None:
    frames = [
        event({"type": "message_start", "message": {"id": "m", "content": []}}),
        event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}}),
        event({"type": "content_block_stop", "index": 0}),
        event(
            {"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": ""}}
        ),
        event(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "signature_delta", "signature": "s"},
            }
        ),
        event({"type": "content_block_stop", "index": 1}),
        *THINKING_THEN_TEXT[-2:],
    ]
    rewriter = AnthropicStreamRewriter(strip_thinking=False, mark_signatures=True)
    out = run_stream(AnthropicStream(rewriter), frames)
    assert rewriter.signatures_marked == 1 and b'"signature":"s"' not in out.replace(b" ", b"")
    assert out.count(b'"index": 1') + out.count(b'"index":1') == 3  # start, delta, stop keep index 1
