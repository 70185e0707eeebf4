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
from litellm_plugins.guards.stream_integrity import MAX_PENDING, AnthropicStreamMonitor, is_whole_delta
from litellm_plugins.thinking.stream import AnthropicStreamRewriter

TOO_LARGE: Final = "Upstream stream broken: an event larger than the limit."
SIGNATURE_DELTA: Final = b'"signature_delta"'


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
        """Every frame `chunk` completed, checked and rewritten; the rest waits for the next chunk.

        A run of frames nothing changes is passed on as one slice (the chunk itself when all of
        it is complete and unchanged), so a reply costs a search per frame, not a copy."""
        monitor = self.monitor
        if monitor.ended:
            return b""
        if not self._pending and is_whole_delta(chunk) and b"\r" not in chunk:
            # One whole content delta per chunk (how LiteLLM hands over a translated stream).
            fast = self._delta_mode()
            if fast or (fast is None and SIGNATURE_DELTA not in chunk):
                monitor.count_deltas(1)
                return chunk
        buffer = self._pending + chunk if self._pending else chunk
        plain = b"\r" not in buffer
        out: list[bytes] = []
        start = kept_from = deltas = 0
        fast = self._delta_mode()
        while not monitor.ended:
            if plain:
                end = buffer.find(b"\n\n", start) + 2
                if end < 2:
                    break
            else:
                found = find_frame_end(buffer, start, False)
                if found is None:
                    break
                end = found[0]
            if (
                fast is not False
                and plain
                and is_whole_delta(buffer, start, end)
                and (fast or buffer.find(SIGNATURE_DELTA, start, end) < 0)
            ):
                deltas += 1  # a whole content delta as Anthropic and LiteLLM write it: unchanged
                start = end
                continue
            monitor.count_deltas(deltas)
            deltas = 0
            frame = buffer[start:end]
            replacement = self._frame(frame)
            if replacement is not frame:
                out.append(buffer[kept_from:start])
                out.append(replacement)
                kept_from = end
            start = end
            fast = self._delta_mode()
        monitor.count_deltas(deltas)
        if monitor.ended:
            rest = b""
        else:
            rest = buffer[start:]
            if len(rest) > MAX_PENDING:
                out.append(buffer[kept_from:start])
                out.append(self._too_large())
                kept_from = start
                rest = b""
        self._pending = rest
        if not out and kept_from == 0 and start == len(buffer):
            return buffer  # all of it complete and unchanged: the same bytes object
        out.append(buffer[kept_from:start])
        return b"".join(out)

    def _delta_mode(self) -> bool | None:
        """True: a whole content delta passes as it is; None: unless it carries a signature to
        mark; False: every frame goes through the monitor and the rewriter."""
        if self.monitor.holding:
            return False
        rewriter = self.rewriter
        if rewriter is None:
            return True
        if rewriter.renumbering:
            return False
        return None if rewriter.mark_signatures else True

    def _frame(self, frame: bytes) -> bytes:
        """One complete frame, checked then rewritten: the same object when nothing changed."""
        sent = self.monitor.on_frame(frame)
        if self.rewriter is not None:
            sent = [self.rewriter.rewrite_frame(item) for item in sent]
        return sent[0] if len(sent) == 1 else b"".join(sent)

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
