"""What a bundle route for operators needs: the master key check and a JSON answer.

The request guard already keeps every route but the client ones for the master key; a route
for operators checks it again itself (constant time), so it stays closed if it is ever
installed in front of the guard.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from litellm_plugins.core.asgi import Scope, Send
from litellm_plugins.core.proxy import running_master_key


def presented_key(scope: Scope) -> str:
    """The credential the request presents: a bearer token, `x-litellm-api-key` or `x-api-key`."""
    for name, value in scope.get("headers") or ():
        lowered = bytes(name).lower()
        text = bytes(value).decode("latin-1").strip()
        if lowered == b"authorization" and text.lower().startswith("bearer "):
            return text[7:].strip()
        if lowered in (b"x-litellm-api-key", b"x-api-key"):
            return text
    return ""


def has_master_key(scope: Scope) -> bool:
    """Whether the request presents the running proxy's master key (False when there is none)."""
    master = running_master_key() or ""
    presented = presented_key(scope)
    return bool(master and presented) and hmac.compare_digest(presented.encode(), master.encode())


async def send_json(send: Send, status: int, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def admitted(scope: Scope, send: Send, what: str) -> bool:
    """Whether an operator route may answer: a GET with the master key. Otherwise it answers 401
    (naming `what` needs the master key) or 405 itself and returns False."""
    if not has_master_key(scope):
        message = f"{what} needs the master key (LITELLM_MASTER_KEY)"
        await send_json(send, 401, {"error": {"message": message, "type": "auth_error"}})
        return False
    if scope.get("method") != "GET":
        await send_json(send, 405, {"error": {"message": "use GET", "type": "invalid_request_error"}})
        return False
    return True
