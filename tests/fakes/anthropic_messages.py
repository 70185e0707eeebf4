"""A strict fake of the Anthropic Messages API (`/v1/messages`, `/v1/messages/count_tokens`).

Every other route is 404. Errors use the real shape
(`{"type": "error", "error": {"type", "message"}, "request_id"}`, plus a `request-id` header),
and the fake rejects what the real API rejects:

- a wrong or missing credential (401 "invalid x-api-key"). Accepted: an API key as `x-api-key`
  or as `Authorization: Bearer` (the anthropic SDK 2.x sends it so), or an OAuth bearer token
  with `oauth-2025-04-20` in `anthropic-beta` (without it: 401 "OAuth authentication is
  currently not supported."). A non-empty `x-api-key` header decides alone. An OAuth access token
  that was refreshed away or expired (`replace_oauth_token`, `expire_oauth_token`; the fake OAuth
  token endpoint in `anthropic_oauth.py` calls them) gets the real 401 "OAuth token has expired.";
- with `require_claude_code=True` (opt-in), an OAuth request that does not come from Claude Code
  (400 "This credential is only authorized for use with Claude Code ..."), as the real API
  answers a subscription token used elsewhere: Claude Code's user agent (`claude-cli/...`), its
  `claude-code-20250219` beta and a system prompt that opens (after its billing line) with one
  of Claude Code's identities (:data:`CLAUDE_CODE_IDENTITIES`) are required;
- a missing (or non-date) `anthropic-version` header;
- unknown top-level keys ("<key>: Extra inputs are not permitted"), missing `model`,
  `max_tokens` or `messages`, `max_tokens` above the model's output limit, unknown models
  (404; any `claude-*` id is accepted with a 64000-token default profile);
- `thinking` that is not enabled (budget >= 1024 and < max_tokens) / adaptive / disabled, and
  `temperature` != 1, `top_k` or a forced `tool_choice` together with thinking;
- roles other than user/assistant/system (mid-conversation `system` messages are generally
  available, and Claude Code 2.1.332 sends them without the `mid-conversation-system-2026-04-07`
  beta; `FakeAnthropic(mid_conversation_system_ga=False)` is an older API that needs the beta),
  a message's own `output_config` without the `per-turn-control-2026-07-01` beta,
  unknown content block types, empty text blocks or message content, bad image sources;
- thinking blocks without text or whose `signature` does not verify (HMAC-SHA256 of the text
  with the fake's secret: build valid histories with `FakeAnthropic.sign`), empty
  `redacted_thinking` data;
- `tool_result` ids not offered by the preceding assistant message, `tool_use` ids left
  unanswered by the next message, and, with thinking on, a final tool-loop assistant message
  that does not start with a thinking block;
- custom tools without a name or an `input_schema` of type object, duplicate tool names, and
  more than 4 `cache_control` blocks.

Replies are scripted from the last user message: `CALL_TOOL <Name> <json-args>` in its last
text block makes the model call that (offered) tool; a `tool_result` is acknowledged with its
text echoed back; anything else is echoed. With thinking on, the reply starts with a signed
thinking block. Streams are real SSE in the Messages event order.

Prompt caching, when the fake is built with `prompt_cache=True`: the prefix up to the last
`cache_control` block (tools, then system, then messages) is written to the cache the first
time it is seen (`cache_creation_input_tokens`) and read from it afterwards
(`cache_read_input_tokens`); `input_tokens` counts the rest, as the real API reports it. (The
real API caches only prefixes above a minimum length; the fake caches any.) Each served
request records the usage it reported (`recorded.usage`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .server import FakeUpstream, RecordedRequest, RequestLog, parse_body

MESSAGE_PARAMETERS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature",
        "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier", "container",
        "context_management", "mcp_servers", "output_config", "output_format",
    }
)  # fmt: skip
COUNT_TOKENS_PARAMETERS = frozenset(
    {
        "model", "messages", "system", "tools", "tool_choice", "thinking", "context_management",
        "mcp_servers", "output_config", "output_format",
    }
)  # fmt: skip
BLOCK_TYPES = (
    "text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
    "server_tool_use", "web_search_tool_result", "search_result",
)  # fmt: skip
ASSISTANT_ONLY_BLOCKS = frozenset(
    {"tool_use", "thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result"}
)
TOOL_RESULT_PARTS = ("text", "image", "document", "search_result")
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
TOOL_KEYS = frozenset(
    {
        "type", "name", "description", "input_schema", "cache_control", "strict", "defer_loading",
        "input_examples", "eager_input_streaming", "allowed_callers",
    }
)  # fmt: skip
ANTHROPIC_VERSION_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}$"
)  # 2023-06-01; anthropic SDK 2.x sends 2026-10-21
OAUTH_BETA = "oauth-2025-04-20"
CLAUDE_CODE_BETA = "claude-code-20250219"
CLAUDE_CODE_USER_AGENT = "claude-cli/"
# What Claude Code 2.1.332 sends first in `system` (captured): the CLI's own identity, or the Agent
# SDK's when it runs with a custom system prompt; a billing line may precede it.
CLAUDE_CODE_IDENTITIES = (
    "You are Claude Code, Anthropic's official CLI for Claude.",
    "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
)
BILLING_LINE = "x-anthropic-billing-header:"
CLAUDE_CODE_ONLY = (
    "This credential is only authorized for use with Claude Code and cannot be used for other API requests."
)
MID_CONVERSATION_SYSTEM_BETA = "mid-conversation-system-2026-04-07"
PER_TURN_CONTROL_BETA = "per-turn-control-2026-07-01"  # a message may carry its own `output_config`
THINKING_TEXT = "Reasoning about the request."
MAX_CACHE_CONTROL_BLOCKS = 4
TOOL_CALL_PATTERN = re.compile(r"CALL_TOOL\s+(\w+)\s+(\{.*?\})\s*$", re.DOTALL)
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
TOOL_USE_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
THINKING_LOOP_MESSAGE = (
    "When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding "
    "the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks "
    "from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation "
    "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
)

OAUTH_EXPIRED_MESSAGE = "OAuth token has expired. Please obtain a new token or refresh your existing token."

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
DEFAULT_ERROR_MESSAGES: dict[int, str] = {
    401: "invalid x-api-key",
    403: "Your credit balance is too low to access the Anthropic API.",
    404: "Not Found",
    429: "This request would exceed your account's rate limit. Please try again later.",
    500: "Internal server error",
    529: "Overloaded",
}


@dataclass(frozen=True)
class AnthropicModelProfile:
    """What one fake model accepts."""

    max_output_tokens: int = 64000


DEFAULT_PROFILE = AnthropicModelProfile(max_output_tokens=64000)
DEFAULT_MODELS: dict[str, AnthropicModelProfile] = {
    "claude-sonnet-4-5": AnthropicModelProfile(max_output_tokens=64000),
    "claude-haiku-4-5": AnthropicModelProfile(max_output_tokens=64000),
    "claude-opus-4-1": AnthropicModelProfile(max_output_tokens=32000),
}


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def error_body(
    status: int, message: str | None = None, type_: str | None = None, request_id: str = ""
) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {
            "type": type_ or ERROR_TYPES.get(status, "api_error"),
            "message": message or DEFAULT_ERROR_MESSAGES.get(status, "Error"),
        },
        "request_id": request_id or new_request_id(),
    }


def anthropic_error(
    status: int, message: str, type_: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = error_body(status, message, type_)
    return JSONResponse(
        body, status_code=status, headers={**(headers or {}), "request-id": body["request_id"]}
    )


class RequestRejected(Exception):
    def __init__(self, status: int, message: str, type_: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_ or ERROR_TYPES.get(status, "api_error")


def _bad(message: str) -> RequestRejected:
    return RequestRejected(400, message)


def _tag_error(where: str, tag: Any, expected: tuple[str, ...]) -> str:
    names = ", ".join(f"'{name}'" for name in expected)
    return f"{where}: Input tag '{tag}' found using 'type' does not match any of the expected tags: {names}"


@dataclass
class Fault:
    """One scripted failure, consumed by the next matching request (or standing, per credential)."""

    kind: str  # "status" | "stall" | "malformed_json" | "malformed_sse" | "empty"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    model: str | None = None
    credential: str | None = None
    seconds: float = 0.0


def rate_limit_fault(reset_at: float | None = None, retry_after: int = 60) -> Fault:
    """A 429 like a subscription's exhausted unified window: `retry-after` plus the unified headers."""
    reset = int(reset_at if reset_at is not None else time.time() + retry_after)
    headers = {
        "retry-after": str(retry_after),
        "anthropic-ratelimit-unified-reset": str(reset),
        "anthropic-ratelimit-unified-status": "rejected",
    }
    return Fault(kind="status", status=429, headers=headers)


