"""An instant OpenAI-compatible chat server: the cheapest upstream a proxy benchmark can have.

Run it as its own process (so it never shares a GIL with the proxy or the load generator):

    python bench/instant_upstream.py --port 0 --chunks 20

It prints `READY <port>` on stdout once it listens on 127.0.0.1. Routes:

- `POST /v1/chat/completions` (and `/chat/completions`): a fixed reply; with `"stream": true`,
  a role chunk, `--chunks` content chunks, a finish chunk, a usage chunk when the request asks
  for `stream_options.include_usage`, and `data: [DONE]`, written back to back (chunked transfer
  encoding, keep-alive);
- `POST /v1/messages`: the same reply in Anthropic's Messages format (JSON, or the SSE event
  sequence `message_start` ... `message_stop` with one `text_delta` per chunk), for
  `anthropic/` deployments;
- `GET /v1/models`, `GET /health`: small JSON answers; anything else is 404.

Raw asyncio over HTTP/1.1 with keep-alive, no framework: every reply byte except the ids is
prepared at startup, so the upstream costs a few tens of microseconds per request and the
numbers a benchmark prints are the proxy's. It answers any model and key; it checks nothing
(the strict fakes in `tests/fakes/` are for correctness, this is for speed).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from typing import Final

HEADER_LIMIT: Final = 65536
REPLY_WORDS: Final = "Hello from the instant upstream, this is one streamed piece of a reply."
PROMPT_TOKENS: Final = 2100
CHAT_PATHS: Final = frozenset({"/v1/chat/completions", "/chat/completions"})
MESSAGES_PATHS: Final = frozenset({"/v1/messages"})


def _frame(payload: dict) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Replies:
    """Every answer, built once; `@ID@` and `@MODEL@` placeholders are filled per request."""

    def _anthropic(self, text_pieces: list[str], output_tokens: int) -> None:
        usage = {
            "input_tokens": PROMPT_TOKENS,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        message = {
            "id": "@ID@",
            "type": "message",
            "role": "assistant",
            "model": "@MODEL@",
            "stop_reason": None,
            "stop_sequence": None,
        }
        self.anthropic_frames = [
            _event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {**message, "content": [], "usage": {**usage, "output_tokens": 1}},
                },
            ),
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            *(
                _event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
                for piece in text_pieces
            ),
            _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            ),
            _event("message_stop", {"type": "message_stop"}),
        ]
        self.anthropic_message = json.dumps(
            {
                **message,
                "content": [{"type": "text", "text": "".join(text_pieces)}],
                "stop_reason": "end_turn",
                "usage": usage,
            },
            separators=(",", ":"),
        ).encode()

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        text_pieces = [f"{REPLY_WORDS} ({index}) " for index in range(chunks)]
        completion_tokens = max(1, sum(len(piece) for piece in text_pieces) // 4)
        usage = {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens,
        }
        head = {"id": "@ID@", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "@MODEL@"}

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            return _frame({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        body = [chunk({"role": "assistant", "content": ""})]
        body += [chunk({"content": piece}) for piece in text_pieces]
        body.append(chunk({}, "stop"))
        self.stream_frames = body
        self.usage_frame = _frame({**head, "choices": [], "usage": usage})
        self.done_frame = b"data: [DONE]\n\n"
        self._anthropic(text_pieces, completion_tokens)
        message = {"role": "assistant", "content": "".join(text_pieces)}
        self.completion = json.dumps(
            {
                "id": "@ID@",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "@MODEL@",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                "usage": usage,
            },
            separators=(",", ":"),
        ).encode()


def _event(name: str, payload: dict) -> bytes:
    return b"event: " + name.encode() + b"\n" + _frame(payload)


def _response(status: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
    return (
        b"HTTP/1.1 "
        + status.encode()
        + b"\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


STREAM_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
NOT_FOUND: Final = _response(
    "404 Not Found", b'{"error":{"message":"not found","type":"invalid_request_error","code":"unknown_url"}}'
)


class Server:
    def __init__(self, replies: Replies) -> None:
        self.replies = replies
        self.ids = itertools.count(1)
        self.served = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request_line, _, header_block = head.partition(b"\r\n")
                method, path, _version = request_line.decode("latin-1").split(" ", 2)
                length = 0
                close = False
                for line in header_block.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                body = await reader.readexactly(length) if length else b""
                await self.respond(method, path.split("?", 1)[0], body, writer)
                self.served += 1
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def respond(self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> None:
        if method == "POST" and path in CHAT_PATHS:
            request = json.loads(body or b"{}")
            model = str(request.get("model", "instant")).encode()
            ident = b"chatcmpl-instant-%d" % next(self.ids)
            if request.get("stream"):
                await self.stream(
                    writer, ident, model, bool((request.get("stream_options") or {}).get("include_usage"))
                )
                return
            payload = self.replies.completion.replace(b"@ID@", ident, 1).replace(b"@MODEL@", model, 1)
            writer.write(_response("200 OK", payload))
            return
        if method == "POST" and path in MESSAGES_PATHS:
            request = json.loads(body or b"{}")
            model = str(request.get("model", "instant")).encode()
            ident = b"msg_instant_%d" % next(self.ids)
            if request.get("stream"):
                writer.write(STREAM_HEAD)
                for frame in self.replies.anthropic_frames:
                    writer.write(_chunked(frame.replace(b"@ID@", ident).replace(b"@MODEL@", model)))
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                return
            payload = self.replies.anthropic_message.replace(b"@ID@", ident, 1).replace(b"@MODEL@", model, 1)
            writer.write(_response("200 OK", payload))
            return
        if method == "GET" and path in ("/v1/models", "/models"):
            writer.write(
                _response(
                    "200 OK",
                    b'{"object":"list","data":[{"id":"instant","object":"model","created":0,"owned_by":"bench"}]}',
                )
            )
            return
        if method == "GET" and path == "/health":
            writer.write(_response("200 OK", b'{"status":"ok"}'))
            return
        writer.write(NOT_FOUND)

    async def stream(
        self, writer: asyncio.StreamWriter, ident: bytes, model: bytes, include_usage: bool
    ) -> None:
        writer.write(STREAM_HEAD)
        frames = list(self.replies.stream_frames)
        if include_usage:
            frames.append(self.replies.usage_frame)
        frames.append(self.replies.done_frame)
        for frame in frames:
            # One write per frame, as a real server flushes per token; no sleep: instant.
            writer.write(_chunked(frame.replace(b"@ID@", ident).replace(b"@MODEL@", model)))
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def serve(port: int, chunks: int) -> None:
    server = Server(Replies(chunks))
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port, limit=HEADER_LIMIT, backlog=1024)
    bound = listener.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    started = time.monotonic()
    async with listener:
        try:
            await listener.serve_forever()
        finally:
            print(
                f"served {server.served} requests in {time.monotonic() - started:.0f}s",
                file=sys.stderr,
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as READY <port>)")
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed reply")
    args = parser.parse_args(argv)
    try:
        import uvloop  # LiteLLM's own dependency; plain asyncio works too

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.port, max(1, args.chunks)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
