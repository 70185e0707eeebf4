"""Keep an Anthropic SSE stream valid for the client whatever the upstream does (pure).

LiteLLM passes a native Anthropic stream through byte for byte: an upstream that resets the
connection after a few events, sends a frame that is not JSON, or answers a streaming request
with a plain JSON body reaches the client as a truncated or corrupt stream (the Anthropic SDK
and Claude Code then fail with a parse error, or take a cut answer for a complete one). The
monitor checks the stream frame by frame (constant memory: only an incomplete frame is held)
and, at the first broken frame or at an end without `message_stop`, sends an `event: error`
frame and ends the stream cleanly, as Anthropic's API does when it fails mid-stream.
"""

from __future__ import annotations

from typing import Any, Final

from orjson import loads as _loads  # a requirement of litellm[proxy]

from litellm_plugins.core.errors import anthropic_error_event as error_frame
from litellm_plugins.core.sse import find_frame_end

MAX_PENDING: Final = 4 * 1024 * 1024  # one frame larger than this is not a frame
# A content delta as Anthropic's API writes it (JSON without spaces) and as LiteLLM does when it
# writes the frame itself (`json.dumps` defaults, a translated stream).
DELTA_HEAD: Final = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta",',
    b'event: content_block_delta\ndata: {"type": "content_block_delta",',
)


def _split_frame(buffer: bytes) -> tuple[bytes, bytes] | None:
    found = find_frame_end(buffer)
    if found is None:
        return None
    end = found[0]
    return buffer[:end], buffer[end:]


def is_whole_delta(buffer: bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether buffer[start:end], one LF-framed frame, is a whole content delta in the layout
    Anthropic and LiteLLM write (:data:`DELTA_HEAD`, one data line, an object that ends): most of a
    stream. Only its shape is checked, not its JSON (a cut stream shows at its end)."""
    return (
        buffer.startswith(DELTA_HEAD, start)
        and buffer.endswith(b"}\n\n", start, end)
        and buffer.count(b"\n", start, end) == 3
    )


def _parse_frame(frame: bytes) -> tuple[str | None, Any, str | None]:
    """(event type, payload, problem) for one complete frame."""
    # The layout every Anthropic-style upstream and LiteLLM write, `event: X\ndata: {...}\n\n`:
    # one search and one JSON parse, without splitting lines.
    if frame.startswith(b"event:") and frame.endswith(b"\n\n") and frame.count(b"\n") == 3:
        data = frame.find(b"\ndata:")
        if data > 0 and b"\r" not in frame:
            if is_whole_delta(frame):
                return "content_block_delta", None, None
            return _payload(frame[data + 6 : -2])
    data_lines = []
    for line in frame.splitlines():
        if line.startswith(b"data:"):
            data_lines.append(line[5:].strip())
        elif line and not line.startswith((b"event:", b":", b"id:", b"retry:")):
            return None, None, "the upstream sent something that is not a server-sent event"
    if not data_lines:
        return None, None, None  # a comment or keep-alive
    return _payload(b"\n".join(data_lines))


def _payload(data: bytes) -> tuple[str | None, Any, str | None]:
    try:
        payload = _loads(data)
    except ValueError:
        return None, None, "the upstream sent an event that is not valid JSON"
    kind = payload.get("type") if isinstance(payload, dict) else None
    if not isinstance(kind, str):
        return None, None, "the upstream sent an event without a type"
    return kind, payload, None


class AnthropicStreamMonitor:
    """Feed upstream chunks, forward what it returns; call `finish()` when the upstream ends."""

    def __init__(self) -> None:
        self._pending = b""
        self.ended = False  # message_stop or error seen, or the stream was cut by us
        self._content = 0  # content deltas seen
        self._held = b""  # message_delta, held until message_stop shows the answer is not empty
        self._output_tokens: int | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self.ended:
            return b""
        buffer = self._pending + chunk
        out: list[bytes] = []
        while not self.ended:
            split = _split_frame(buffer)
            if split is None:
                break
            frame, buffer = split
            out.extend(self.on_frame(frame))
        if self.ended:
            self._pending = b""
            return b"".join(out)
        if len(buffer) > MAX_PENDING:
            return self._cut(out, "Upstream stream broken: an event larger than the limit.")
        self._pending = buffer
        return b"".join(out)

    def on_frame(self, frame: bytes) -> list[bytes]:
        """The frames to send now for one complete frame (the frame itself, held frames before
        it, nothing while a `message_delta` is held, or an error frame that ends the stream)."""
        if self.ended:
            return []
        kind, payload, problem = _parse_frame(frame)
        if problem is not None:
            return [self._end_with(f"Upstream stream broken: {problem}.")]
        if kind == "content_block_delta":
            self._content += 1
        elif kind == "message_delta":
            usage = payload.get("usage")
            tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
            self._output_tokens = tokens if isinstance(tokens, int) else self._output_tokens
            self._held += frame
            return []
        elif kind == "message_stop" and self._content == 0 and not self._output_tokens:
            # A model always produces something: an empty "complete" answer is what a
            # translated stream looks like when the upstream sent no usable events.
            return [self._end_with("Upstream stream broken: it ended without any content.")]
        if kind in ("message_stop", "error"):
            self.ended = True
        if self._held:
            held, self._held = self._held, b""
            return [held, frame]
        return [frame]

    @property
    def holding(self) -> bool:
        """A `message_delta` is held: the next frame must go through :meth:`on_frame`."""
        return bool(self._held)

    def count_deltas(self, count: int) -> None:
        """`count` whole content deltas went past, checked by the caller for their shape only (a
        stream layer that cuts frames itself): counted as :meth:`on_frame` would count them."""
        self._content += count

    def _end_with(self, message: str) -> bytes:
        self.ended = True
        self._held = b""
        return error_frame(message)

    def _cut(self, out: list[bytes], message: str) -> bytes:
        self.ended = True
        self._pending = b""
        self._held = b""
        out.append(error_frame(message))
        return b"".join(out)

    def finish(self) -> bytes:
        """What to send after the upstream ended: nothing, or an error frame for a cut stream."""
        if self.ended:
            return b""
        tail = b""
        if self._pending.strip():
            tail = self.feed(b"\n\n")  # a last frame that lacks its blank line
            if self.ended:
                return tail
        self.ended = True
        self._pending = b""
        return tail + error_frame("Upstream stream ended before message_stop.")
