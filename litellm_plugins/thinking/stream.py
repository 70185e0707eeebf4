"""Rewrite an Anthropic Messages SSE stream frame by frame: strip thinking, mark foreign signatures.

`/v1/messages` streams reach a proxy hook as raw bytes cut anywhere (one frame per chunk, several
per chunk, or a frame split across chunks). :class:`AnthropicStreamRewriter` is fed those chunks
and returns, for each, every frame that became complete, rewritten:

- with `strip_thinking`, `thinking` and `redacted_thinking` blocks are removed (their
  `content_block_start`, deltas and `content_block_stop`) and the remaining blocks are renumbered
  from 0, so the stream stays what the Anthropic SDK and Claude Code expect;
- with `mark_signatures`, every non-empty `signature` (and redacted `data`) gets
  :data:`~litellm_plugins.thinking.rules.FOREIGN_PREFIX`, so the block is recognised as foreign
  when the conversation later goes to Anthropic.

Memory holds one incomplete frame and the open blocks' index map, whatever the response length.
A complete frame is returned from the same `feed` call that completed it, so the first text byte
is never held back. Frames that need no change are returned byte for byte; a text delta only has
its index digits replaced. Frames end at a blank line in any of SSE's line-ending styles.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from litellm_plugins.core.reasoning import THINKING_BLOCK_TYPES
from litellm_plugins.core.sse import find_frame_end
from litellm_plugins.thinking.rules import mark_foreign

BLOCK_EVENTS: Final = frozenset({b"content_block_start", b"content_block_delta", b"content_block_stop"})
DELTA_EVENTS: Final = frozenset({b"content_block_delta", b"content_block_stop"})
# Anthropic and LiteLLM both write `data: {"type": "content_block_delta", "index": N, ...}`: when
# the data starts like this, N is the top-level index and only its digits need replacing. Any
# other layout is parsed as JSON.
LEADING_INDEX: Final = re.compile(
    rb'data: ?\{\s*"type"\s*:\s*"content_block_(delta|stop)"\s*,\s*"index"\s*:\s*(\d+)'
)


def _field(line: bytes, name: bytes) -> bytes | None:
    if not line.startswith(name):
        return None
    value = line[len(name) :]
    if value.startswith(b":"):
        value = value[1:]
        return value[1:] if value.startswith(b" ") else value
    return None


class AnthropicStreamRewriter:
    """One stream's rewriting state. Feed it chunks in order, then call :meth:`finish`."""

    def __init__(self, *, strip_thinking: bool, mark_signatures: bool) -> None:
        self.strip_thinking = strip_thinking
        self.mark_signatures = mark_signatures
        self.blocks_dropped = 0
        self.signatures_marked = 0
        self._pending = bytearray()
        self._scan_from = 0
        # Open blocks: index upstream -> index sent (None: dropped). Only blocks between their
        # start and stop are here, so its size is the number of blocks open at once.
        self._open: dict[int, int | None] = {}
        self._renumbered = 0  # open blocks whose index changes (or that are dropped)
        self._next_index = 0

    @property
    def buffered(self) -> int:
        """Bytes held back: the incomplete frame at the end of what was fed so far."""
        return len(self._pending)

    # -- the byte stream -------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> bytes:
        """Every frame `chunk` completed, rewritten; the rest waits for the next chunk."""
        pending = self._pending
        pending += chunk
        out: list[bytes] = []
        start = 0
        unchanged_from = 0  # consecutive unchanged frames leave in one slice
        # Most streams end lines with LF only: a plain find is several times cheaper than the
        # regex that also knows CRLF and CR.
        plain = b"\r" not in pending
        while True:
            found = find_frame_end(pending, max(start, self._scan_from), plain)
            if found is None:
                break
            end, terminator = found
            replacement = self._frame(pending, start, end, terminator)
            if replacement is not None:
                if unchanged_from < start:
                    out.append(bytes(pending[unchanged_from:start]))
                if replacement:
                    out.append(replacement)
                unchanged_from = end
            start = end
        if unchanged_from < start:
            out.append(bytes(pending[unchanged_from:start]))
        if start:
            del pending[:start]
        # A terminator may straddle chunks: re-scan the last 3 bytes next time.
        self._scan_from = max(0, len(pending) - 3)
        return out[0] if len(out) == 1 else b"".join(out)

    def finish(self) -> bytes:
        """What is left when the upstream stream ends (a last frame without its blank line)."""
        rest = bytes(self._pending)
        self._pending.clear()
        self._scan_from = 0
        if not rest.strip():
            return rest
        replacement = self._frame(rest, 0, len(rest), b"")
        return rest if replacement is None else replacement

    # -- one frame -------------------------------------------------------------------------------
    @property
    def renumbering(self) -> bool:
        """An open block is dropped or renumbered: its deltas need :meth:`rewrite_frame`. When not,
        a delta changes only by a `signature_delta` to mark."""
        return bool(self._renumbered)

    def rewrite_frame(self, frame: bytes) -> bytes:
        """One complete frame (ending with its blank line), rewritten; b"" when it is dropped.

        For a caller that already cut the stream into frames (the stream layer), so the bytes are
        searched for frame ends once."""
        if frame.endswith(b"\n\n") and b"\r" not in frame:
            terminator = b"\n\n"
        else:
            found = find_frame_end(frame)
            terminator = found[1] if found is not None and found[0] == len(frame) else b""
        replacement = self._frame(frame, 0, len(frame), terminator)
        return frame if replacement is None else replacement

    def _frame(self, buffer: bytes | bytearray, start: int, end: int, terminator: bytes) -> bytes | None:
        """The frame at buffer[start:end] rewritten, b"" to drop it, or None to keep it as it is."""
        event = None
        if buffer.startswith(b"event:", start, end):
            line_end = buffer.find(b"\n", start, end)
            if line_end < 0:
                line_end = buffer.find(b"\r", start, end)
            event = bytes(buffer[start + 6 : line_end if line_end >= 0 else end]).strip()
            if event not in BLOCK_EVENTS and event != b"message_start":
                return None  # ping, message_delta, message_stop, error, ...
        if event in DELTA_EVENTS:
            marking = self.mark_signatures and buffer.find(b'"signature_delta"', start, end) >= 0
            if not self._renumbered and not marking:
                return None  # the common case: a delta of a block that keeps its index
            if not marking:
                fast = self._renumber_in_place(buffer, start, end)
                if fast is not False:
                    return fast
        elif event == b"message_start":
            if buffer.find(b"thinking", start, end) < 0 and not (
                self.mark_signatures and buffer.find(b"signature", start, end) >= 0
            ):
                return None
        elif (
            event is None
            and buffer.find(b'"content_block_', start, end) < 0
            and buffer.find(b'"message_start"', start, end) < 0
        ):
            return None
        return self._rewrite(bytes(buffer[start:end]), terminator)

    def _renumber_in_place(self, buffer: bytes | bytearray, start: int, end: int) -> bytes | None | bool:
        """A delta or stop in the canonical layout: drop it or replace its index digits.

        Returns False when the layout is not the canonical one (the caller parses the JSON).
        """
        data = buffer.find(b"\ndata:", start, end)
        match = LEADING_INDEX.match(buffer, data + 1, end) if data >= 0 else None
        if match is None:
            return False
        upstream = int(match.group(2))
        sent = self._open.get(upstream, upstream)
        if match.group(1) == b"stop":
            self._close(upstream)
        if sent is None:
            return b""
        if sent == upstream:
            return None
        return bytes(buffer[start : match.start(2)]) + str(sent).encode() + bytes(buffer[match.end(2) : end])

    def _rewrite(self, frame: bytes, terminator: bytes) -> bytes | None:
        lines = frame.splitlines()
        data_lines = [value for line in lines if (value := _field(line, b"data")) is not None]
        if not data_lines:
            return None
        try:
            document = json.loads(b"\n".join(data_lines))
        except ValueError:
            return None  # not ours to judge: the client sees what the provider sent
        if not isinstance(document, dict):
            return None
        kind = document.get("type")
        if kind == "message_start":
            changed = self._message_start(document)
        elif kind == "content_block_start":
            changed = self._block_start(document)
        elif kind in ("content_block_delta", "content_block_stop"):
            changed = self._block_delta(document, kind == "content_block_stop")
        else:
            return None
        if changed is None:
            return b""
        if not changed:
            return None
        return _build(lines, json.dumps(document, separators=(",", ":")).encode(), terminator)

    # -- events ---------------------------------------------------------------------------------
    def _message_start(self, document: dict[str, Any]) -> bool:
        message = document.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list) or not content:
            return False
        changed = False
        kept = []
        for block in content:
            if isinstance(block, dict) and block.get("type") in THINKING_BLOCK_TYPES:
                if self.strip_thinking:
                    self.blocks_dropped += 1
                    changed = True
                    continue
                if self.mark_signatures:
                    changed = self._mark(block) or changed
            kept.append(block)
        message["content"] = kept
        self._next_index = len(kept)
        return changed

    def _block_start(self, document: dict[str, Any]) -> bool | None:
        upstream = document.get("index")
        block = document.get("content_block")
        if not isinstance(upstream, int) or not isinstance(block, dict):
            return False
        if block.get("type") in THINKING_BLOCK_TYPES:
            if self.strip_thinking:
                self._open[upstream] = None
                self._renumbered += 1
                self.blocks_dropped += 1
                return None
            changed = self._mark(block) if self.mark_signatures else False
        else:
            changed = False
        sent = self._next_index
        self._next_index += 1
        self._open[upstream] = sent
        if sent != upstream:
            self._renumbered += 1
            document["index"] = sent
            changed = True
        return changed

    def _block_delta(self, document: dict[str, Any], stop: bool) -> bool | None:
        upstream = document.get("index")
        if not isinstance(upstream, int):
            return False
        dropped = upstream in self._open and self._open[upstream] is None
        sent = self._open.get(upstream, upstream)
        if stop:
            self._close(upstream)
        if dropped or sent is None:
            return None
        changed = False
        delta = document.get("delta")
        if self.mark_signatures and isinstance(delta, dict) and delta.get("type") == "signature_delta":
            marked = mark_foreign(delta.get("signature"))
            if marked != delta.get("signature"):
                delta["signature"] = marked
                self.signatures_marked += 1
                changed = True
        if sent != upstream:
            document["index"] = sent
            changed = True
        return changed

    def _close(self, upstream: int) -> None:
        if upstream in self._open:
            sent = self._open.pop(upstream)
            if sent != upstream:
                self._renumbered -= 1

    def _mark(self, block: dict[str, Any]) -> bool:
        key = "data" if block.get("type") == "redacted_thinking" else "signature"
        marked = mark_foreign(block.get(key))
        if marked == block.get(key):
            return False
        block[key] = marked
        self.signatures_marked += 1
        return True


def _build(lines: list[bytes], payload: bytes, terminator: bytes) -> bytes:
    """The frame with its data replaced, in the line-ending style it came in."""
    newline = (
        b"\r\n" if terminator.startswith(b"\r\n") else (b"\r" if terminator.startswith(b"\r") else b"\n")
    )
    event_lines = [line for line in lines if line and _field(line, b"data") is None]
    return newline.join([*event_lines, b"data: " + payload]) + newline + newline
