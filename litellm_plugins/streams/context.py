"""What the hooks of one request tell the stream layer about its reply (pure).

The stream layer (:mod:`litellm_plugins.streams.layer`) opens a :class:`StreamContext` for each
request on a streaming route, in a context variable; LiteLLM runs the request's hooks in that
context (or a copy of it, which holds the same object), so a hook finds it with :func:`current`
and notes what the reply needs:

- the thinking stripper's deployment hook: which deployment serves the request (its state);
- the upstream guard's response-headers hook: a chat stream's LiteLLM stream object (whose own
  record says whether the upstream sent the finish_reason, or LiteLLM made a `"stop"` up).

A request outside the layer (a test calling a hook directly) has no context: `current()` is None.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final


@dataclass(slots=True)
class StreamContext:
    thinking: dict[str, Any] | None = None  # the thinking stripper's state of the serving attempt
    chat_stream: Any = None  # LiteLLM's stream object of a chat completions reply


_CURRENT: Final[ContextVar[StreamContext | None]] = ContextVar("litellm_plugins_stream", default=None)


def current() -> StreamContext | None:
    """The stream context of the request being served, or None outside the stream layer."""
    return _CURRENT.get()


def opened() -> tuple[StreamContext, Any]:
    """A new context made current, and the token that :func:`closed` takes to restore the last."""
    context = StreamContext()
    return context, _CURRENT.set(context)


def closed(token: Any) -> None:
    _CURRENT.reset(token)