WARNING_THRESHOLD = 0.8  # a window at or above this share of its limit reports allowed_warning
WINDOW_STATUSES = ("allowed", "allowed_warning", "rejected")


@dataclass
class UnifiedWindows:
    """One subscription's unified rate-limit state, as Anthropic reports it on every response to
    an OAuth token (`anthropic-ratelimit-unified-*`): utilization (0..1) of the 5-hour and 7-day
    windows, their resets (epoch seconds), and model families whose own weekly limit is spent
    (`seven_day_opus` / `seven_day_sonnet`: that family answers 429, the others still serve)."""

    five_hour: float = 0.0
    seven_day: float = 0.0
    five_hour_reset: float = field(default_factory=lambda: time.time() + 5 * 3600)
    seven_day_reset: float = field(default_factory=lambda: time.time() + 7 * 86400)
    rejected_families: dict[str, float] = field(default_factory=dict)  # family -> its reset

    @staticmethod
    def window_status(utilization: float) -> str:
        if utilization >= 1.0:
            return "rejected"
        return "allowed_warning" if utilization >= WARNING_THRESHOLD else "allowed"

    def rejected_family(self, model: Any) -> str | None:
        for family in self.rejected_families:
            if isinstance(model, str) and family in model:
                return family
        return None

    def headers(self, model: Any = None) -> dict[str, str]:
        windows = {
            "five_hour": ("5h", self.five_hour, self.five_hour_reset),
            "seven_day": ("7d", self.seven_day, self.seven_day_reset),
        }
        headers: dict[str, str] = {}
        for short, utilization, reset in windows.values():
            headers[f"anthropic-ratelimit-unified-{short}-status"] = self.window_status(utilization)
            headers[f"anthropic-ratelimit-unified-{short}-reset"] = str(int(reset))
            headers[f"anthropic-ratelimit-unified-{short}-utilization"] = f"{utilization:.2f}"
        # The representative claim is the window that binds: the worst status, then the fuller one.
        claim = max(
            windows,
            key=lambda name: (WINDOW_STATUSES.index(self.window_status(windows[name][1])), windows[name][1]),
        )
        status, reset = self.window_status(windows[claim][1]), windows[claim][2]
        family = self.rejected_family(model)
        if family is not None and status != "rejected":
            claim, status, reset = f"seven_day_{family}", "rejected", self.rejected_families[family]
        headers.update(
            {
                "anthropic-ratelimit-unified-status": status,
                "anthropic-ratelimit-unified-reset": str(int(reset)),
                "anthropic-ratelimit-unified-representative-claim": claim,
                "anthropic-ratelimit-unified-fallback-percentage": "0.5",
                "anthropic-ratelimit-unified-overage-status": "rejected",
                "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
            }
        )
        if status == "rejected":
            headers["retry-after"] = str(max(0, int(reset - time.time())))
        return headers


