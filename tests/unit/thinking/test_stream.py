"""The Anthropic SSE rewriter on real event sequences (the strict fake's stream, LiteLLM's
translated stream): thinking removed and indexes renumbered, foreign signatures marked, frames
split anywhere, CRLF line endings, ping and error events, and the result parsed by the anthropic
SDK's own stream helper (over an in-memory transport, no network)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import httpx2
from hypothesis import given, settings
from hypothesis import strategies as st

from litellm_plugins.thinking.rules import FOREIGN_PREFIX
from litellm_plugins.thinking.stream import AnthropicStreamRewriter
from tests.fakes.anthropic_messages import Reply, sign_thinking, sse_event, stream_events

SECRET = b"sse-test-secret"


def fake_stream(reply: Reply, chunk_count: int = 4) -> bytes:
    async def collect() -> bytes:
        return b"".join([frame async for frame in stream_events("claude-sonnet-4-5", reply, chunk_count, 10)])

    return asyncio.run(collect())


def thinking_reply(text: str = "fake-anthropic says: hello", tool: bool = False) -> Reply:
    reply = Reply(
        text=text,
        thinking="Reasoning about the request.",
        signature=sign_thinking(SECRET, "Reasoning about the request."),
    )
    if tool:
        reply.tool_name, reply.tool_input, reply.tool_id = "Bash", {"command": "ls"}, "toolu_01"
    return reply


def rewrite(
    stream: bytes, pieces: list[int] | None = None, **options: bool
) -> tuple[bytes, AnthropicStreamRewriter]:
    """Feed `stream` cut at `pieces` (sizes, repeated), return the output and the rewriter."""
    rewriter = AnthropicStreamRewriter(
        strip_thinking=options.get("strip_thinking", True),
        mark_signatures=options.get("mark_signatures", False),
    )
    out: list[bytes] = []
    position = 0
    sizes = pieces or [len(stream) or 1]
    step = 0
    while position < len(stream):
        size = max(1, sizes[step % len(sizes)])
        out.append(rewriter.feed(stream[position : position + size]))
        position += size
        step += 1
    out.append(rewriter.finish())
    return b"".join(out), rewriter


def events(stream: bytes) -> list[tuple[str, dict[str, Any]]]:
    parsed = []
    for frame in stream.replace(b"\r\n", b"\n").split(b"\n\n"):
        if not frame.strip():
            continue
        lines = frame.decode().split("\n")
        name = next(line[6:].strip() for line in lines if line.startswith("event:"))
        data = json.loads("".join(line[5:].strip() for line in lines if line.startswith("data:")))
        parsed.append((name, data))
    return parsed


def assert_valid_block_sequence(stream: bytes) -> list[str]:
    """Indexes start at 0, rise by one, and every block starts, gets deltas, and stops in order."""
    open_index: int | None = None
    expected = 0
    kinds = []
    for name, data in events(stream):
        if name == "content_block_start":
            assert open_index is None and data["index"] == expected
            open_index = data["index"]
            kinds.append(data["content_block"]["type"])
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, expected = None, expected + 1
    assert open_index is None
    return kinds


def sdk_final_message(stream: bytes) -> tuple[Any, str]:
    """What the anthropic SDK's `messages.stream()` helper makes of these bytes."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    transport = httpx2.MockTransport(handler)
    client = anthropic.Anthropic(api_key="sk-ant-test", http_client=httpx2.Client(transport=transport))
    with client.messages.stream(
        model="claude-sonnet-5", max_tokens=1024, messages=[{"role": "user", "content": "hi"}]
    ) as s:
        text = "".join(s.text_stream)
        return s.get_final_message(), text


def test_thinking_is_removed_and_blocks_renumbered() -> None:
    original = fake_stream(thinking_reply(tool=True))
    assert assert_valid_block_sequence(original) == ["thinking", "text", "tool_use"]
    out, rewriter = rewrite(original)
    assert assert_valid_block_sequence(out) == ["text", "tool_use"]
    assert b"thinking" not in out and b"signature" not in out
    assert rewriter.blocks_dropped == 1
    message, text = sdk_final_message(out)
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert text == "fake-anthropic says: hello" and message.content[1].input == {"command": "ls"}


def test_a_stream_without_thinking_comes_out_byte_for_byte() -> None:
    original = fake_stream(Reply(text="plain answer"))
    for pieces in (None, [1], [7, 3]):
        out, rewriter = rewrite(original, pieces)
        assert out == original and rewriter.blocks_dropped == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=97), min_size=1, max_size=12))
