"""Connection-level upstream faults an HTTP framework cannot produce: a TCP reset before the
first byte or in the middle of a stream, a stream that stalls, a server that never answers.

One raw asyncio server on 127.0.0.1; the first path segment picks the behaviour and the second
the protocol of the partial stream (`end_mid_stream`: a few events, then a clean end of the body
without the protocol's own end: no `finish_reason` / `[DONE]`, no `message_stop`;
`finish_in_last_chunk`: a complete OpenAI stream whose `finish_reason` rides on its last content
chunk, as some servers send it), e.g. `api_base: http://127.0.0.1:<port>/reset_mid_stream/openai/v1`
or `.../stall_mid_stream/anthropic`. Every request is counted per behaviour.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections import Counter
from typing import Final

BEHAVIOURS: Final = frozenset(
    {
        "reset_before_first_byte", "reset_mid_stream", "stall_mid_stream", "stall_before_headers",
        "end_mid_stream", "finish_in_last_chunk",
    }
)  # fmt: skip
STALL_SECONDS: Final = 60.0


def openai_frames(finish_reason: str | None = None) -> list[bytes]:
    chunk = {
        "id": "chatcmpl-raw",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "raw",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": "partial "},
                "finish_reason": finish_reason,
            }
        ],
    }
    return [f"data: {json.dumps(chunk)}\n\n".encode()]


def anthropic_frames() -> list[bytes]:
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_raw",
                    "type": "message",
                    "role": "assistant",
                    "model": "raw",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "partial "}},
        ),
    ]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


class RawFaultServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="raw-faults", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    def start(self) -> RawFaultServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        )
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def base(self, behaviour: str, protocol: str) -> str:
        assert behaviour in BEHAVIOURS, behaviour
        suffix = "/v1" if protocol == "openai" else ""
        return f"http://127.0.0.1:{self.port}/{behaviour}/{protocol}{suffix}"

    async def _read_request(self, reader: asyncio.StreamReader) -> str:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        if length:
            await reader.readexactly(length)
        return lines[0].split(" ")[1] if " " in lines[0] else "/"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            path = await self._read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            writer.close()
            return
        parts = path.strip("/").split("/")
        behaviour = parts[0] if parts else ""
        protocol = parts[1] if len(parts) > 1 else "openai"
        self.hits[behaviour] += 1
        if behaviour == "stall_before_headers":
            await asyncio.sleep(STALL_SECONDS)
            writer.close()
            return
        if behaviour == "reset_before_first_byte":
            _reset(writer)
            return
        frames = anthropic_frames() if protocol == "anthropic" else openai_frames()
        if behaviour == "finish_in_last_chunk":
            frames = openai_frames(finish_reason="stop") + [b"data: [DONE]\n\n"]
        # Chunked, as real SSE servers send it: a cut is then detectable as an incomplete body.
        headers = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        writer.write(headers + b"".join(b"%x\r\n%s\r\n" % (len(frame), frame) for frame in frames))
        await writer.drain()
        if behaviour == "stall_mid_stream":
            await asyncio.sleep(STALL_SECONDS)
            writer.close()
            return
        if behaviour in ("end_mid_stream", "finish_in_last_chunk"):
            writer.write(b"0\r\n\r\n")  # the body ends cleanly (the stream it carries may not)
            await writer.drain()
            writer.close()
            return
        await asyncio.sleep(0.05)
        _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed or cut connection looks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def wait_for_hits(server: RawFaultServer, behaviour: str, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while server.hits[behaviour] < count and time.monotonic() < deadline:
        time.sleep(0.02)
