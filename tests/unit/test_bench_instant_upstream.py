"""The instant upstream's replies are valid streams, like the real APIs': every kind (text,
thinking, tool_use), by length and by size, in Anthropic's event sequence and OpenAI's chat chunks,
checked by the SDKs' own stream accumulators and by the ordering rules of the Messages API."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from pydantic import TypeAdapter

from bench import instant_upstream
from bench.instant_upstream import KINDS, Replies, ReplySpec, Server, parse_marker

SPECS = [ReplySpec(kind, chunks) for kind in KINDS for chunks in (1, 2, 20, 2000)] + [
    ReplySpec(kind, size=size, piece=piece)
    for kind in KINDS
    for size, piece in ((1_000, 1_000), (10_000, 1_000), (100_000, 333))
]


def filled(frame: bytes) -> bytes:
    return frame.replace(b"@ID@", b"msg_test_1").replace(b"@MODEL@", b"deepseek-chat")


def anthropic_events(replies: Replies) -> list[dict[str, Any]]:
    events = []
    for frame in replies.anthropic_frames:
        text = filled(frame).decode()
        assert text.endswith("\n\n") and text.count("\n\n") == 1  # one SSE frame per write
        name_line, data_line = text.strip().split("\n")
        payload = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {payload['type']}"
        events.append(payload)
    return events


def check_event_order(events: list[dict[str, Any]]) -> None:
    """The Messages API's order: message_start; per block, in index order from 0, a start, its
    deltas (of the block's own delta types), a stop; message_delta with usage; message_stop."""
    assert events[0]["type"] == "message_start" and events[0]["message"]["content"] == []
    assert [e["type"] for e in events[-2:]] == ["message_delta", "message_stop"]
    assert events[-2]["usage"]["output_tokens"] > 0 and events[-2]["delta"]["stop_reason"]
    allowed = {
        "text": {"text_delta"},
        "thinking": {"thinking_delta", "signature_delta"},
        "tool_use": {"input_json_delta"},
    }
    open_block: tuple[int, str] | None = None
    next_index = 0
    for event in events[1:-2]:
        if event["type"] == "content_block_start":
            assert open_block is None and event["index"] == next_index
            open_block = (event["index"], event["content_block"]["type"])
            next_index += 1
        elif event["type"] == "content_block_delta":
            assert open_block is not None and event["index"] == open_block[0]
            assert event["delta"]["type"] in allowed[open_block[1]]
        else:
            assert event["type"] == "content_block_stop"
            assert open_block is not None and event["index"] == open_block[0]
            open_block = None
    assert open_block is None and next_index >= 1


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.marker())
def test_anthropic_stream_is_a_valid_event_sequence_the_sdk_accumulates(spec: ReplySpec) -> None:
    replies = Replies(spec)
    events = anthropic_events(replies)
    check_event_order(events)
    adapter: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
    snapshot = None
    # The SDK's own accumulator (what `client.messages.stream()` runs); newer SDKs keep the tool
    # input's partial JSON in a buffer the caller passes.
    extra: dict[str, Any] = (
        {"json_bufs": {}} if "json_bufs" in inspect.signature(accumulate_event).parameters else {}
    )
    for event in events:
        snapshot = accumulate_event(event=adapter.validate_python(event), current_snapshot=snapshot, **extra)
    assert snapshot is not None
    kinds = [block.type for block in snapshot.content]
    assert (
        kinds
        == {"text": ["text"], "thinking": ["thinking", "text"], "tool_use": ["text", "tool_use"]}[spec.kind]
    )
    deltas = sum(
        1 for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] != "signature_delta"
    )
    assert deltas == len([piece for block in replies.blocks for piece in block.pieces])
    if spec.kind == "thinking":
        assert snapshot.content[0].signature == instant_upstream.THINKING_SIGNATURE  # type: ignore[union-attr]
        assert snapshot.stop_reason == "end_turn"
    if spec.kind == "tool_use":
        tool = snapshot.content[1]
        assert tool.name == "Bash" and set(tool.input) == {"command", "description"}  # type: ignore[union-attr]
        assert snapshot.stop_reason == "tool_use"
    # The JSON reply holds the same content as the stream.
    message = json.loads(filled(replies.anthropic_message))
    assert [block["type"] for block in message["content"]] == kinds
    assert message["stop_reason"] == snapshot.stop_reason
    if not spec.size:
        assert deltas == max(spec.chunks, len(kinds))  # the length asked; each block has one at least
    else:
        assert spec.size <= replies.size <= spec.size + 200  # the size asked, in content bytes


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.marker())
def test_chat_stream_is_what_the_openai_sdk_accumulates_into_the_same_reply(spec: ReplySpec) -> None:
    replies = Replies(spec)
    state = ChatCompletionStreamState()
    frames = [*replies.stream_frames, replies.usage_frame]
    for frame in frames:
        text = filled(frame).decode()
        assert text.startswith("data: ") and text.endswith("\n\n")
        state.handle_chunk(ChatCompletionChunk.model_validate_json(text.removeprefix("data: ")))
    assert replies.done_frame == b"data: [DONE]\n\n"
    completion = state.get_final_completion()
    choice = completion.choices[0]
    text_blocks = "".join(block.text for block in replies.blocks if block.kind == "text")
    assert choice.message.content == text_blocks
    assert completion.usage is not None and completion.usage.completion_tokens == replies.output_tokens
    if spec.kind == "tool_use":
        assert choice.finish_reason == "tool_calls"
        calls = choice.message.tool_calls or []
        assert len(calls) == 1 and calls[0].function.name == "Bash"
        assert set(json.loads(calls[0].function.arguments)) == {"command", "description"}
    else:
        assert choice.finish_reason == "stop" and not choice.message.tool_calls
    if spec.kind == "thinking":
        reasoning = "".join(
            json.loads(filled(frame).decode().removeprefix("data: "))["choices"][0]["delta"].get(
                "reasoning_content", ""
            )
            for frame in replies.stream_frames
        )
        assert reasoning == replies.blocks[0].text
    message = json.loads(filled(replies.completion))["choices"][0]["message"]
    assert message["content"] == text_blocks