def test_any_chunking_gives_the_same_output(pieces: list[int]) -> None:
    original = fake_stream(thinking_reply(tool=True), chunk_count=6)
    whole, _ = rewrite(original)
    split, _ = rewrite(original, pieces)
    assert split == whole


def test_every_frame_is_released_as_soon_as_it_is_complete() -> None:
    original = fake_stream(thinking_reply())
    expected, _ = rewrite(original)
    rewriter = AnthropicStreamRewriter(strip_thinking=True, mark_signatures=False)
    released: list[bytes] = []
    for frame in (f + b"\n\n" for f in original.split(b"\n\n") if f):
        assert rewriter.feed(frame[:-1]) == b""  # the blank line has not arrived: not complete
        released.append(rewriter.feed(frame[-1:]))  # complete: out now, nothing held back
        assert rewriter.buffered == 0
    assert b"".join(released) == expected
    assert any(b"text_delta" in frame for frame in released[:-3])  # text flows before the end


def test_crlf_streams_are_rewritten_in_crlf_and_parse() -> None:
    original = fake_stream(thinking_reply()).replace(b"\n", b"\r\n")
    out, rewriter = rewrite(original, [5])
    assert rewriter.blocks_dropped == 1
    assert b"\r\n\r\n" in out and out.replace(b"\r\n", b"").count(b"\n") == 0
    assert assert_valid_block_sequence(out) == ["text"]
    _message, text = sdk_final_message(out)
    assert text == "fake-anthropic says: hello"


def test_a_crlf_terminator_split_between_chunks() -> None:
    frame = sse_event(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
    ).replace(b"\n", b"\r\n")
    rewriter = AnthropicStreamRewriter(strip_thinking=True, mark_signatures=False)
    assert (
        rewriter.feed(frame[:-2]) == b""
        and rewriter.feed(frame[-2:-1]) == b""
        and rewriter.feed(frame[-1:]) == b""
    )
    assert rewriter.blocks_dropped == 1 and rewriter.buffered == 0


def test_ping_and_error_events_pass_through() -> None:
    original = fake_stream(thinking_reply())
    error = sse_event(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    ping = sse_event("ping", {"type": "ping"})
    cut = original.index(b'event: content_block_start\ndata: {"type": "content_block_start", "index": 1')
    stream = original[:cut] + ping + error
    out, _ = rewrite(stream, [11])
    names = [name for name, _ in events(out)]
    assert names == ["message_start", "ping", "ping", "error"]
    assert out.endswith(error)


def test_interleaved_thinking_between_blocks() -> None:
    def start(index: int, block: dict[str, Any]) -> bytes:
        return sse_event(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
        )

    def delta(index: int, body: dict[str, Any]) -> bytes:
        return sse_event(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": body}
        )

    def stop(index: int) -> bytes:
        return sse_event("content_block_stop", {"type": "content_block_stop", "index": index})

    stream = b"".join(
        [
            sse_event("message_start", {"type": "message_start",
                                        "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                    "model": "claude-sonnet-4-5", "content": [],
                                                    "stop_reason": None, "stop_sequence": None,
                                                    "usage": {"input_tokens": 1, "output_tokens": 1}}}),
            start(0, {"type": "text", "text": ""}),
            delta(0, {"type": "text_delta", "text": "Let me check."}), stop(0),
            start(1, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(1, {"type": "thinking_delta", "thinking": "ls"}),
            delta(1, {"type": "signature_delta", "signature": "abc"}), stop(1),
            start(2, {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}),
            delta(2, {"type": "input_json_delta", "partial_json": "{\"command\": \"ls\"}"}), stop(2),
            start(3, {"type": "redacted_thinking", "data": "opaque"}), stop(3),
            start(4, {"type": "text", "text": ""}),
            delta(4, {"type": "text_delta", "text": "Done."}), stop(4),
            sse_event("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                        "usage": {"output_tokens": 9}}),
            sse_event("message_stop", {"type": "message_stop"}),
        ]
    )  # fmt: skip
    out, rewriter = rewrite(stream, [13])
    assert rewriter.blocks_dropped == 2
    assert assert_valid_block_sequence(out) == ["text", "tool_use", "text"]
    message, text = sdk_final_message(out)
    assert text == "Let me check.Done." and message.content[1].input == {"command": "ls"}


def test_litellm_translated_reasoning_stream_is_stripped() -> None:
    """LiteLLM's bridge for an OpenAI-compatible reasoner: a thinking block with no signature_delta."""
    frames = [
        {"type": "message_start", "message": {"id": "msg_x", "type": "message", "role": "assistant",
                                              "content": [], "model": "deepseek-reasoner",
                                              "stop_reason": None, "stop_sequence": None,
                                              "usage": {"input_tokens": 0, "output_tokens": 0}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "thinking_delta", "thinking": "Let me think"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "answer"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"input_tokens": 42, "output_tokens": 19}},
        {"type": "message_stop"},
    ]  # fmt: skip
    stream = b"".join(sse_event(frame["type"], frame) for frame in frames)
    out, _ = rewrite(stream, [1])
    assert assert_valid_block_sequence(out) == ["text"]
    assert sdk_final_message(out)[1] == "answer"


def test_marking_signs_every_signature_as_foreign_and_changes_nothing_else() -> None:
    original = fake_stream(thinking_reply())
    out, rewriter = rewrite(original, [9], strip_thinking=False, mark_signatures=True)
    assert rewriter.signatures_marked == 1 and rewriter.blocks_dropped == 0
    message, _ = sdk_final_message(out)
    assert message.content[0].type == "thinking"
    assert message.content[0].signature == FOREIGN_PREFIX + sign_thinking(
        SECRET, "Reasoning about the request."
    )
    assert [e for e in events(out) if "signature_delta" not in json.dumps(e[1])] == [
        e for e in events(original) if "signature_delta" not in json.dumps(e[1])
    ]


def test_marking_redacted_thinking_data() -> None:
    frame = sse_event(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "redacted_thinking", "data": "opaque"},
        },
    )
    out, _rewriter = rewrite(frame, strip_thinking=False, mark_signatures=True)
    assert events(out)[0][1]["content_block"]["data"] == FOREIGN_PREFIX + "opaque"


