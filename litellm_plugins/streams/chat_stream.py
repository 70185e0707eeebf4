"""The upstream guard's and the thinking stripper's work on a chat-completions SSE stream (pure).

LiteLLM writes each chunk as `data: {json}` and ends with `data: [DONE]`. Here:

- the thinking stripper: with `strip`, `reasoning_content` / `thinking_blocks` / `reasoning` /
  `reasoning_details` leave every delta (a chunk left empty is dropped); with `mark`, signed
  `thinking_blocks` are marked foreign. Only a frame whose bytes name one of those fields is
  parsed; every other frame leaves as the same bytes object it came in;
- the upstream guard: at the first chunk with a finish_reason, `is_cut()` asks LiteLLM's own
  stream object whether the upstream sent it. When LiteLLM made that `"stop"` up for a stream
  the upstream cut, that chunk and everything after it become one error chunk, with no
  `[DONE]`, so the client does not take a cut answer for a complete one. Only that one frame is
  parsed for it.

Memory: one incomplete frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from orjson import dumps as _dumps  # a requirement of litellm[proxy]
from orjson import loads as _loads

from litellm_plugins.core.errors import openai_error_body
from litellm_plugins.core.sse import find_frame_end
from litellm_plugins.thinking.response import is_empty_chunk, mark_openai_response, strip_openai_response

CUT_CHAT_STREAM: Final = "Upstream stream ended before a finish_reason: the answer is incomplete."
REASONING_NAMES: Final = (b'"reasoning', b'"thinking_blocks"')
FINISH_NAMES: Final = (b'"finish_reason":"', b'"finish_reason": "')
DONE: Final = b"data: [DONE]"


def _data(frame: bytes) -> Any:
    start = frame.find(b"data:")
    if start < 0 or frame.startswith(DONE, start):
        return None
    try:
        return _loads(frame[start + 5 :].strip())
    except ValueError:
        return None


def _finishes(document: Any) -> bool:
    choices = document.get("choices") if isinstance(document, dict) else None
    return any(isinstance(c, dict) and c.get("finish_reason") for c in choices or ())


def error_chunk(message: str) -> bytes:
    return b"data: " + _dumps(openai_error_body(502, message)) + b"\n\n"


class ChatStream:
    """Feed the reply's body chunks in order, send what each returns, then send :meth:`finish`."""

    def __init__(
        self, *, strip: bool = False, mark: bool = False, is_cut: Callable[[], bool] | None = None
    ) -> None:
        self.strip = strip
        self.mark = mark
        self.is_cut = is_cut
        self.chunks_changed = 0
        self.ended = False  # the stream was cut: nothing more is sent
        self.cut = False
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        if self.ended:
            return b""
        if not self._pending and chunk.endswith(b"\n\n") and chunk.find(b"\n\n") == len(chunk) - 2:
            return self._frame(chunk)
        buffer = self._pending + chunk
        out: list[bytes] = []
        start = 0
        while not self.ended:
            found = find_frame_end(buffer, start)
            if found is None:
                break
            out.append(self._frame(buffer[start : found[0]]))
            start = found[0]
        self._pending = b"" if self.ended else buffer[start:]
        return b"".join(out)

    def finish(self) -> bytes:
        rest, self._pending = self._pending, b""
        return b"" if self.ended else rest

    def _frame(self, frame: bytes) -> bytes:
        is_cut = self.is_cut
        if is_cut is not None and any(name in frame for name in FINISH_NAMES) and _finishes(_data(frame)):
            self.is_cut = None  # asked once, at the finish chunk
            if is_cut():
                self.ended = self.cut = True
                return error_chunk(CUT_CHAT_STREAM)
        if not (self.strip or self.mark) or not any(name in frame for name in REASONING_NAMES):
            return frame
        document = _data(frame)
        if not isinstance(document, dict):
            return frame
        if self.strip:
            new, count = strip_openai_response(document, "delta")
            if count and is_empty_chunk(new):
                self.chunks_changed += 1
                return b""
        else:
            new, count = mark_openai_response(document, "delta")
        if not count:
            return frame
        self.chunks_changed += 1
        return b"data: " + _dumps(new) + b"\n\n"
