"""The shape a request body must have before LiteLLM is handed it (pure).

LiteLLM 1.106 answers several malformed bodies with a 500 from inside its own request handling
(a `model` that is not a string, `response_format: []`, a message that is not an object, an
empty `messages` list or a `text` block whose text is not a string on a chat deployment,
`metadata.user_id: 5`, a document nested hundreds of levels deep, and on count_tokens a
`tool_result` without `tool_use_id`, an `image` without an object `source`, `system` blocks that
are not text blocks). These checks cover types and required fields, as the providers' own
validation does: whether a model exists, or whether the provider accepts the content, stays the
provider's (and the router's) call. Each returns the first problem as a message that names the
field, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

Check = Callable[[Any], bool]

# Deeper JSON than this is refused: LiteLLM recurses over parts of the body (a `metadata`
# nested 900 levels deep ended in a RecursionError and a 500); real requests stay far below.
MAX_DEPTH: Final = 64


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_dict(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str_or_list(value: Any) -> bool:
    return isinstance(value, (str, list))


ANTHROPIC_FIELDS: Final[dict[str, tuple[Check, str]]] = {
    "max_tokens": (_is_int, "an integer"),
    "system": (_optional(_is_str_or_list), "a string or a list of text blocks"),
    "stream": (_optional(_is_bool), "true or false"),
    "tools": (_optional(_is_list), "a list"),
    "tool_choice": (_optional(_is_dict), "an object"),
    "thinking": (_optional(_is_dict), "an object"),
    "metadata": (_optional(_is_dict), "an object"),
    "stop_sequences": (_optional(_is_list), "a list of strings"),
    "temperature": (_optional(_is_number), "a number"),
    "top_p": (_optional(_is_number), "a number"),
    "top_k": (_optional(_is_int), "an integer"),
    "output_config": (_optional(_is_dict), "an object"),
}
CHAT_FIELDS: Final[dict[str, tuple[Check, str]]] = {
    "max_tokens": (_optional(_is_int), "an integer"),
    "max_completion_tokens": (_optional(_is_int), "an integer"),
    "stream": (_optional(_is_bool), "true or false"),
    "tools": (_optional(_is_list), "a list"),
    "tool_choice": (_optional(lambda v: isinstance(v, (str, Mapping))), "a string or an object"),
    "response_format": (_optional(_is_dict), "an object"),
    "reasoning_effort": (_optional(_is_str), "a string"),
    "temperature": (_optional(_is_number), "a number"),
    "top_p": (_optional(_is_number), "a number"),
    "n": (_optional(_is_int), "an integer"),
    "stop": (_optional(lambda v: isinstance(v, (str, list))), "a string or a list"),
    "stream_options": (_optional(_is_dict), "an object"),
    "metadata": (_optional(_is_dict), "an object"),
    "user": (_optional(_is_str), "a string"),
}


def _fields(body: Mapping[str, Any], fields: Mapping[str, tuple[Check, str]]) -> str | None:
    for name, (check, expected) in fields.items():
        if name in body and not check(body[name]):
            return f"{name}: must be {expected}"
    for name in ("tools",):
        for index, tool in enumerate(body.get(name) or []):
            if not isinstance(tool, Mapping):
                return f"{name}.{index}: must be an object"
    return None


def _block_problem(block: Mapping[str, Any], where: str, anthropic: bool) -> str | None:
    """The required fields of the content blocks LiteLLM reads itself (it fails on these with a 500)."""
    kind = block["type"]
    if kind == "text" and not isinstance(block.get("text"), str):
        return f"{where}.text: must be a string"
    if not anthropic:
        return None
    if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
        return f"{where}.tool_use_id: required, a string"
    if kind in ("image", "document") and not isinstance(block.get("source"), Mapping):
        return f"{where}.source: required, an object"
    return None


def _messages(messages: Any, content_required: bool, anthropic: bool) -> str | None:
    if not isinstance(messages, list):
        return "messages: must be a list of message objects"
    if not messages:
        return "messages: at least one message is required"
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return f"messages.{index}: must be an object"
        if not isinstance(message.get("role"), str):
            return f"messages.{index}.role: must be a string"
        if content_required and "content" not in message:
            return f"messages.{index}.content: required"
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"messages.{index}.content: must be a string or a list of content blocks"
        for position, block in enumerate(content):
            where = f"messages.{index}.content.{position}"
            if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
                return f"{where}: must be an object with a string `type`"
            problem = _block_problem(block, where, anthropic)
            if problem:
                return problem
    return None


def _system(system: Any) -> str | None:
    """`system` as a list: text blocks only (Anthropic's rule; LiteLLM fails on others with a 500)."""
    if not isinstance(system, list):
        return None
    for index, block in enumerate(system):
        if not isinstance(block, Mapping) or block.get("type") != "text":
            return f'system.{index}: must be a text block ({{"type": "text", "text": "..."}})'
        if not isinstance(block.get("text"), str):
            return f"system.{index}.text: must be a string"
    return None


def _metadata(metadata: Any) -> str | None:
    user_id = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    if user_id is not None and not isinstance(user_id, str):
        return "metadata.user_id: must be a string"
    return None


def nesting_problem(body: Mapping[str, Any], limit: int = MAX_DEPTH) -> str | None:
    """The top-level field nested deeper than `limit` levels, if any (iterative: no recursion)."""
    for key, value in body.items():
        stack = [(value, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > limit:
                return f"{key}: nested deeper than {limit} levels"
            if isinstance(node, dict):
                stack.extend((child, depth + 1) for child in node.values() if isinstance(child, (dict, list)))
            elif isinstance(node, list):
                stack.extend((child, depth + 1) for child in node if isinstance(child, (dict, list)))
    return None


def _model(body: Mapping[str, Any]) -> str | None:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        return "model: required, a non-empty string"
    return None


def anthropic_messages_problem(body: Any, count_tokens: bool = False) -> str | None:
    if not isinstance(body, Mapping):
        return "the request body must be a JSON object"
    problem = _model(body)
    if problem:
        return problem
    if "messages" not in body:
        return "messages: required"
    if not count_tokens and "max_tokens" not in body:
        return "max_tokens: required"
    fields = (
        ANTHROPIC_FIELDS
        if not count_tokens
        else {k: v for k, v in ANTHROPIC_FIELDS.items() if k != "max_tokens"}
    )
    return (
        _fields(body, fields)
        or nesting_problem(body)
        or _metadata(body.get("metadata"))
        or _system(body.get("system"))
        or _messages(body.get("messages"), content_required=True, anthropic=True)
    )


def chat_completions_problem(body: Any) -> str | None:
    if not isinstance(body, Mapping):
        return "the request body must be a JSON object"
    problem = _model(body)
    if problem:
        return problem
    if "messages" not in body:
        return "messages: required"
    return (
        _fields(body, CHAT_FIELDS)
        or nesting_problem(body)
        or _messages(body.get("messages"), content_required=False, anthropic=False)
    )