def test_unusual_layouts_are_parsed_not_guessed() -> None:
    start = (
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n'
    )
    stop = b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    text_start = (
        b'event: content_block_start\ndata: {"index":1,"type":"content_block_start",'
        b'"content_block":{"type":"text","text":""}}\n\n'
    )
    # index after delta, and a delta whose text mentions "index": only JSON parsing gets this right
    text_delta = (
        b'event: content_block_delta\ndata: {"delta":{"type":"text_delta","text":"{\\"index\\": 7}"},'
        b'"index":1,"type":"content_block_delta"}\n\n'
    )
    data_only = b'data: {"type":"content_block_stop","index":1}\n\n'
    out, _ = rewrite(start + stop + text_start + text_delta + data_only, [3])
    frames = [f for f in out.split(b"\n\n") if f]
    assert len(frames) == 3
    assert json.loads(frames[0].split(b"data: ", 1)[1])["index"] == 0
    delta = json.loads(frames[1].split(b"data: ", 1)[1])
    assert delta["index"] == 0 and delta["delta"]["text"] == '{"index": 7}'
    assert json.loads(frames[2].split(b"data: ", 1)[1]) == {"type": "content_block_stop", "index": 0}


def test_malformed_frames_pass_through_untouched() -> None:
    broken = b"event: content_block_start\ndata: {not json\n\n"
    out, _ = rewrite(broken + b": keep-alive comment\n\n")
    assert out == broken + b": keep-alive comment\n\n"


def test_a_last_frame_without_its_blank_line_is_still_delivered() -> None:
    original = fake_stream(thinking_reply())
    truncated = original.rstrip(b"\n")
    out, rewriter = rewrite(truncated, [17])
    assert out.rstrip(b"\n").endswith(b'{"type": "message_stop"}')
    assert rewriter.buffered == 0


def test_memory_is_one_frame_however_long_the_stream() -> None:
    rewriter = AnthropicStreamRewriter(strip_thinking=True, mark_signatures=False)
    head = fake_stream(thinking_reply())
    cut = head.index(b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 1')
    rewriter.feed(head[:cut])
    delta = sse_event(
        "content_block_delta",
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "x" * 50}},
    )
    largest = 0
    for _ in range(5000):
        rewriter.feed(delta[:30])
        largest = max(largest, rewriter.buffered)
        assert rewriter.feed(delta[30:]).startswith(
            b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0'
        )
    assert largest <= len(delta) and rewriter.buffered == 0
