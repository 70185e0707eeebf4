from __future__ import annotations

import json

import pytest

from litellm_plugins.guards.stream_integrity import AnthropicStreamMonitor, error_frame
from litellm_plugins.guards.upstream_errors import client_status_for


def event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


COMPLETE = [
    event("message_start", {"type": "message_start", "message": {"id": "m"}}),
    event(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    event("ping", {"type": "ping"}),
    event(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
    ),
    event("content_block_stop", {"type": "content_block_stop", "index": 0}),
    event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
    event("message_stop", {"type": "message_stop"}),
]


def run(chunks: list[bytes]) -> bytes:
    monitor = AnthropicStreamMonitor()
    return b"".join(monitor.feed(chunk) for chunk in chunks) + monitor.finish()


@pytest.mark.parametrize("size", [1, 3, 7, 64, 10_000])
def test_a_complete_stream_passes_through_unchanged_whatever_the_chunking(size: int) -> None:
    whole = b"".join(COMPLETE)
    chunks = [whole[i : i + size] for i in range(0, len(whole), size)]
    assert run(chunks) == whole


def test_crlf_framing_is_understood() -> None:
    whole = b"".join(COMPLETE).replace(b"\n", b"\r\n")
    assert run([whole]) == whole


def test_a_cut_stream_ends_with_an_error_event() -> None:
    out = run(COMPLETE[:4])
    assert out.startswith(b"".join(COMPLETE[:4]))
    assert out.endswith(error_frame("Upstream stream ended before message_stop."))


def test_an_empty_stream_is_an_error() -> None:
    assert run([]) == error_frame("Upstream stream ended before message_stop.")


@pytest.mark.parametrize(
    "bad",
    [
        b"data: {not json\n\n",
        b'{"id": "msg_broken", "type": "message", "content": [\n\n',
        b"event: x\ndata: [1, 2]\n\n",
    ],
)
def test_a_broken_frame_becomes_an_error_and_nothing_after_it_is_sent(bad: bytes) -> None:
    out = run([COMPLETE[0], bad, *COMPLETE[1:]])
    assert out.startswith(COMPLETE[0])
    assert out.count(b"event: error") == 1 and out.endswith(b"\n\n")
    assert b"message_stop" not in out


def test_an_upstream_error_event_ends_the_stream_without_a_second_error() -> None:
    upstream_error = event(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    out = run([COMPLETE[0], upstream_error])
    assert out == COMPLETE[0] + upstream_error


def test_a_last_frame_without_its_blank_line_still_counts() -> None:
    whole = b"".join(COMPLETE)[:-1]  # message_stop frame missing its final newline
    assert run([whole]).count(b"event: error") == 0


class Upstream500(Exception):
    status_code = 500


class ConnectError(Exception):
    pass


@pytest.mark.parametrize(
    ("message", "cause", "expected"),
    [
        ("OpenAIException - Connection error.", None, 502),
        ("AnthropicException - [Errno 104] Connection reset by peer", None, 502),
        ("Cannot connect to host 127.0.0.1:1 ssl:None [Connect call failed]", None, 502),
        ("wrapped", ConnectError("boom"), 502),
        ("Empty or invalid response from LLM endpoint", None, 502),
        (
            'AnthropicError - {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            None,
            529,
        ),
        (
            (
                'AnthropicException - {"type":"error","error":{"type":"api_error","message":"Internal '
                'server error"}}'
            ),
            None,
            None,
        ),
    ],
)
def test_litellms_catch_all_500_is_reread(
    message: str, cause: Exception | None, expected: int | None
) -> None:
    error = Upstream500(message)
    error.__cause__ = cause
    assert client_status_for(error, 500) == expected


@pytest.mark.parametrize("status", [400, 401, 429, 502, 503, 529, None])
def test_other_statuses_are_kept(status: int | None) -> None:
    assert client_status_for(Upstream500("Connection error"), status) is None


def test_an_empty_complete_answer_is_a_broken_upstream() -> None:
    empty = [
        COMPLETE[0],
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 0}},
        ),
        event("message_stop", {"type": "message_stop"}),
    ]
    out = run(empty)
    assert out.endswith(error_frame("Upstream stream broken: it ended without any content."))
    assert b"message_stop" not in out and b"message_delta" not in out


def test_message_delta_is_held_only_until_message_stop() -> None:
    monitor = AnthropicStreamMonitor()
    assert monitor.feed(b"".join(COMPLETE[:5])) == b"".join(COMPLETE[:5])
    assert monitor.feed(COMPLETE[5]) == b""  # held: memory is one frame
    assert monitor.feed(COMPLETE[6]) == COMPLETE[5] + COMPLETE[6]
    assert monitor.finish() == b""
