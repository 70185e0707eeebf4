"""One log record is one line, of bounded length, whatever a client sent (pure + a logging.Filter).

Model ids, header values and error texts that a client controls end up in log messages (the
transformer logs the concrete model id it serves). A model id with CR/LF wrote lines that
looked like the proxy's own, NUL bytes reached the log file, and a 100 KB id made a 100 KB
line. :class:`SafeLogFilter` rewrites each record: string arguments get their control
characters escaped (`\\n`, `\\r`, `\\x00`, ...); a message that still has line breaks (a
traceback logged as text) and an exception's traceback keep them, but every line after the
first is indented with `    | `, so nothing in a record can start a line of its own; a message
longer than :data:`MAX_MESSAGE_CHARS` loses its middle (its start and its end, where the error
usually is, stay). It is installed next to the redacting filter on the bundle's handler,
the root logger's handlers and LiteLLM's own (`litellm_plugins.logging_setup`).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Final

MAX_MESSAGE_CHARS: Final = 16384
CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u0085\u2028\u2029]")
CONTINUATION: Final = "\n    | "
ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in ESCAPES:
        return ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _shortened(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} ... [{len(text) - 2 * half} characters cut] ... {text[-half:]}"


def single_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` with every control character escaped, line breaks included, at most ~`limit` long."""
    return CONTROL.sub(_escape, _shortened(text, limit))


def indented_block(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` with its line breaks kept but every line after the first indented (pure)."""
    lines = re.split(r"\r\n|\n", _shortened(text, limit))
    return CONTINUATION.join(CONTROL.sub(_escape, line) for line in lines)


class SafeLogFilter(logging.Filter):
    """Rewrites a record so it renders as one bounded line (plus an indented traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_litellm_plugins_safe", False):
            return True
        # Arguments one by one first: formatters that read `record.args` (uvicorn's access log)
        # keep working; a message still unsafe after that is flattened.
        if isinstance(record.args, tuple):
            record.args = tuple(single_line(arg) if isinstance(arg, str) else arg for arg in record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        safe = indented_block(message)
        if safe != message:
            record.msg = safe
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = indented_block(record.exc_text)
        if record.stack_info:
            record.stack_info = indented_block(record.stack_info)
        record._litellm_plugins_safe = True  # type: ignore[attr-defined]
        return True
