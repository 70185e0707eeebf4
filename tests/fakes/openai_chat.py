"""A strict, chat-only OpenAI-compatible upstream (DeepSeek, vLLM, Ollama, most gateways).

It answers `/v1/chat/completions` only: `/v1/responses` and every other route are 404, as on a
chat-only server. Like the real APIs it rejects what they reject, with their error shapes:

- a wrong or missing `Authorization: Bearer <key>` (401, `invalid_api_key`);
- unknown top-level request parameters (400 "Unrecognized request argument supplied: ...");
- `max_tokens` / `max_completion_tokens` above the model's output limit (400, DeepSeek wording);
- `reasoning_effort` for a model without reasoning support;
- `reasoning_content` in input messages, for models that reject it (DeepSeek answers 400);
- tool schemas whose top level is not `type: object` (OpenAI), and, for Gemini-strict models,
  any JSON-schema key outside Gemini's OpenAPI subset (`$schema`, `propertyNames`, ...);
- malformed message sequences (a `tool` message without a matching `tool_calls` id).

Replies are scripted from the last message so tests can drive tool loops:
`CALL_TOOL <Name> <json-args>` in the last user text makes the model call that tool; a tool
result is acknowledged with its text echoed back.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .server import FakeUpstream, RecordedRequest, RequestLog, parse_body

CHAT_PARAMETERS = frozenset(
    {
        "model",
        "messages",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "max_tokens",
        "max_completion_tokens",
        "n",
        "presence_penalty",
        "response_format",
        "seed",
        "stop",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "reasoning_effort",
        "metadata",
        "store",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
        "verbosity",
        "modalities",
        "prediction",
        "web_search_options",
    }
)

# Gemini's function-declaration schema is an OpenAPI 3 subset; anything else is
# 'Invalid JSON payload received. Unknown name "<key>"'.
GEMINI_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
        "title",
    }
)

TOOL_CALL_PATTERN = re.compile(r"CALL_TOOL\s+(\w+)\s+(\{.*?\})\s*$", re.DOTALL)


@dataclass(frozen=True)
class ModelProfile:
    """What one fake model accepts and emits."""

    max_output_tokens: int = 8192
    accepts_reasoning_effort: bool = False
    emits_reasoning: bool = False
    rejects_reasoning_in_input: bool = True
    gemini_strict_schema: bool = False
    vision: bool = True


DEFAULT_MODELS: dict[str, ModelProfile] = {
    # DeepSeek-style chat model: 8K output, no reasoning parameter, rejects reasoning input.
    "deepseek-chat": ModelProfile(max_output_tokens=8192),
    # DeepSeek-style reasoner: emits reasoning_content, still rejects it as input.
    "deepseek-reasoner": ModelProfile(max_output_tokens=8192, emits_reasoning=True),
    # An OpenAI-style reasoning model that takes reasoning_effort.
    "gpt-reasoning": ModelProfile(max_output_tokens=32768, accepts_reasoning_effort=True),
    # A Gemini-style endpoint with the strict schema subset.
    "gemini-strict": ModelProfile(max_output_tokens=8192, gemini_strict_schema=True),
}


def openai_error(
    status: int, message: str, type_: str = "invalid_request_error", **extra: Any
) -> JSONResponse:
    error = {"message": message, "type": type_, "param": extra.get("param"), "code": extra.get("code")}
    return JSONResponse({"error": error}, status_code=status, headers=extra.get("headers"))


class RequestRejected(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


@dataclass
class Fault:
    """One scripted failure, consumed by the next matching request."""

    kind: str  # "status" | "stall" | "malformed_json" | "malformed_sse" | "empty" | "slow_stream"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    model: str | None = None
    api_key: str | None = None
    seconds: float = 0.0


class FakeOpenAIChat(FakeUpstream):
    """The fake's state: accepted keys, model profiles, scripted faults and the request log."""

    def __init__(
        self,
        api_keys: tuple[str, ...] = ("sk-fake-openai-key",),
        models: dict[str, ModelProfile] | None = None,
        chunk_count: int = 4,
    ) -> None:
        self.api_keys = api_keys
        self.models = dict(DEFAULT_MODELS if models is None else models)
        self.chunk_count = chunk_count
        self.requests = RequestLog()
        self.faults: deque[Fault] = deque()
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/{path:path}", self.not_found, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    # -- routes ----------------------------------------------------------------------------
    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=parse_body(raw),
            raw=raw,
        )
        self.requests.add(recorded)
        return recorded

    async def not_found(self, request: Request) -> Response:
        await self._record(request)
        return openai_error(404, f"Invalid URL ({request.method} {request.url.path})", code="unknown_url")

    async def list_models(self, request: Request) -> Response:
        await self._record(request)
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def chat_completions(self, request: Request) -> Response:
        recorded = await self._record(request)
        auth = recorded.header("authorization") or ""
        key = auth.removeprefix("Bearer ").strip()
        if key not in self.api_keys:
            return openai_error(
                401,
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        fault = self._take_fault(recorded.body, key)
        if fault is not None:
            return await self._fault_response(fault, recorded.body)
        body = recorded.body
        try:
            profile = validate_chat_request(body, self.models)
        except RequestRejected as rejected:
            return openai_error(rejected.status, rejected.message, code=rejected.code, param=rejected.param)
        reply = scripted_reply(body, profile)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            recorded.usage = _usage(reply) if include_usage else None
            return StreamingResponse(
                stream_chunks(body["model"], reply, self.chunk_count, include_usage),
                media_type="text/event-stream",
            )
        recorded.usage = _usage(reply)
        return JSONResponse(completion_body(body["model"], reply))

    def _take_fault(self, body: Any, key: str) -> Fault | None:
        model = body.get("model") if isinstance(body, dict) else None
        for fault in list(self.faults):
            if (fault.model is None or fault.model == model) and (
                fault.api_key is None or fault.api_key == key
            ):
                self.faults.remove(fault)
                return fault
        return None

    async def _fault_response(self, fault: Fault, body: Any) -> Response:
        if fault.kind == "status":
            content = fault.body or {"error": {"message": f"scripted {fault.status}", "type": "server_error"}}
            return JSONResponse(content, status_code=fault.status, headers=fault.headers)
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
            return JSONResponse(completion_body(body.get("model", "x"), Reply(text="late")))
        if fault.kind == "malformed_json":
            return Response(b'{"id": "chatcmpl-broken", "choices": [', media_type="application/json")
        if fault.kind == "malformed_sse":
            return Response(b"data: {not json\n\n", media_type="text/event-stream")
        if fault.kind == "empty":
            return Response(b"", status_code=200, media_type="application/json")
        if fault.kind == "slow_stream":  # a long answer: `seconds` between chunks
            return StreamingResponse(
                slowly(
                    stream_chunks(body.get("model", "x"), Reply(text="slow " * 40), 40, True), fault.seconds
                ),
                media_type="text/event-stream",
            )
        raise ValueError(f"unknown fault kind {fault.kind!r}")


async def slowly(chunks: Any, seconds: float) -> Any:
    async for chunk in chunks:
        yield chunk
        await asyncio.sleep(seconds)


# -- validation (pure) -------------------------------------------------------------------------
def validate_chat_request(body: Any, models: dict[str, ModelProfile]) -> ModelProfile:
    if not isinstance(body, dict):
        raise RequestRejected(400, "We could not parse the JSON body of your request.")
    unknown = sorted(set(body) - CHAT_PARAMETERS)
    if unknown:
        raise RequestRejected(400, f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0])
    model = body.get("model")
    if model not in models:
        raise RequestRejected(
            404, f"The model `{model}` does not exist or you do not have access to it.", "model_not_found"
        )
    profile = models[model]
    limit = profile.max_output_tokens
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or value < 1 or value > limit):
            raise RequestRejected(
                400, f"Invalid max_tokens value, the valid range of max_tokens is [1, {limit}]", param=name
            )
    if "reasoning_effort" in body and not profile.accepts_reasoning_effort:
        raise RequestRejected(
            400, "Unrecognized request argument supplied: reasoning_effort", param="reasoning_effort"
        )
    if body.get("reasoning_effort") not in (None, "minimal", "low", "medium", "high"):
        raise RequestRejected(400, f"Invalid value for reasoning_effort: {body.get('reasoning_effort')!r}")
    validate_messages(body.get("messages"), profile)
    for index, tool in enumerate(body.get("tools") or []):
        validate_tool(index, tool, profile)
    return profile


