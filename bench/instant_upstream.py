"""An instant OpenAI-compatible chat server: the cheapest upstream a proxy benchmark can have.

Run it as its own process (so it never shares a GIL with the proxy or the load generator):

    python bench/instant_upstream.py --port 0 --chunks 20 [--kind text|thinking|tool_use] [--bytes N]

It prints `READY <port>` on stdout once it listens on 127.0.0.1. Routes:

- `POST /v1/chat/completions` (and `/chat/completions`): a fixed reply; with `"stream": true`,
  a role chunk, `--chunks` content chunks, a finish chunk, a usage chunk when the request asks
  for `stream_options.include_usage`, and `data: [DONE]`, written back to back (chunked transfer
  encoding, keep-alive);
- `POST /v1/messages`: the same reply in Anthropic's Messages format (JSON, or the SSE event
  sequence `message_start` ... `message_stop` with one `text_delta` per chunk), for
  `anthropic/` deployments;
- `GET /v1/models`, `GET /health`: small JSON answers; anything else is 404.

Reply kinds (`ReplySpec`): `text` (the default above); `thinking`, a thinking block of
`thinking_delta`s closed by a `signature_delta`, then a text block (on the chat route
`reasoning_content` deltas, as DeepSeek sends them, then `content`); `tool_use`, a text block
then a `Bash` `tool_use` block whose input streams as `input_json_delta` pieces (on the chat
route `tool_calls` argument deltas, `finish_reason: tool_calls`). The length is `--chunks`
content deltas, or with `--bytes N` N bytes of content in `--piece-bytes` deltas. A request
picks its own reply with a `[bench-reply kind=thinking chunks=200]` or `[bench-reply kind=text
bytes=1000000 piece=1000]` marker anywhere in its body (the benchmarks put it in the user's
message, which every proxy forwards upstream), so one upstream serves every cell of a curve; a
malformed marker gets a 400 in the route's protocol.

Raw asyncio over HTTP/1.1 with keep-alive, no framework: every reply byte except the ids is
prepared once (at startup, or on a marker's first request; the last few kept), so the upstream
costs a few tens of microseconds per request and the numbers a benchmark prints are the proxy's.
It answers any model and key; it checks nothing else (the strict fakes in `tests/fakes/` are for
correctness, this is for speed).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

HEADER_LIMIT: Final = 65536
REPLY_WORDS: Final = "Hello from the instant upstream, this is one streamed piece of a reply."
PROMPT_TOKENS: Final = 2100
CHAT_PATHS: Final = frozenset({"/v1/chat/completions", "/chat/completions"})
MESSAGES_PATHS: Final = frozenset({"/v1/messages"})
KINDS: Final = ("text", "thinking", "tool_use")
MARKER_START: Final = b"[bench-reply "
SIZE_PIECE_BYTES: Final = 1000  # content bytes per delta of a reply asked for by size
MAX_CHUNKS: Final = 1_000_000
MAX_SIZE: Final = 100_000_000
CACHED_REPLIES: Final = 12  # replies kept built (a 10 MB one holds about 45 MB)
THINKING_WORDS: Final = "Let me think about what the user asked and what the file says, step by step."
THINKING_SIGNATURE: Final = "EqQBCkYIBxgCKkBenchInstantUpstreamSignature" + "A" * 64
TOOL_NAME: Final = "Bash"  # a tool Claude Code's request offers
TOOL_DESCRIPTION: Final = "Print the streamed reply"
TOOL_USE_ID: Final = "toolu_01InstantUpstream000001"
TOOL_CALL_ID: Final = "call_instant_upstream_000001"


def _frame(payload: dict) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


# (method, path without the query, lower-case headers, body, epoch seconds the head arrived)
Request = tuple[str, str, dict[str, str], bytes, float]


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    answer: Callable[[Request, asyncio.StreamWriter], Awaitable[None]],
) -> None:
    """Answer one keep-alive connection's requests in order until the client closes it."""
    try:
        while True:
            request = await read_request(reader)
            if request is None:
                return
            await answer(request, writer)
            if request[2].get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One HTTP/1.1 request: (method, path without the query, lower-case headers, body, epoch
    seconds when its head had arrived), or None when the client closed the connection or sent a
    head that is too large."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    arrived = time.time()
    request_line, _, header_block = head.partition(b"\r\n")
    method, path, _version = request_line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    length = int(headers.get("content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    return method, path.split("?", 1)[0], headers, body, arrived


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@dataclass(frozen=True)
class ReplySpec:
    """What one reply holds: its `kind` (`text`; `thinking`: a thinking block, then text;
    `tool_use`: text, then a `Bash` tool call) and its length, either `chunks` content deltas of
    about 77 characters or, with `size`, that many bytes of content in `piece`-byte deltas.

    A request picks its reply with `marker()` anywhere in its body (the benchmarks put it in the
    user's message, which every proxy forwards); without one the upstream's command line decides.
    """

    kind: str = "text"
    chunks: int = 20
    size: int = 0
    piece: int = SIZE_PIECE_BYTES

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"reply kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not 1 <= self.chunks <= MAX_CHUNKS:
            raise ValueError(f"chunks={self.chunks}: give 1 to {MAX_CHUNKS:,}")
        if not 0 <= self.size <= MAX_SIZE:
            raise ValueError(f"bytes={self.size}: give 0 to {MAX_SIZE:,}")
        if not 1 <= self.piece <= MAX_SIZE:
            raise ValueError(f"piece={self.piece}: give 1 to {MAX_SIZE:,}")

    def marker(self) -> str:
        length = f"bytes={self.size} piece={self.piece}" if self.size else f"chunks={self.chunks}"
        return f"{MARKER_START.decode()}kind={self.kind} {length}]"

    def deltas(self) -> int:
        """Content deltas in the reply (the thinking block's signature not counted)."""
        return -(-self.size // self.piece) if self.size else self.chunks


def parse_marker(body: bytes) -> ReplySpec | None:
    """The `ReplySpec` a request body names with `[bench-reply kind=... chunks=N]` or
    `[bench-reply kind=... bytes=N piece=N]`; None when it names none; ValueError when malformed."""
    start = body.find(MARKER_START)
    if start < 0:
        return None
    end = body.find(b"]", start)
    if end < 0 or end - start > 200:
        raise ValueError("a [bench-reply ...] marker without its closing ]")
    fields: dict[str, str] = {}
    for item in body[start + len(MARKER_START) : end].decode("ascii", "replace").split():
        name, _, value = item.partition("=")
        fields[name] = value
    unknown = set(fields) - {"kind", "chunks", "bytes", "piece"}
    if unknown:
        raise ValueError(f"unknown bench-reply fields: {', '.join(sorted(unknown))}")
    try:
        return ReplySpec(
            kind=fields.get("kind", "text"),
            chunks=int(fields.get("chunks", "20")),
            size=int(fields.get("bytes", "0")),
            piece=int(fields.get("piece", str(SIZE_PIECE_BYTES))),
        )
    except ValueError as error:
        raise ValueError(f"bench-reply marker {body[start : end + 1]!r}: {error}") from error


@dataclass(frozen=True)
class Block:
    """One content block of a reply: `kind` text, thinking or tool_use, and its streamed pieces
    (for tool_use, pieces of the tool input's JSON text)."""

    kind: str
    pieces: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _pieces(total: int, piece: int, filler: str) -> list[str]:
    """`total` characters of `filler` text cut into `piece`-character pieces (the last shorter),
    each starting with its number: LiteLLM's chat route ends a stream whose content deltas
    repeat (`REPEATED_STREAMING_CHUNK_LIMIT`), as a looping model's would."""
    repeated = filler * (piece // len(filler) + 2)
    lengths = [piece] * (total // piece) + ([total % piece] if total % piece else [])
    return [(f"{index} " + repeated)[:length] for index, length in enumerate(lengths or [1])]


def _split(text: str, count: int) -> list[str]:
    """`text` cut into `count` near-equal consecutive pieces (fewer when it is shorter)."""
    count = max(1, min(count, len(text)))
    bounds = [len(text) * index // count for index in range(count + 1)]
    return [text[bounds[index] : bounds[index + 1]] for index in range(count)]


def _tool_input_json(chars: int) -> str:
    """A `Bash` tool input whose JSON text is about `chars` long (never shorter than its keys)."""
    empty = json.dumps({"command": "", "description": TOOL_DESCRIPTION})
    # Nothing in the filler needs a JSON escape, so the text is as long as asked.
    filler = ("echo " + REPLY_WORDS.replace("'", "") + "; ") * (chars // len(REPLY_WORDS) + 2)
    command = filler[: max(1, chars - len(empty))]
    return json.dumps({"command": command, "description": TOOL_DESCRIPTION})


def reply_blocks(spec: ReplySpec) -> list[Block]:
    """The content blocks of `spec`'s reply. The default text reply is the one the proxy
    benchmark has always measured: `chunks` pieces of `REPLY_WORDS (n) `."""
    deltas = spec.deltas()

    def content(count: int, share: float, words: str) -> list[str]:
        if spec.size:
            return _pieces(max(1, int(spec.size * share)), spec.piece, words)
        return [f"{words} ({index}) " for index in range(count)]

    if spec.kind == "text":
        return [Block("text", tuple(content(deltas, 1.0, REPLY_WORDS)))]
    if spec.kind == "thinking":
        thinking = max(1, deltas // 2)
        return [
            Block("thinking", tuple(content(thinking, 0.5, THINKING_WORDS))),
            Block("text", tuple(content(max(1, deltas - thinking), 0.5, REPLY_WORDS))),
        ]
    text = max(1, deltas // 4)
    arguments = max(1, deltas - text)
    if spec.size:
        leading = content(text, 0.25, REPLY_WORDS)
        tool_json = _tool_input_json(max(1, spec.size - sum(len(p) for p in leading)))
        return [Block("text", tuple(leading)), Block("tool_use", tuple(_split(tool_json, arguments)))]
    tool_json = _tool_input_json(arguments * (len(REPLY_WORDS) + 6))
    return [
        Block("text", tuple(content(text, 1.0, REPLY_WORDS))),
        Block("tool_use", tuple(_split(tool_json, arguments))),
    ]


class Replies:
    """Every answer to one `ReplySpec`, built once; `@ID@` and `@MODEL@` placeholders are filled
    per request. Streams in both dialects: Anthropic's event sequence (`anthropic_frames`) and
    OpenAI's chat chunks (`stream_frames`: `reasoning_content` deltas for thinking, `tool_calls`
    argument deltas for a tool call, as DeepSeek and OpenAI send them)."""

    def __init__(self, spec: ReplySpec | int) -> None:
        self.spec = spec if isinstance(spec, ReplySpec) else ReplySpec(chunks=spec)
        self.chunks = self.spec.deltas()
        self.blocks = reply_blocks(self.spec)
        self.size = sum(len(piece.encode()) for block in self.blocks for piece in block.pieces)
        self.output_tokens = max(1, self.size // 4)
        self._chat()
        self._anthropic()

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.blocks[-1].kind == "tool_use" else "end_turn"

    def _chat(self) -> None:
        completion_tokens = self.output_tokens
        usage = {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens,
        }
        head = {"id": "@ID@", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "@MODEL@"}

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            return _frame({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        body = [chunk({"role": "assistant", "content": ""})]
        message: dict = {"role": "assistant", "content": ""}
        for block in self.blocks:
            if block.kind == "text":
                body += [chunk({"content": piece}) for piece in block.pieces]
                message["content"] += block.text
            elif block.kind == "thinking":
                body += [chunk({"reasoning_content": piece}) for piece in block.pieces]
                message["reasoning_content"] = block.text
            else:
                call = {
                    "id": TOOL_CALL_ID,
                    "type": "function",
                    "function": {"name": TOOL_NAME, "arguments": ""},
                }
                body.append(chunk({"tool_calls": [{"index": 0, **call}]}))
                body += [
                    chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                    for piece in block.pieces
                ]
                message["tool_calls"] = [{**call, "function": {"name": TOOL_NAME, "arguments": block.text}}]
        finish = "tool_calls" if self.stop_reason == "tool_use" else "stop"
        body.append(chunk({}, finish))
        self.stream_frames = body
        self.usage_frame = _frame({**head, "choices": [], "usage": usage})
        self.done_frame = b"data: [DONE]\n\n"
        self.completion = json.dumps(
            {
                "id": "@ID@",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "@MODEL@",
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": usage,
            },
            separators=(",", ":"),
        ).encode()

    def _anthropic(self) -> None:
        usage = {
            "input_tokens": PROMPT_TOKENS,
            "output_tokens": self.output_tokens,
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
        frames = [
            _event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {**message, "content": [], "usage": {**usage, "output_tokens": 1}},
                },
            )
        ]
        content: list[dict] = []
        for index, block in enumerate(self.blocks):
            opening, delta_key, delta_type, final = _anthropic_block(block)
            content.append(final)
            frames.append(
                _event(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": opening},
                )
            )
            frames += [
                _event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": delta_type, delta_key: piece},
                    },
                )
                for piece in block.pieces
            ]
            if block.kind == "thinking":
                signature = {"type": "signature_delta", "signature": THINKING_SIGNATURE}
                frames.append(
                    _event(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": signature},
                    )
                )
            frames.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        frames += [
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": self.output_tokens},
                },
            ),
            _event("message_stop", {"type": "message_stop"}),
        ]
        self.anthropic_frames = frames
        self.anthropic_message = json.dumps(
            {**message, "content": content, "stop_reason": self.stop_reason, "usage": usage},
            separators=(",", ":"),
        ).encode()


def _anthropic_block(block: Block) -> tuple[dict, str, str, dict]:
    """(content_block_start's block, the delta's key, the delta's type, the block in a JSON reply)."""
    if block.kind == "thinking":
        final = {"type": "thinking", "thinking": block.text, "signature": THINKING_SIGNATURE}
        return {"type": "thinking", "thinking": "", "signature": ""}, "thinking", "thinking_delta", final
    if block.kind == "tool_use":
        tool = {"type": "tool_use", "id": TOOL_USE_ID, "name": TOOL_NAME}
        return (
            {**tool, "input": {}},
            "partial_json",
            "input_json_delta",
            {**tool, "input": json.loads(block.text)},
        )
    return {"type": "text", "text": ""}, "text", "text_delta", {"type": "text", "text": block.text}


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
WRITE_BUFFER_LIMIT: Final = 1 << 20


def _bad_request(anthropic: bool, message: str) -> bytes:
    """A 400 in the route's protocol (Anthropic's error JSON on /v1/messages, OpenAI's otherwise)."""
    if anthropic:
        error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    else:
        error = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return _response("400 Bad Request", json.dumps(error).encode())


NOT_FOUND: Final = _response(
    "404 Not Found", b'{"error":{"message":"not found","type":"invalid_request_error","code":"unknown_url"}}'
)


class Server:
    def __init__(self, replies: Replies) -> None:
        self.replies = replies
        self.built: OrderedDict[ReplySpec, Replies] = OrderedDict({replies.spec: replies})
        self.ids = itertools.count(1)
        self.served = 0

    def replies_for(self, body: bytes) -> Replies:
        """The replies the body's `[bench-reply ...]` marker names (built on first use, a few kept),
        else the command line's. ValueError for a malformed marker."""
        spec = parse_marker(body)
        if spec is None:
            return self.replies
        found = self.built.get(spec)
        if found is None:
            found = self.built[spec] = Replies(spec)
            while len(self.built) > CACHED_REPLIES:
                self.built.popitem(last=False)
        else:
            self.built.move_to_end(spec)
        return found

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(reader, writer, self.answer)

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> None:
        method, path, _headers, body, _arrived = request
        await self.respond(method, path, body, writer)
        self.served += 1

    async def respond(self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> None:
        if method == "POST" and (path in CHAT_PATHS or path in MESSAGES_PATHS):
            try:
                replies = self.replies_for(body)
            except ValueError as error:
                writer.write(_bad_request(path in MESSAGES_PATHS, str(error)))
                return
        if method == "POST" and path in CHAT_PATHS:
            request = json.loads(body or b"{}")
            model = str(request.get("model", "instant")).encode()
            ident = b"chatcmpl-instant-%d" % next(self.ids)
            if request.get("stream"):
                frames = list(replies.stream_frames)
                if (request.get("stream_options") or {}).get("include_usage"):
                    frames.append(replies.usage_frame)
                frames.append(replies.done_frame)
                await self.stream(writer, frames, ident, model)
                return
            payload = replies.completion.replace(b"@ID@", ident, 1).replace(b"@MODEL@", model, 1)
            writer.write(_response("200 OK", payload))
            return
        if method == "POST" and path in MESSAGES_PATHS:
            request = json.loads(body or b"{}")
            model = str(request.get("model", "instant")).encode()
            ident = b"msg_instant_%d" % next(self.ids)
            if request.get("stream"):
                await self.stream(writer, replies.anthropic_frames, ident, model)
                return
            payload = replies.anthropic_message.replace(b"@ID@", ident, 1).replace(b"@MODEL@", model, 1)
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
        self, writer: asyncio.StreamWriter, frames: list[bytes], ident: bytes, model: bytes
    ) -> None:
        writer.write(STREAM_HEAD)
        for frame in frames:
            # One write per frame, as a real server flushes per token; no sleep: instant.
            writer.write(_chunked(frame.replace(b"@ID@", ident).replace(b"@MODEL@", model)))
            if writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                await writer.drain()  # a 10 MB reply is sent as it is read, not buffered whole
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def serve(port: int, spec: ReplySpec) -> None:
    server = Server(Replies(spec))
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
    parser.add_argument("--kind", choices=KINDS, default="text", help="what the reply holds (default text)")
    parser.add_argument(
        "--bytes", type=int, default=0, help="reply content size in bytes (instead of --chunks)"
    )
    parser.add_argument(
        "--piece-bytes", type=int, default=SIZE_PIECE_BYTES, help="content bytes per delta with --bytes"
    )
    args = parser.parse_args(argv)
    try:
        spec = ReplySpec(args.kind, max(1, args.chunks), max(0, args.bytes), args.piece_bytes)
    except ValueError as error:
        parser.error(str(error))
    try:
        import uvloop  # LiteLLM's own dependency; plain asyncio works too

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.port, spec))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
