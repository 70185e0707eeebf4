"""ASGI types, and one of the bundle's ASGI layers put in front of the running proxy app, once.

LiteLLM loads callbacks during the app's startup, after Starlette built its middleware stack,
when `add_middleware` is no longer allowed: the built stack is wrapped instead. Before the stack
exists (an app that has not started), the layer is registered the normal way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def install_layer(app: Any, layer: type, **options: Any) -> bool:
    """Wrap `app` with `layer(app_stack, **options)` unless it already is; returns whether it did."""
    marker = f"_litellm_plugins_{layer.__name__}"
    if app is None or getattr(app, marker, False):
        return False
    stack = getattr(app, "middleware_stack", None)
    if stack is None:
        app.add_middleware(layer, **options)
    else:
        app.middleware_stack = layer(stack, **options)
    setattr(app, marker, True)
    return True


def response_header(message: Message, name: bytes) -> bytes:
    """The value of header `name` (lower-case) in an `http.response.start` message, or b""."""
    for key, value in message.get("headers") or ():
        if bytes(key).lower() == name:
            return bytes(value)
    return b""
