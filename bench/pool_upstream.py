"""An instant Anthropic Messages upstream that checks a pool of OAuth bearers and can rate-limit one.

`bench/replicas.py` runs it as its own process (no GIL shared with a proxy):

    BENCH_POOL_TOKENS=sk-ant-oat01-...,sk-ant-oat01-... python bench/pool_upstream.py --port 0

It prints `READY <port>` once it listens on 127.0.0.1. Routes:

- `POST /v1/messages`: `bench/instant_upstream.py`'s reply (JSON, or the SSE event sequence),
  only for `Authorization: Bearer <a pool token>` with `oauth-2025-04-20` in `anthropic-beta`
  (or `x-api-key: <a pool token>`); anything else gets Anthropic's 401
  (`authentication_error`). Every answer carries the unified rate-limit headers a
  subscription's token gets (`anthropic-ratelimit-unified-*`, status `allowed`). A token told to
  rest answers Anthropic's 429 (`rate_limit_error`, `retry-after`, the unified headers with
  status `rejected` and the `five_hour` claim) until its window ends;
- `POST /bench/rate-limit` `{"fingerprint": "fp:...", "seconds": 8}`: that token answers 429
  from now for `seconds`; the answer is `{"start": epoch, "end": epoch}`;
- `GET /bench/record`: every `/v1/messages` request so far, as
  `[[arrival epoch, bearer fingerprint or null, status, marker or null], ...]`; the marker is
  the `bench-req-<id>` text the load generator writes into each request (`bench/load.py`'s
  `mark`), so a request can be matched with the moment the client sent it.

Fingerprints are `litellm_plugins.core.redaction.fingerprint` (what the rotator logs); no
token is ever printed or recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.instant_upstream import (
    HEADER_LIMIT,
    NOT_FOUND,
    Replies,
    Request,
    _chunked,
    _response,
    serve_connection,
)
from litellm_plugins.core.redaction import fingerprint

TOKENS_VARIABLE: Final = "BENCH_POOL_TOKENS"
OAUTH_BETA: Final = "oauth-2025-04-20"
MARKER: Final = re.compile(rb"bench-req-([A-Za-z0-9-]{1,40})")
RATE_LIMIT_MESSAGE: Final = "This request would exceed your account's rate limit. Please try again later."


def error_response(status: str, kind: str, message: str, headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps(
        {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": f"req_bench_{time.monotonic_ns()}",
        }
    ).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items()).encode()
    return (
        b"HTTP/1.1 "
        + status.encode()
        + b"\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def unified_headers(now: float, rejected_until: float | None = None) -> dict[str, str]:
    """The subscription headers Anthropic sends on every answer to an OAuth token."""
    five_hour_reset = int(now) + 5 * 3600
    seven_day_reset = int(now) + 7 * 86400
    five_hour_status, utilization = ("rejected", "1.00") if rejected_until else ("allowed", "0.10")
    headers = {
        "anthropic-ratelimit-unified-status": five_hour_status,
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-status": five_hour_status,
        "anthropic-ratelimit-unified-5h-utilization": utilization,
        "anthropic-ratelimit-unified-7d-status": "allowed",
        "anthropic-ratelimit-unified-7d-utilization": "0.05",
        "anthropic-ratelimit-unified-7d-reset": str(seven_day_reset),
        "anthropic-ratelimit-unified-fallback-percentage": "0.5",
        "anthropic-ratelimit-unified-overage-status": "rejected",
        "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
    }
    reset = math.ceil(rejected_until) if rejected_until else five_hour_reset
    headers["anthropic-ratelimit-unified-reset"] = str(reset)
    headers["anthropic-ratelimit-unified-5h-reset"] = str(reset)
    if rejected_until:
        headers["retry-after"] = str(max(1, math.ceil(rejected_until - now)))
    return headers


class PoolServer:
    def __init__(self, replies: Replies, tokens: tuple[str, ...]) -> None:
        self.replies = replies
        self.pool = {token: fingerprint(token) for token in tokens}
        self.resting: dict[str, tuple[float, float]] = {}  # fingerprint -> (start, end)
        self.record: list[tuple[float, str | None, int, str | None]] = []
        self.ids = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(reader, writer, self.answer)

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> None:
        method, path, headers, body, arrived = request
        await self.respond(method, path, headers, body, arrived, writer)

    def credential(self, headers: dict[str, str]) -> tuple[str | None, str | None]:
        """(the pool token's fingerprint, None) or (None, the 401 message Anthropic gives)."""
        api_key = headers.get("x-api-key", "")
        if api_key:
            return (self.pool[api_key], None) if api_key in self.pool else (None, "invalid x-api-key")
        authorization = headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        if token not in self.pool:
            return None, "invalid x-api-key"
        betas = {beta.strip() for beta in headers.get("anthropic-beta", "").split(",")}
        if OAUTH_BETA not in betas:
            return None, "OAuth authentication is currently not supported."
        return self.pool[token], None

    async def respond(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        arrived: float,
        writer: asyncio.StreamWriter,
    ) -> None:
        if method == "POST" and path == "/v1/messages":
            await self.messages(headers, body, arrived, writer)
            return
        if method == "POST" and path == "/bench/rate-limit":
            order = json.loads(body or b"{}")
            start = time.time()
            self.resting[str(order["fingerprint"])] = (start, start + float(order["seconds"]))
            writer.write(
                _response(
                    "200 OK", json.dumps({"start": start, "end": start + float(order["seconds"])}).encode()
                )
            )
            return
        if method == "GET" and path == "/bench/record":
            writer.write(_response("200 OK", json.dumps(self.record).encode()))
            return
        writer.write(NOT_FOUND)

    async def messages(
        self, headers: dict[str, str], body: bytes, arrived: float, writer: asyncio.StreamWriter
    ) -> None:
        found = MARKER.search(body)
        marker = found.group(1).decode() if found else None
        fp, refusal = self.credential(headers)
        if fp is None:
            self.record.append((arrived, None, 401, marker))
            writer.write(error_response("401 Unauthorized", "authentication_error", refusal or ""))
            return
        window = self.resting.get(fp)
        if window is not None and window[0] <= arrived < window[1]:
            self.record.append((arrived, fp, 429, marker))
            limited = {**unified_headers(arrived, window[1]), "request-id": f"req_bench_{self.ids}"}
            writer.write(
                error_response("429 Too Many Requests", "rate_limit_error", RATE_LIMIT_MESSAGE, limited)
            )
            return
        self.record.append((arrived, fp, 200, marker))
        request = json.loads(body or b"{}")
        model = str(request.get("model", "instant")).encode()
        self.ids += 1
        ident = b"msg_pool_%d" % self.ids
        extra = "".join(f"{name}: {value}\r\n" for name, value in unified_headers(arrived).items()).encode()
        if request.get("stream"):
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                + extra
                + b"transfer-encoding: chunked\r\n\r\n"
            )
            for frame in self.replies.anthropic_frames:
                writer.write(_chunked(frame.replace(b"@ID@", ident).replace(b"@MODEL@", model)))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return
        payload = self.replies.anthropic_message.replace(b"@ID@", ident, 1).replace(b"@MODEL@", model, 1)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + extra
            + b"content-length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
            + payload
        )


async def serve(port: int, chunks: int, tokens: tuple[str, ...]) -> None:
    server = PoolServer(Replies(chunks), tokens)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port, limit=HEADER_LIMIT, backlog=1024)
    print(f"READY {listener.sockets[0].getsockname()[1]}", flush=True)
    async with listener:
        await listener.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as READY <port>)")
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed reply")
    args = parser.parse_args(argv)
    tokens = tuple(token for token in os.environ.get(TOKENS_VARIABLE, "").split(",") if token)
    if not tokens:
        parser.error(f"set {TOKENS_VARIABLE} to the pool's tokens, comma-separated")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.port, max(1, args.chunks), tokens))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