@dataclass
class AnthropicRequest(RecordedRequest):
    """A recorded request plus who sent it (api key / OAuth token) and the status it got."""

    credential: str | None = None
    status: int | None = None
    betas: tuple[str, ...] = ()


def sign_thinking(secret: bytes, thinking: str) -> str:
    return base64.b64encode(hmac.new(secret, thinking.encode(), hashlib.sha256).digest()).decode()


def verify_signature(secret: bytes, thinking: str, signature: Any) -> bool:
    expected = sign_thinking(secret, thinking)
    return isinstance(signature, str) and bool(signature) and hmac.compare_digest(signature, expected)


class FakeAnthropic(FakeUpstream):
    """The fake's state: credentials, model profiles, scripted faults and the request log."""

    def __init__(
        self,
        api_keys: tuple[str, ...] = ("sk-ant-api03-fake-key",),
        oauth_tokens: tuple[str, ...] = ("sk-ant-oat01-fake-oauth-token",),
        models: dict[str, AnthropicModelProfile] | None = None,
        chunk_count: int = 4,
        signing_secret: bytes = b"fake-anthropic-signing-secret",
        mid_conversation_system_ga: bool = True,
        require_claude_code: bool = False,
        prompt_cache: bool = False,
    ) -> None:
        self.prompt_cache = prompt_cache
        self.cached_prefixes: set[str] = set()
        self.api_keys = api_keys
        self.mid_conversation_system_ga = mid_conversation_system_ga
        self.require_claude_code = require_claude_code
        self.stream_delay = 0.0  # seconds between streamed deltas (a slow model, for disconnect tests)
        self.oauth_tokens = oauth_tokens
        self.models = dict(DEFAULT_MODELS if models is None else models)
        self.chunk_count = chunk_count
        self.signing_secret = signing_secret
        self._unused_windows = UnifiedWindows()
        self.requests = RequestLog()
        self.faults: deque[Fault] = deque()
        self.credential_faults: dict[str, Fault] = {}
        self.expired_tokens: frozenset[str] = frozenset()
        self.unified_windows: dict[str, UnifiedWindows] = {}
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self.count_tokens, methods=["POST"]),
                Route("/{path:path}", self.not_found, methods=methods),
            ]
        )

    @property
    def api_base(self) -> str:
        """LiteLLM's `api_base` for the anthropic provider: the URL without `/v1`."""
        return self.url

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def sign(self, thinking: str) -> str:
        return sign_thinking(self.signing_secret, thinking)

    def set_credential_fault(self, credential: str, fault: Fault | None) -> None:
        """Answer every request by `credential` with `fault` until set back to None."""
        if fault is None:
            self.credential_faults.pop(credential, None)
        else:
            self.credential_faults[credential] = fault

    def rate_limit(self, credential: str, reset_at: float | None = None, retry_after: int = 60) -> Fault:
        fault = rate_limit_fault(reset_at, retry_after)
        self.set_credential_fault(credential, fault)
        return fault

    def replace_oauth_token(self, old: str | None, new: str) -> None:
        """Accept `new` from now on and refuse `old` as expired (an OAuth refresh)."""
        kept = tuple(token for token in self.oauth_tokens if token != old)
        self.oauth_tokens = (*kept, new)
        if old:
            self.expired_tokens = self.expired_tokens | {old}

    def expire_oauth_token(self, token: str) -> None:
        """`token` expires now: Anthropic answers it with 401 until it is refreshed."""
        self.oauth_tokens = tuple(item for item in self.oauth_tokens if item != token)
        self.expired_tokens = self.expired_tokens | {token}

    def set_unified_window(self, credential: str, windows: UnifiedWindows | None) -> UnifiedWindows:
        """Report `windows` on every response to the OAuth token `credential` (None: back to an
        unused subscription); a spent window or family answers 429 as the real API does."""
        if windows is None:
            self.unified_windows.pop(credential, None)
            return UnifiedWindows()
        self.unified_windows[credential] = windows
        return windows

    def _unified_headers(self, credential: str | None, body: Any) -> dict[str, str]:
        if credential is None or credential not in self.oauth_tokens:
            return {}  # API keys get the standard per-minute headers, not the subscription's
        windows = self.unified_windows.get(credential) or self._unused_windows
        return windows.headers(body.get("model") if isinstance(body, dict) else None)

    def attempts(self, credential: str) -> int:
        """`/v1/messages` requests that authenticated with `credential`, whatever they got back."""
        return len(self._messages_by(credential))

    def served(self, credential: str) -> int:
        """`/v1/messages` requests that `credential` got a 200 for."""
        return sum(1 for item in self._messages_by(credential) if item.status == 200)

    def _messages_by(self, credential: str) -> list[AnthropicRequest]:
        return [
            item
            for item in self.requests.all()
            if isinstance(item, AnthropicRequest)
            and item.path == "/v1/messages"
            and item.credential == credential
        ]

    # -- routes ----------------------------------------------------------------------------
    async def _record(self, request: Request) -> AnthropicRequest:
        raw = await request.body()
        values = request.headers.getlist("anthropic-beta")
        betas = tuple(beta.strip() for value in values for beta in value.split(",") if beta.strip())
        recorded = AnthropicRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=parse_body(raw),
            raw=raw,
            betas=betas,
        )
        self.requests.add(recorded)
        return recorded

    async def not_found(self, request: Request) -> Response:
        recorded = await self._record(request)
        recorded.status = 404
        return anthropic_error(404, "Not Found")

    async def messages(self, request: Request) -> Response:
        recorded = await self._record(request)
        response = await self._serve(recorded, count_only=False)
        recorded.status = response.status_code
        return response

    async def count_tokens(self, request: Request) -> Response:
        recorded = await self._record(request)
        response = await self._serve(recorded, count_only=True)
        recorded.status = response.status_code
        return response

    async def _serve(self, recorded: AnthropicRequest, count_only: bool) -> Response:
        body = recorded.body
        try:
            recorded.credential = authenticate(
                recorded.headers, recorded.betas, self.api_keys, self.oauth_tokens, self.expired_tokens
            )
            check_version(recorded.header("anthropic-version"))
            if self.require_claude_code and recorded.credential in self.oauth_tokens and not count_only:
                check_claude_code_identity(recorded.headers, recorded.betas, body)
        except RequestRejected as rejected:
            return anthropic_error(rejected.status, rejected.message, rejected.type)
        standing = self.credential_faults.get(recorded.credential)
        fault = standing or (None if count_only else self._take_fault(body, recorded.credential))
        unified = {} if count_only else self._unified_headers(recorded.credential, body)
        if fault is not None:
            response = await self._fault_response(fault)
            if response is not None:
                if recorded.credential in self.unified_windows:  # a scripted window: the fault's headers win
                    for name, value in unified.items():
                        response.headers.setdefault(name, value)
                return response
        if unified.get("anthropic-ratelimit-unified-status") == "rejected":
            return anthropic_error(429, DEFAULT_ERROR_MESSAGES[429], headers=unified)
        try:
            if count_only:
                validate_request(
                    body, self.models, recorded.betas, self.signing_secret, COUNT_TOKENS_PARAMETERS
                )
                rid = new_request_id()
                return JSONResponse(
                    {"input_tokens": estimate_input_tokens(body)}, headers={"request-id": rid}
                )
            betas = (
                (*recorded.betas, MID_CONVERSATION_SYSTEM_BETA)
                if self.mid_conversation_system_ga
                else recorded.betas
            )
            validate_request(body, self.models, betas, self.signing_secret, MESSAGE_PARAMETERS)
        except RequestRejected as rejected:
            return anthropic_error(rejected.status, rejected.message, rejected.type)
        reply = scripted_reply(body, self.signing_secret)
        input_tokens = estimate_input_tokens(body)
        cache = cache_usage(body, self.cached_prefixes) if self.prompt_cache else (0, 0)
        input_tokens = max(0, input_tokens - sum(cache))
        recorded.usage = message_body(body["model"], reply, input_tokens, cache)["usage"]
        headers = {**unified, "request-id": new_request_id()}
        if body.get("stream"):
            return StreamingResponse(
                stream_events(body["model"], reply, self.chunk_count, input_tokens, cache, self.stream_delay),
                media_type="text/event-stream",
                headers={**headers, "cache-control": "no-cache"},
            )
        return JSONResponse(message_body(body["model"], reply, input_tokens, cache), headers=headers)

    def _take_fault(self, body: Any, credential: str | None) -> Fault | None:
        model = body.get("model") if isinstance(body, dict) else None
        for fault in list(self.faults):
            if fault.model in (None, model) and fault.credential in (None, credential):
                self.faults.remove(fault)
                return fault
        return None

    async def _fault_response(self, fault: Fault) -> Response | None:
        """The scripted response, or None when the request should go on normally (after a stall)."""
        rid = new_request_id()
        if fault.kind == "status":
            content = fault.body if fault.body is not None else error_body(fault.status, request_id=rid)
            headers = {**fault.headers, "request-id": rid}
            if isinstance(content, (str, bytes)):
                return Response(
                    content, status_code=fault.status, headers=headers, media_type="application/json"
                )
            return JSONResponse(content, status_code=fault.status, headers=headers)
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
            return None
        if fault.kind == "malformed_json":
            return Response(
                b'{"id": "msg_broken", "type": "message", "content": [', media_type="application/json"
            )
        if fault.kind == "malformed_sse":
            return Response(b"event: message_start\ndata: {not json\n\n", media_type="text/event-stream")
        if fault.kind == "empty":
            return Response(b"", status_code=200, media_type="application/json")
        raise ValueError(f"unknown fault kind {fault.kind!r}")


