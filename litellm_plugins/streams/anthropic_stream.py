"""One pass over an Anthropic Messages SSE stream for both stream plugins (pure).

The upstream guard's monitor (:class:`~litellm_plugins.guards.stream_integrity.AnthropicStreamMonitor`:
the stream stays valid, a cut one ends with an `event: error`) and the thinking stripper's
rewriter (:class:`~litellm_plugins.thinking.stream.AnthropicStreamRewriter`: thinking removed or
signatures marked) see the same frames, cut once here: the monitor first (it judges what the
upstream sent), then the rewriter on what the monitor lets through. A frame neither changes
leaves as the same bytes object it came in; a chunk that is exactly one frame (how LiteLLM hands
the stream over) is not searched at all beyond its end. Memory: one incomplete frame.
"""

from __future__ import annotations

from typing import Final

from litellm_plugins.core.errors import anthropic_error_event
from litellm_plugins.core.sse import find_frame_end
from litellm_plugins.guards.stream_integrity import DELTA_EVENT, MAX_PENDING, AnthropicStreamMonitor
from litellm_plugins.thinking.stream import AnthropicStreamRewriter

TOO_LARGE: Final = "Upstream stream broken: an event larger than the limit."
# A content delta as Anthropic's API and LiteLLM write it (JSON without spaces after separators).
DELTA_HEAD: Final = b'event: content_block_delta\ndata: {"type":"content_block_delta",'


class AnthropicStream:
    """Feed the reply's body chunks in order, send what each returns, then send :meth:`finish`."""

    def __init__(self, rewriter: AnthropicStreamRewriter | None = None) -> None:
        self.monitor = AnthropicStreamMonitor()
        self.rewriter = rewriter
        self._pending = b""

    @property
    def ended(self) -> bool:
        return self.monitor.ended

    def feed(self, chunk: bytes) -> bytes:
        if self.monitor.ended:
            return b""
        if (
            chunk.startswith(DELTA_HEAD)
            and chunk.endswith(b"}\n\n")
            and not self._pending
            and chunk.count(b"\n") == 3
            and b"\r" not in chunk
            and self.monitor.counts_delta()
        ):
            # Most of a stream: one whole content delta per chunk, as LiteLLM hands it over.
            rewriter = self.rewriter
            if rewriter is None or rewriter.passes_delta(chunk):
                return chunk
            return rewriter.rewrite_frame(chunk)
        if (
            not self._pending
            and chunk.endswith(b"\n\n")
            and chunk.find(b"\n\n") == len(chunk) - 2
            and b"\r" not in chunk
        ):
            return self._frame(chunk)
        buffer = self._pending + chunk
        out: list[bytes] = []
        start = 0
        plain = b"\r" not in buffer
        while not self.monitor.ended:
            found = find_frame_end(buffer, start, plain)
            if found is None:
                break
            out.append(self._frame(buffer[start : found[0]]))
            start = found[0]
        rest = b"" if self.monitor.ended else buffer[start:]
        if len(rest) > MAX_PENDING:
            out.append(self._too_large())
            rest = b""
        self._pending = rest
        return b"".join(out)

    def _frame(self, frame: bytes) -> bytes:
        sent = self.monitor.on_frame(frame)
        rewriter = self.rewriter
        if rewriter is None:
            return sent[0] if len(sent) == 1 else b"".join(sent)
        return (
            b"".join(self._rewritten(rewriter, item) for item in sent)
            if len(sent) != 1
            else (self._rewritten(rewriter, sent[0]))
        )

    @staticmethod
    def _rewritten(rewriter: AnthropicStreamRewriter, frame: bytes) -> bytes:
        if (
            not rewriter.strip_thinking
            and frame.startswith(DELTA_EVENT)
            and b'"signature_delta"' not in frame
        ):
            return frame  # marking only: a delta without a signature (no index changes either)
        return rewriter.rewrite_frame(frame)

    def _too_large(self) -> bytes:
        self.monitor.ended = True
        return anthropic_error_event(TOO_LARGE)

    def finish(self) -> bytes:
        """What to send after the upstream ended: a last frame without its blank line, and an
        error frame when the stream did not end with `message_stop` (or an error)."""
        out = b""
        if self._pending.strip() and not self.monitor.ended:
            out = self.feed(b"\n\n")
        self._pending = b""
        return out + self.monitor.finish()