def test_the_default_reply_is_the_one_the_proxy_benchmark_always_measured() -> None:
    replies = Replies(20)
    assert replies.spec == ReplySpec() and [block.kind for block in replies.blocks] == ["text"]
    assert replies.blocks[0].pieces[3] == f"{instant_upstream.REPLY_WORDS} (3) "
    assert len(replies.stream_frames) == 22  # role, 20 content chunks, finish


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.marker())
def test_no_two_consecutive_deltas_are_the_same(spec: ReplySpec) -> None:
    # LiteLLM's chat route ends a stream of repeated content deltas as a looping model's.
    for block in Replies(spec).blocks:
        assert all(a != b for a, b in zip(block.pieces, block.pieces[1:])), block.kind


def test_markers_round_trip_and_bad_ones_are_refused() -> None:
    for spec in SPECS:
        body = json.dumps({"messages": [{"role": "user", "content": f"Do it. {spec.marker()}"}]}).encode()
        assert parse_marker(body) == spec
    assert parse_marker(b'{"messages": []}') is None
    for bad in (
        b"[bench-reply kind=poetry chunks=2]",
        b"[bench-reply kind=text chunks=0]",
        b"[bench-reply kind=text chunks=many]",
        b"[bench-reply kind=text colour=red]",
        b"[bench-reply kind=text bytes=999999999999]",
        b"[bench-reply kind=text chunks=2",
    ):
        with pytest.raises(ValueError):
            parse_marker(bad)


class Writer:
    """Collects what the server writes (an asyncio.StreamWriter's surface the server uses)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.transport = self

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    async def drain(self) -> None:
        return None


def served(server: Server, path: str, body: dict[str, Any]) -> bytes:
    writer = Writer()
    asyncio.run(server.respond("POST", path, json.dumps(body).encode(), writer))  # type: ignore[arg-type]
    return bytes(writer.data)


def test_the_server_answers_the_reply_the_marker_names_and_400_for_a_bad_one() -> None:
    server = Server(Replies(20))
    asked = ReplySpec("tool_use", 7)
    message = {"role": "user", "content": f"Run it {asked.marker()}"}
    answer = served(server, "/v1/messages", {"model": "m", "stream": True, "messages": [message]})
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.count(b"input_json_delta") == 6
    assert b'"stop_reason":"tool_use"' in answer
    plain = served(server, "/v1/chat/completions", {"model": "m", "stream": True, "messages": []})
    assert plain.count(b'"content":"Hello from') == 20  # no marker: the command line's reply
    bad = {"role": "user", "content": "[bench-reply kind=poetry chunks=2]"}
    refused = served(server, "/v1/messages", {"model": "m", "messages": [bad]})
    assert refused.startswith(b"HTTP/1.1 400 Bad Request")
    error = json.loads(refused.split(b"\r\n\r\n", 1)[1])
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert "poetry" in error["error"]["message"]
    refused_chat = served(server, "/v1/chat/completions", {"model": "m", "messages": [bad]})
    assert json.loads(refused_chat.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "invalid_request_error"