# -- validation (pure) -------------------------------------------------------------------------
def authenticate(
    headers: dict[str, str],
    betas: tuple[str, ...],
    api_keys: tuple[str, ...],
    oauth_tokens: tuple[str, ...],
    expired_tokens: frozenset[str] = frozenset(),
) -> str:
    api_key = headers.get("x-api-key", "")
    if api_key:
        if api_key in api_keys:
            return api_key
        raise RequestRejected(401, "invalid x-api-key")
    authorization = headers.get("authorization", "")
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if token and token in api_keys:  # the anthropic SDK 2.x sends API keys as bearer tokens
        return token
    if token and token in oauth_tokens:
        if OAUTH_BETA not in betas:
            raise RequestRejected(401, "OAuth authentication is currently not supported.")
        return token
    if token and token in expired_tokens:
        raise RequestRejected(401, OAUTH_EXPIRED_MESSAGE)
    raise RequestRejected(401, "invalid x-api-key")


def check_claude_code_identity(headers: dict[str, str], betas: tuple[str, ...], body: Any) -> None:
    """A subscription's OAuth token is for Claude Code: refuse a request that is not Claude Code's."""
    system = body.get("system") if isinstance(body, dict) else None
    blocks = [system] if isinstance(system, str) else system if isinstance(system, list) else []
    texts = [
        (
            block if isinstance(block, str) else block.get("text", "") if isinstance(block, dict) else ""
        ).strip()
        for block in blocks
    ]
    texts = [text for text in texts if text and not text.startswith(BILLING_LINE)]
    identified = bool(texts) and texts[0].startswith(CLAUDE_CODE_IDENTITIES)
    agent = headers.get("user-agent", "")
    if not (identified and agent.startswith(CLAUDE_CODE_USER_AGENT) and CLAUDE_CODE_BETA in betas):
        raise RequestRejected(400, CLAUDE_CODE_ONLY)