def validate_messages(messages: Any, profile: ModelProfile) -> None:
    if not isinstance(messages, list) or not messages:
        raise RequestRejected(
            400, "Invalid 'messages': empty array. Expected an array with minimum length 1."
        )
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
        ):
            raise RequestRejected(400, f"Invalid value for 'messages[{index}].role'.")
        if "reasoning_content" in message and profile.rejects_reasoning_in_input:
            raise RequestRejected(
                400,
                "The reasoning_content is an intermediate result for display purposes only and will not be "
                "included in the context for inference. Please remove the reasoning_content from your "
                "message to reduce network traffic.",
            )
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict) or part.get("type") not in ("text", "image_url"):
                    raise RequestRejected(400, f"Invalid content part in messages[{index}]: {str(part)[:80]}")
                if part["type"] == "image_url" and not profile.vision:
                    raise RequestRejected(400, "This model does not support image input.")
                if part["type"] == "image_url":
                    url = (part.get("image_url") or {}).get("url", "")
                    if not url.startswith(("data:image/", "http://", "https://")):
                        raise RequestRejected(400, f"Invalid image URL in messages[{index}].")
        if message["role"] == "assistant":
            for call in message.get("tool_calls") or []:
                open_calls.add(call.get("id"))
        if message["role"] == "tool" and message.get("tool_call_id") not in open_calls:
            raise RequestRejected(
                400,
                "Messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
            )


