"""What an upstream failure should look like to the client (pure).

LiteLLM 1.106 reports most upstream failures as a 500: a refused or reset connection, an
upstream that answered with broken JSON or an empty body, and even Anthropic's own 529
"overloaded". A 500 says "the proxy is broken" and hides the cause; clients (the Anthropic SDK,
Claude Code) retry 529 and 502 with back-off as the transient conditions they are. This maps:

- the upstream could not be reached or cut the connection       -> 502 (api_error)
- the upstream answered with something that is not a response   -> 502 (api_error)
- the upstream said it is overloaded (529 / overloaded_error)   -> 529 (overloaded_error)

Everything else keeps LiteLLM's status.
"""

from __future__ import annotations

import re
from typing import Final

BAD_GATEWAY: Final = 502
OVERLOADED: Final = 529

CONNECTION_CAUSES: Final = (
    "ConnectError",
    "ConnectTimeout",
    "ReadError",
    "RemoteProtocolError",
    "ConnectionResetError",
    "ConnectionRefusedError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ClientOSError",
    "ClientPayloadError",
)
CONNECTION_MARKERS: Final = re.compile(
    r"Connection error|Connection reset|Cannot connect to host|Connect call failed|Server disconnected|"
    r"Connection closed|Errno 104|Errno 111",
    re.IGNORECASE,
)
INVALID_RESPONSE_MARKERS: Final = re.compile(
    r"Empty or invalid response|Unable to get json response|Expecting value: line|JSONDecodeError|"
    r"Invalid JSON|unexpected end of data",
    re.IGNORECASE,
)
OVERLOADED_MARKERS: Final = re.compile(r"overloaded_error|\b529\b")


def _chain(exception: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exception
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def client_status_for(exception: BaseException, status: int | None) -> int | None:
    """The status the client should get instead of `status`, or None to keep it."""
    if status != 500:
        return None  # only LiteLLM's catch-all is re-read; real upstream statuses pass through
    text = " ".join(f"{type(item).__name__}: {item}" for item in _chain(exception))
    if OVERLOADED_MARKERS.search(text):
        return OVERLOADED
    names = {type(item).__name__ for item in _chain(exception)}
    if names & set(CONNECTION_CAUSES) or CONNECTION_MARKERS.search(text):
        return BAD_GATEWAY
    if INVALID_RESPONSE_MARKERS.search(text):
        return BAD_GATEWAY
    return None
