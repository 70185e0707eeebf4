"""Where one server-sent event ends, for every stream module (pure).

An event ends at a blank line, in any of SSE's line-ending styles (LF, CRLF, CR, and the mixes
a proxy can produce). Both the thinking stripper's rewriter and the upstream guard's monitor cut
frames here, so they always agree on what a frame is.
"""

from __future__ import annotations

import re
from typing import Final

FRAME_END: Final = re.compile(rb"\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n")
LF_FRAME_END: Final = b"\n\n"


def find_frame_end(
    buffer: bytes | bytearray, start: int = 0, plain: bool | None = None
) -> tuple[int, bytes] | None:
    """(the index just past the first frame end at or after `start`, the terminator), or None.

    `plain`: the caller knows `buffer` has no CR (most streams end lines with LF only), so a plain
    find, several times cheaper than the regex, is enough. None: look.
    """
    if plain is None:
        plain = b"\r" not in buffer
    if plain:
        found = buffer.find(LF_FRAME_END, start)
        return None if found < 0 else (found + 2, LF_FRAME_END)
    match = FRAME_END.search(buffer, start)
    return None if match is None else (match.end(), match.group())