def check_version(version: str | None) -> None:
    if not version:
        raise _bad("anthropic-version: header is required")
    if not ANTHROPIC_VERSION_PATTERN.match(version):
        raise _bad(f"anthropic-version: {version!r} is not a valid version")


def resolve_model(model: Any, models: dict[str, AnthropicModelProfile]) -> AnthropicModelProfile:
    if not isinstance(model, str) or not model:
        raise _bad("model: Field required")
    if model in models:
        return models[model]
    if model.startswith("claude-"):
        return DEFAULT_PROFILE
    raise RequestRejected(404, f"model: {model}")


def thinking_enabled(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def validate_request(
    body: Any,
    models: dict[str, AnthropicModelProfile],
    betas: tuple[str, ...],
    secret: bytes,
    allowed: frozenset[str],
) -> AnthropicModelProfile:
    if not isinstance(body, dict):
        raise _bad("There was an error parsing the body of your request: expected a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _bad(f"{unknown[0]}: Extra inputs are not permitted")
    counting = "max_tokens" not in allowed
    for name in ("model", "messages") if counting else ("model", "max_tokens", "messages"):
        if name not in body:
            raise _bad(f"{name}: Field required")
    profile = resolve_model(body["model"], models)
    max_tokens = body.get("max_tokens")
    if not counting:
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise _bad("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            raise _bad("max_tokens: Input should be greater than or equal to 1")
        if max_tokens > profile.max_output_tokens:
            raise _bad(
                f"max_tokens: {max_tokens} > {profile.max_output_tokens}, which is the maximum allowed "
                f"number of output tokens for {body['model']}"
            )
    if "stream" in body and not isinstance(body["stream"], bool):
        raise _bad("stream: Input should be a valid boolean")
    validate_thinking(body, None if counting else max_tokens)
    validate_system(body.get("system"))
    validate_messages(body["messages"], betas, secret, thinking_enabled(body))
    validate_tools(body.get("tools"))
    found = count_cache_control(body)
    if found > MAX_CACHE_CONTROL_BLOCKS:
        raise _bad(
            f"A maximum of {MAX_CACHE_CONTROL_BLOCKS} blocks with cache_control may be provided. Found "
            f"{found}."
        )
    return profile


def validate_thinking(body: dict[str, Any], max_tokens: int | None) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "adaptive", "disabled"):
        raise _bad(_tag_error("thinking", kind, ("adaptive", "disabled", "enabled")))
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise _bad("thinking.enabled.budget_tokens: Field required")
        if budget < 1024:
            raise _bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if max_tokens is not None and budget >= max_tokens:
            raise _bad(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                "documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            )
    if kind == "disabled":
        return
    if body.get("temperature") not in (None, 1, 1.0):
        raise _bad("`temperature` may only be set to 1 when thinking is enabled or in adaptive mode.")
    if body.get("top_k") is not None:
        raise _bad("`top_k` is not supported when thinking is enabled or in adaptive mode.")
    if isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("type") in ("any", "tool"):
        raise _bad("Thinking may not be enabled when tool_choice forces tool use.")


def validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _bad("system: Input should be a valid string or list")
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _bad(f"system.{index}.type: Input should be 'text'")
        if not isinstance(block.get("text"), str) or not block["text"].strip():
            raise _bad("system: text content blocks must be non-empty")


def _blocks(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    content = (message or {}).get("content")
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


def validate_messages(messages: Any, betas: tuple[str, ...], secret: bytes, thinking_on: bool) -> None:
    if not isinstance(messages, list):
        raise _bad("messages: Input should be a valid list")
    if not messages:
        raise _bad("messages: at least one message is required")
    system_ok = MID_CONVERSATION_SYSTEM_BETA in betas
    roles = ("user", "assistant", "system") if system_ok else ("user", "assistant")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _bad(f"messages.{i}: Input should be a valid dictionary")
        if message.get("role") not in roles:
            expected = "'user', 'assistant' or 'system'" if system_ok else "'user' or 'assistant'"
            raise _bad(f"messages.{i}.role: Input should be {expected}")
        allowed = (
            {"role", "content", "output_config"} if PER_TURN_CONTROL_BETA in betas else {"role", "content"}
        )
        extra = sorted(set(message) - allowed)
        if extra:
            raise _bad(f"messages.{i}.{extra[0]}: Extra inputs are not permitted")
        if "content" not in message:
            raise _bad(f"messages.{i}.content: Field required")
        if "output_config" in message and not isinstance(message["output_config"], dict):
            raise _bad(f"messages.{i}.output_config: Input should be a valid dictionary")
        content, role = message["content"], message["role"]
        final_assistant = i == len(messages) - 1 and role == "assistant"
        if not isinstance(content, (str, list)):
            raise _bad(f"messages.{i}.content: Input should be a valid string or list")
        if not content and not final_assistant:
            raise _bad(
                f"messages.{i}: all messages must have non-empty content except for the optional final "
                "assistant message"
            )
        if isinstance(content, str) and not content.strip() and content:
            raise _bad("messages: text content blocks must contain non-whitespace text")
        for j, block in enumerate(content if isinstance(content, list) else []):
            validate_block(f"messages.{i}.content.{j}", role, block, secret)
    validate_tool_pairing(messages)
    if thinking_on:
        validate_tool_loop_thinking(messages)


def validate_block(where: str, role: str, block: Any, secret: bytes) -> None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind not in BLOCK_TYPES:
        raise _bad(_tag_error(where, kind, BLOCK_TYPES))
    if role == "system" and kind != "text":
        raise _bad(f"{where}.type: `system` messages may only contain `text` blocks")
    if kind in ASSISTANT_ONLY_BLOCKS and role != "assistant":
        raise _bad(f"{where}: `{kind}` blocks can only be in `assistant` messages")
    if kind == "tool_result" and role != "user":
        raise _bad(f"{where}: `tool_result` blocks can only be in `user` messages")
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise _bad(f"{where}.text: Field required")
        if not text:
            raise _bad("messages: text content blocks must be non-empty")
        if not text.strip():
            raise _bad("messages: text content blocks must contain non-whitespace text")
    elif kind == "image":
        validate_image_source(where, block.get("source"))
    elif kind == "document" and not isinstance(block.get("source"), dict):
        raise _bad(f"{where}.document.source: Field required")
    elif kind in ("tool_use", "server_tool_use"):
        ident = block.get("id")
        if not isinstance(ident, str) or not TOOL_USE_ID_PATTERN.match(ident):
            raise _bad(f"{where}.{kind}.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
        if not isinstance(block.get("name"), str) or not block["name"]:
            raise _bad(f"{where}.{kind}.name: Field required")
        if not isinstance(block.get("input"), dict):
            raise _bad(f"{where}.{kind}.input: Input should be a valid dictionary")
    elif kind in ("tool_result", "web_search_tool_result"):
        if not isinstance(block.get("tool_use_id"), str) or not block["tool_use_id"]:
            raise _bad(f"{where}.{kind}.tool_use_id: Field required")
        inner = block.get("content")
        if kind == "tool_result" and isinstance(inner, list):
            for k, part in enumerate(inner):
                part_kind = part.get("type") if isinstance(part, dict) else None
                if part_kind not in TOOL_RESULT_PARTS:
                    raise _bad(_tag_error(f"{where}.tool_result.content.{k}", part_kind, TOOL_RESULT_PARTS))
                if part_kind == "image":
                    validate_image_source(f"{where}.tool_result.content.{k}", part.get("source"))
        elif kind == "tool_result" and inner is not None and not isinstance(inner, str):
            raise _bad(f"{where}.tool_result.content: Input should be a valid string or list")
    elif kind == "thinking":
        text = block.get("thinking")
        if not isinstance(text, str) or not text:
            raise _bad(f"{where}.thinking: each thinking block must contain thinking")
        if not verify_signature(secret, text, block.get("signature")):
            raise _bad(f"{where}: Invalid `signature` in `thinking` block")
    elif kind == "redacted_thinking" and (not isinstance(block.get("data"), str) or not block["data"]):
        raise _bad(f"{where}: Invalid `data` in `redacted_thinking` block")
    elif kind == "search_result" and (
        not isinstance(block.get("content"), list) or not block.get("source") or not block.get("title")
    ):
        raise _bad(f"{where}.search_result: `source`, `title` and `content` are required")


def validate_image_source(where: str, source: Any) -> None:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64":
        if source.get("media_type") not in IMAGE_MEDIA_TYPES:
            allowed = "'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
            raise _bad(f"{where}.image.source.base64.media_type: Input should be {allowed}")
        if not isinstance(source.get("data"), str) or not source["data"]:
            raise _bad(f"{where}.image.source.base64.data: image cannot be empty")
    elif kind == "url":
        if not isinstance(source.get("url"), str) or not source["url"].startswith(("http://", "https://")):
            raise _bad(f"{where}.image.source.url.url: Field required")
    else:
        raise _bad(_tag_error(f"{where}.image.source", kind, ("base64", "url")))


def validate_tool_pairing(messages: list[dict[str, Any]]) -> None:
    """tool_result ids must come from the previous assistant turn; tool_use ids must be answered next.

    Mid-conversation `system` messages are skipped when finding the previous/next turn.
    """
    turns = [(i, message) for i, message in enumerate(messages) if message["role"] != "system"]
    for pos, (i, message) in enumerate(turns):
        previous = turns[pos - 1][1] if pos > 0 else None
        following = turns[pos + 1][1] if pos + 1 < len(turns) else None
        if message["role"] == "user":
            offered = set()
            if previous is not None and previous["role"] == "assistant":
                offered = {block.get("id") for block in _blocks(previous) if block.get("type") == "tool_use"}
            for j, block in enumerate(_blocks(message)):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in offered:
                    raise _bad(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message."
                    )
        elif following is not None:
            answered = set()
            if following["role"] == "user":
                answered = {
                    b.get("tool_use_id") for b in _blocks(following) if b.get("type") == "tool_result"
                }
            missing = [
                b["id"]
                for b in _blocks(message)
                if b.get("type") == "tool_use" and b.get("id") not in answered
            ]
            if missing:
                raise _bad(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message."
                )


def validate_tool_loop_thinking(messages: list[dict[str, Any]]) -> None:
    """With thinking on, the last assistant turn of an open tool loop must start with thinking."""
    turns = [(i, message) for i, message in enumerate(messages) if message["role"] != "system"]
    positions = [pos for pos, (_, message) in enumerate(turns) if message["role"] == "assistant"]
    if not positions or positions[-1] + 1 >= len(turns):
        return
    index, assistant = turns[positions[-1]]
    following = turns[positions[-1] + 1][1]
    blocks = _blocks(assistant)
    if not any(block.get("type") == "tool_use" for block in blocks):
        return
    if following["role"] != "user" or not any(
        block.get("type") == "tool_result" for block in _blocks(following)
    ):
        return
    first = blocks[0].get("type")
    if first not in ("thinking", "redacted_thinking"):
        raise _bad(
            f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
            f"`{first}`. " + THINKING_LOOP_MESSAGE
        )


def validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _bad("tools: Input should be a valid list")
    names: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise _bad(f"tools.{index}: Input should be a valid dictionary")
        name = tool.get("name")
        if tool.get("type") not in (None, "custom"):  # a server tool, e.g. web_search_20250305
            if not isinstance(name, str) or not name:
                raise _bad(f"tools.{index}.{tool['type']}.name: Field required")
        else:
            where = f"tools.{index}.custom"
            extra = sorted(set(tool) - TOOL_KEYS)
            if extra:
                raise _bad(f"{where}.{extra[0]}: Extra inputs are not permitted")
            if not isinstance(name, str) or not name:
                raise _bad(f"{where}.name: Field required")
            if not TOOL_NAME_PATTERN.match(name):
                raise _bad(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            schema = tool.get("input_schema")
            if schema is None:
                raise _bad(f"{where}.input_schema: Field required")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise _bad(f"{where}.input_schema.type: Input should be 'object'")
        if name in names:
            raise _bad("tools: Tool names must be unique.")
        names.add(name)


def count_cache_control(body: dict[str, Any]) -> int:
    blocks: list[Any] = list(body.get("system") or []) if isinstance(body.get("system"), list) else []
    blocks += list(body.get("tools") or [])
    for message in body.get("messages") or []:
        for block in _blocks(message):
            blocks.append(block)
            if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                blocks += block["content"]
    return sum(1 for block in blocks if isinstance(block, dict) and block.get("cache_control"))


def estimate_input_tokens(body: dict[str, Any]) -> int:
    counted = {key: body[key] for key in ("system", "messages", "tools") if key in body}
    return max(1, len(json.dumps(counted)) // 4)


def cache_usage(body: dict[str, Any], cached: set[str]) -> tuple[int, int]:
    """(cache_read, cache_write) tokens for `body`: its prefix up to the last `cache_control`
    block, read when `cached` has it, else written (and remembered)."""
    parts: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    parts += system if isinstance(system, list) else ([system] if system else [])
    for message in body.get("messages") or []:
        content = message.get("content")
        parts += content if isinstance(content, list) else [content]
    marked = [i for i, part in enumerate(parts) if isinstance(part, dict) and part.get("cache_control")]
    if not marked:
        return (0, 0)
    prefix = json.dumps(parts[: marked[-1] + 1], sort_keys=True)
    tokens = min(max(1, len(prefix) // 4), estimate_input_tokens(body))
    key = hashlib.sha256(prefix.encode()).hexdigest()
    if key in cached:
        return (tokens, 0)
    cached.add(key)
    return (0, tokens)


# -- scripted replies (pure) -------------------------------------------------------------------
@dataclass
class Reply:
    text: str = ""
    thinking: str = ""
    signature: str = ""
    tool_name: str | None = None
    tool_input: dict[str, Any] = field(default_factory=dict)
    tool_id: str = ""

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tool_name else "end_turn"

    @property
    def output_tokens(self) -> int:
        return max(1, (len(self.text) + len(self.thinking) + len(json.dumps(self.tool_input))) // 4)


def _prompt_among(texts: list[str]) -> str:
    """The user's own words: the last text part that is not one of Claude Code's reminders."""
    own = [text for text in texts if not text.lstrip().startswith("<system-reminder>")]
    return (own or texts or [""])[-1]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    texts = [
        part.get("text", "")
        for part in content or []
        if isinstance(part, dict) and part.get("type") == "text"
    ]
    return _prompt_among(texts)


def scripted_reply(body: dict[str, Any], secret: bytes) -> Reply:
    reply = Reply()
    if thinking_enabled(body):
        reply.thinking, reply.signature = THINKING_TEXT, sign_thinking(secret, THINKING_TEXT)
    last_user = next((m for m in reversed(body["messages"]) if m.get("role") == "user"), None)
    content = (last_user or {}).get("content")
    blocks = _blocks(last_user)
    text = _text_of(content)
    match = TOOL_CALL_PATTERN.search(text)
    offered = {tool.get("name") for tool in body.get("tools") or [] if tool.get("type") in (None, "custom")}
    if match and match.group(1) in offered:
        try:
            arguments = json.loads(match.group(2))
        except ValueError:
            arguments = None
        if isinstance(arguments, dict):
            reply.tool_name, reply.tool_input = match.group(1), arguments
            reply.tool_id = f"toolu_{uuid.uuid4().hex[:24]}"
            return reply
    results = [block for block in blocks if block.get("type") == "tool_result"]
    if results:
        inner = results[-1].get("content")
        result_text = (
            inner
            if isinstance(inner, str)
            else " ".join(
                part.get("text", "")
                for part in inner or []
                if isinstance(part, dict) and part.get("type") == "text"
            )
        )
        reply.text = f"The tool returned: {result_text[:200]}"
        return reply
    suffix = " [saw an image]" if any(block.get("type") == "image" for block in blocks) else ""
    reply.text = f"fake-anthropic {body['model']} says: {text[-120:]}{suffix}"
    return reply


def content_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking:
        blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": reply.signature})
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    if reply.tool_name:
        blocks.append(
            {"type": "tool_use", "id": reply.tool_id, "name": reply.tool_name, "input": reply.tool_input}
        )
    return blocks


def message_body(
    model: str, reply: Reply, input_tokens: int, cache: tuple[int, int] = (0, 0)
) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content_blocks(reply),
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": reply.output_tokens,
            "cache_creation_input_tokens": cache[1],
            "cache_read_input_tokens": cache[0],
        },
    }


def _split(text: str, parts: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def stream_events(
    model: str,
    reply: Reply,
    chunk_count: int,
    input_tokens: int,
    cache: tuple[int, int] = (0, 0),
    delay: float = 0.0,
) -> AsyncIterator[bytes]:
    start = message_body(model, reply, input_tokens, cache)
    start.update(content=[], stop_reason=None)
    start["usage"]["output_tokens"] = 1
    yield sse_event("message_start", {"type": "message_start", "message": start})
    yield sse_event("ping", {"type": "ping"})
    for index, block in enumerate(content_blocks(reply)):
        kind = block["type"]
        if kind == "thinking":
            opening: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": piece}
                for piece in _split(block["thinking"], chunk_count)
            ]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in _split(block["text"], chunk_count)]
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            arguments = json.dumps(block["input"])
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in _split(arguments, chunk_count)
            ]
        started = {"type": "content_block_start", "index": index, "content_block": opening}
        yield sse_event("content_block_start", started)
        for delta in deltas:
            if delay:
                await asyncio.sleep(delay)
            yield sse_event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            )
        yield sse_event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield sse_event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        },
    )
    yield sse_event("message_stop", {"type": "message_stop"})