def validate_tool(index: int, tool: Any, profile: ModelProfile) -> None:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or not function.get("name"):
        raise RequestRejected(400, f"Missing required parameter: 'tools[{index}].function'.")
    parameters = function.get("parameters") or {"type": "object"}
    if parameters.get("type") != "object" or any(k in parameters for k in ("oneOf", "anyOf", "allOf", "not")):
        raise RequestRejected(
            400,
            f"Invalid schema for function '{function['name']}': schema must be a JSON Schema of "
            "'type: \"object\"', "
            f"got 'type: \"{parameters.get('type')}\"'.",
        )
    if profile.gemini_strict_schema:
        unknown = find_unknown_schema_key(parameters, f"tools[{index}].function_declarations[0].parameters")
        if unknown:
            key, where = unknown
            raise RequestRejected(
                400, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
            )


def find_unknown_schema_key(schema: Any, where: str) -> tuple[str, str] | None:
    if not isinstance(schema, dict):
        return None
    for key, value in schema.items():
        if key not in GEMINI_SCHEMA_KEYS:
            return key, where
        if key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                found = find_unknown_schema_key(sub, f"{where}.properties[{name}].value")
                if found:
                    return found
        elif key == "items":
            found = find_unknown_schema_key(value, f"{where}.items")
            if found:
                return found
        elif key == "anyOf" and isinstance(value, list):
            for position, sub in enumerate(value):
                found = find_unknown_schema_key(sub, f"{where}.any_of[{position}]")
                if found:
                    return found
    return None


# -- scripted replies (pure) -------------------------------------------------------------------
@dataclass
class Reply:
    text: str = ""
    reasoning: str = ""
    tool_name: str | None = None
    tool_arguments: str = "{}"


def _prompt_among(texts: list[str]) -> str:
    """The user's own words: the last text part that is not one of Claude Code's reminders."""
    own = [text for text in texts if not text.lstrip().startswith("<system-reminder>")]
    return (own or texts or [""])[-1]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        ]
        return _prompt_among(texts)
    return ""


OPERATOR_NOTE = "Operator note (not from the user)"


def _is_operator_note(message: Any) -> bool:
    content = message.get("content") if isinstance(message, dict) else None
    first = content[0] if isinstance(content, list) and content else content
    text = first.get("text", "") if isinstance(first, dict) else first if isinstance(first, str) else ""
    return message.get("role") == "user" and text.startswith(OPERATOR_NOTE)


def scripted_reply(body: dict[str, Any], profile: ModelProfile) -> Reply:
    messages = body["messages"]
    # Claude Code's mid-conversation system reminders arrive (translated by LiteLLM) as user
    # messages after the prompt; the conversation's last turn is the one before them.
    turns = [m for m in messages if not _is_operator_note(m)] or messages
    last = turns[-1]
    reasoning = "Let me think about this step by step." if profile.emits_reasoning else ""
    if last.get("role") == "tool":
        return Reply(text=f"The tool returned: {_text_of(last.get('content'))[:200]}", reasoning=reasoning)
    text = _text_of(last.get("content"))
    match = TOOL_CALL_PATTERN.search(text)
    offered = {tool["function"]["name"] for tool in body.get("tools") or []}
    if match and match.group(1) in offered:
        return Reply(reasoning=reasoning, tool_name=match.group(1), tool_arguments=match.group(2))
    has_image = isinstance(last.get("content"), list) and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in last["content"]
    )
    suffix = " [saw an image]" if has_image else ""
    return Reply(text=f"fake-openai {body['model']} says: {text[-120:]}{suffix}", reasoning=reasoning)


def _usage(reply: Reply) -> dict[str, int]:
    completion = max(1, (len(reply.text) + len(reply.reasoning) + len(reply.tool_arguments)) // 4)
    return {"prompt_tokens": 42, "completion_tokens": completion, "total_tokens": 42 + completion}


def completion_body(model: str, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    finish = "stop"
    if reply.tool_name:
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": reply.tool_name, "arguments": reply.tool_arguments},
            }
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(reply),
    }


def _split(text: str, parts: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)]


async def stream_chunks(model: str, reply: Reply, chunk_count: int, include_usage: bool):  # type: ignore[no-untyped-def]
    ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    created = int(time.time())

    def frame(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else [],
        }
        if usage is not None:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk)}\n\n".encode()

    yield frame({"role": "assistant", "content": ""})
    for piece in _split(reply.reasoning, chunk_count):
        yield frame({"reasoning_content": piece})
    for piece in _split(reply.text, chunk_count):
        yield frame({"content": piece})
    finish = "stop"
    if reply.tool_name:
        finish = "tool_calls"
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        yield frame(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": reply.tool_name, "arguments": ""},
                    }
                ]
            }
        )
        for piece in _split(reply.tool_arguments, 2):
            yield frame({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    yield frame({}, finish=finish)
    if include_usage:
        yield frame({}, usage=_usage(reply))
    yield b"data: [DONE]\n\n"
