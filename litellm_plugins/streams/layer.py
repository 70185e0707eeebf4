"""The stream layer: the upstream guard's and the thinking stripper's work on streamed replies, in ASGI.

Both used to be `async_post_call_streaming_iterator_hook`s. With any such hook registered,
LiteLLM wraps the reply in one more pair of async generators per hook and per chunk; here the
reply is handled once, as the bytes leave: one frame cut for both plugins, frames neither
changes passed on as they are (:mod:`~litellm_plugins.streams.anthropic_stream`,
:mod:`~litellm_plugins.streams.chat_stream`).

For a `POST` on `/v1/messages` or chat completions the layer opens a
:class:`~litellm_plugins.streams.context.StreamContext` for the request's hooks. When the
response is `text/event-stream`, its body goes through an `AnthropicStream` (`/v1/messages`:
always, so a cut or corrupt upstream stream ends with an `event: error`) or, when the thinking
plan the stripper's deployment hook left in the context asks for it, a `ChatStream` (chat
completions: a cut chat stream ends with an error chunk, asking the upstream guard at the finish
chunk; thinking stripped or marked when the plan says so).
Every other response (JSON, errors, count_tokens, other routes) passes untouched.

Installed by :mod:`litellm_plugins.startup`; settings: none of its own (the stripper's
`thinking` section decides the plan).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Final

from litellm_plugins.core.asgi import ASGIApp, Message, Receive, Scope, Send, install_layer, response_header
from litellm_plugins.core.route import request_route
from litellm_plugins.core.stream_fast_path import drop_responses_id_security
from litellm_plugins.streams import context as stream_context
from litellm_plugins.streams.anthropic_stream import AnthropicStream
from litellm_plugins.streams.chat_stream import ChatStream
from litellm_plugins.thinking.stream import AnthropicStreamRewriter

ANTHROPIC_ROUTES: Final = frozenset({"/v1/messages"})
CHAT_ROUTES: Final = frozenset({"/v1/chat/completions", "/chat/completions"})

# (the stripper's state) -> (strip, mark) for the serving deployment, or None: nothing to do.
Plan = Callable[[Any], "tuple[bool, bool] | None"]
# (the stripper's state, what was done) -> None, once a stream that changed something ended.
Record = Callable[[Any, str], None]


def _is_event_stream(message: Message) -> bool:
    return response_header(message, b"content-type").lower().startswith(b"text/event-stream")


def _notes(stream: Any, strip: bool) -> str:
    parts = []
    rewriter = getattr(stream, "rewriter", None)
    if rewriter is not None and rewriter.blocks_dropped:
        parts.append(f"{rewriter.blocks_dropped} thinking block(s) removed from the stream")
    if rewriter is not None and rewriter.signatures_marked:
        parts.append(f"{rewriter.signatures_marked} foreign signature(s) marked")
    changed = getattr(stream, "chunks_changed", 0)
    if changed:
        parts.append(f"reasoning {'removed from' if strip else 'marked in'} {changed} chunk(s)")
    return "; ".join(parts)


class StreamLayer:
    def __init__(
        self,
        app: ASGIApp,
        plan: Plan,
        record: Record,
        on_cut: Callable[[str], None],
        chat_cut: Callable[[stream_context.StreamContext], bool] = lambda _context: False,
    ) -> None:
        self.app = app
        self.plan = plan
        self.record = record
        self.on_cut = on_cut
        self.chat_cut = chat_cut
        self._fast_path_checked = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        route = request_route(scope)
        anthropic = route in ANTHROPIC_ROUTES
        if not anthropic and route not in CHAT_ROUTES:
            await self.app(scope, receive, send)
            return
        if not self._fast_path_checked:
            self._fast_path_checked = True
            drop_responses_id_security()  # LiteLLM added its hooks after the bundle started
        context, token = stream_context.opened()
        try:
            await self.app(scope, receive, self._sender(send, context, anthropic, route))
        finally:
            stream_context.closed(token)

    def _sender(self, send: Send, context: stream_context.StreamContext, anthropic: bool, route: str) -> Send:
        stream: AnthropicStream | ChatStream | None = None
        strip = False

        async def sender(message: Message) -> None:
            nonlocal stream, strip
            kind = message.get("type")
            if kind == "http.response.start":
                if _is_event_stream(message):
                    plan = self.plan(context.thinking)
                    strip, mark = plan if plan is not None else (False, False)
                    if anthropic:
                        rewriter = (
                            AnthropicStreamRewriter(strip_thinking=strip, mark_signatures=mark)
                            if plan is not None
                            else None
                        )
                        stream = AnthropicStream(rewriter)
                    else:
                        stream = ChatStream(strip=strip, mark=mark, is_cut=partial(self.chat_cut, context))
                await send(message)
                return
            if stream is None or kind != "http.response.body":
                await send(message)
                return
            body = message.get("body") or b""
            more = bool(message.get("more_body", False))
            out = stream.feed(body if isinstance(body, bytes) else bytes(body)) if body else b""
            if more and out is body:
                await send(message)  # the common case: one frame, unchanged
                return
            if not more:
                out += self._ended(stream, context, strip, route)
            if out or not more:
                await send({"type": "http.response.body", "body": out, "more_body": more})

        return sender

    def _ended(self, stream: AnthropicStream | ChatStream, context: Any, strip: bool, route: str) -> bytes:
        tail = stream.finish()
        if isinstance(stream, AnthropicStream) and tail:
            self.on_cut(route)  # the upstream ended without message_stop (or mid-frame)
        notes = _notes(stream, strip)
        if notes and context.thinking is not None:
            self.record(context.thinking, notes)
        return tail


def install(
    app: Any,
    plan: Plan,
    record: Record,
    on_cut: Callable[[str], None],
    chat_cut: Callable[[stream_context.StreamContext], bool],
) -> bool:
    return install_layer(app, StreamLayer, plan=plan, record=record, on_cut=on_cut, chat_cut=chat_cut)
