"""What a model group can serve: images, a web-search server tool, a prompt of a given length (pure).

A group can serve a request unless every one of its deployments is known not to:
- images: `model_info.supports_vision: false`, or undeclared and LiteLLM's model map knows the
  model and says false;
- a `web_search*` server tool: `model_info.supports_web_search` declared false; undeclared, a
  deployment on Anthropic's own API serves it, any other only when LiteLLM's map says it does;
- the input: the estimate is above `model_info.max_input_tokens` (declared, or LiteLLM's map for a
  model it knows; declared only on Anthropic's own API, which refuses an overlong prompt itself,
  and when the client sent a `context-1m` beta). A deployment with no known window can serve any
  length.

    model_list:
      - model_name: deepseek
        litellm_params: {model: anthropic/deepseek-chat, api_base: ..., api_key: ...}
        model_info: {supports_vision: false, supports_web_search: false, max_input_tokens: 128000}

The refusal names the group and the setting to change; an overlong prompt's refusal starts with
Anthropic's own wording (`prompt is too long: N tokens > M maximum`), which Claude Code recognises
and answers by compacting the conversation. :func:`window_room` is the per-deployment `max_tokens`
clamp (estimate + max_tokens within a declared `max_input_tokens`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Final

from litellm_plugins.core.deployment import provider_of
from litellm_plugins.routing.request_facts import RequestFacts

logger = logging.getLogger(__name__)

WEB_SEARCH_TOOL: Final = "web_search*"
RULES_SETTING: Final = "litellm_plugins.routing.rules"

# (model without wildcard, provider) -> LiteLLM's model map entry, or None when it does not know it.
ModelMap = Callable[[str, str | None], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Refusal:
    """Why `group` cannot serve the request, and what to change."""

    group: str
    need: str  # "images" | "web_search" | "input_tokens"
    message: str


def _params(deployment: Mapping[str, Any]) -> Mapping[str, Any]:
    params = deployment.get("litellm_params")
    return params if isinstance(params, Mapping) else {}


def _info(deployment: Mapping[str, Any]) -> Mapping[str, Any]:
    info = deployment.get("model_info")
    return info if isinstance(info, Mapping) else {}


def _map_entry(deployment: Mapping[str, Any], requested: str | None, model_map: ModelMap) -> Any:
    params = _params(deployment)
    model = str(params.get("model") or "")
    provider = provider_of(model, params.get("custom_llm_provider"))
    _, _, name = model.partition("/") if "/" in model else ("", "", model)
    if "*" in name:  # `anthropic/*` serves the id the client asked for
        if not requested or not fnmatchcase(requested.lower(), name.lower()):
            return None
        name = requested
    return model_map(name, provider) if name else None


def on_anthropic_api(deployment: Mapping[str, Any], is_anthropic_api: Callable[[str | None], bool]) -> bool:
    params = _params(deployment)
    model = str(params.get("model") or "")
    api_base = params.get("api_base") if isinstance(params.get("api_base"), str) else None
    return provider_of(model, params.get("custom_llm_provider")) == "anthropic" and is_anthropic_api(api_base)


def serves_images(deployment: Mapping[str, Any], requested: str | None, model_map: ModelMap) -> bool:
    declared = _info(deployment).get("supports_vision")
    if isinstance(declared, bool):
        return declared
    entry = _map_entry(deployment, requested, model_map)
    return not (entry is not None and entry.get("supports_vision") is False)


def serves_web_search(
    deployment: Mapping[str, Any],
    requested: str | None,
    model_map: ModelMap,
    is_anthropic_api: Callable[[str | None], bool],
) -> bool:
    declared = _info(deployment).get("supports_web_search")
    if isinstance(declared, bool):
        return declared
    if on_anthropic_api(deployment, is_anthropic_api):
        return True
    entry = _map_entry(deployment, requested, model_map)
    return entry is not None and entry.get("supports_web_search") is True


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def input_window(
    deployment: Mapping[str, Any], requested: str | None, model_map: ModelMap, declared_only: bool = False
) -> int | None:
    """The deployment's `max_input_tokens`: declared, else LiteLLM's map (unless `declared_only`);
    None when unknown."""
    declared = _positive(_info(deployment).get("max_input_tokens"))
    if declared is not None or declared_only:
        return declared
    entry = _map_entry(deployment, requested, model_map)
    return _positive(entry.get("max_input_tokens")) if entry is not None else None


def group_window(
    deployments: Sequence[Mapping[str, Any]],
    requested: str | None,
    model_map: ModelMap,
    declared_only: Callable[[Mapping[str, Any]], bool] = lambda deployment: False,
) -> int | None:
    """The largest window among the group's deployments; None if any one's is unknown."""
    windows = [input_window(d, requested, model_map, declared_only(d)) for d in deployments]
    if not windows or any(window is None for window in windows):
        return None
    return max(window for window in windows if window is not None)


def images_message(group: str) -> str:
    return (
        f"model group {group!r} cannot read images (its deployments declare model_info.supports_vision: "
        f"false, or LiteLLM's model map says so), so the image was not sent. Route images to a vision "
        f"group with a rule `when: {{images: true}}` in {RULES_SETTING}, or set "
        f"model_info.supports_vision: true on {group!r} if its model reads images"
    )


def web_search_message(group: str, tool: str) -> str:
    return (
        f"model group {group!r} has no web search server tool ({tool!r}): its deployments are not on "
        f"Anthropic's API and neither model_info.supports_web_search nor LiteLLM's model map says they "
        f'serve it. Route it with a rule `when: {{server_tool: "web_search*"}}` to a group on '
        f"Anthropic's API in {RULES_SETTING}, or set model_info.supports_web_search: true on {group!r}"
    )


def too_long_message(group: str, tokens: int, window: int) -> str:
    # Anthropic's own wording first: Claude Code matches it and compacts the conversation.
    return (
        f"prompt is too long: {tokens} tokens > {window} maximum (model group {group!r}, "
        f"model_info.max_input_tokens or LiteLLM's model map). Route long prompts to a group with a "
        f"larger window with a rule `when: {{input_tokens_above: ...}}` in {RULES_SETTING}, or raise "
        f"model_info.max_input_tokens on {group!r} if the model takes more"
    )


async def refusal_for(
    group: str,
    deployments: Sequence[Mapping[str, Any]],
    facts: RequestFacts,
    model_map: ModelMap,
    is_anthropic_api: Callable[[str | None], bool],
) -> Refusal | None:
    """Why `group` (its `deployments`) cannot serve the request, or None when it can (or no
    deployment is listed: LiteLLM then answers as it does for any unknown model)."""
    if not deployments:
        return None
    requested = facts.model
    if facts.images and not any(serves_images(d, requested, model_map) for d in deployments):
        return Refusal(group, "images", images_message(group))
    searches = [tool for tool in facts.server_tools if fnmatchcase(tool, WEB_SEARCH_TOOL)]
    if searches and not any(
        serves_web_search(d, requested, model_map, is_anthropic_api) for d in deployments
    ):
        return Refusal(group, "web_search", web_search_message(group, searches[0]))

    # Declared windows only for Anthropic's own API (it refuses an overlong prompt itself, in the
    # same words, and knows its 1M-token betas) and when a `context-1m` beta widens the window
    # beyond LiteLLM's map: no estimate is spent, or wrongly trusted, there.
    def declared_only(deployment: Mapping[str, Any]) -> bool:
        return facts.wider_window_beta or on_anthropic_api(deployment, is_anthropic_api)

    window = group_window(deployments, requested, model_map, declared_only)
    if window is not None and await facts.input_tokens_above(window):
        tokens = facts.estimate or window + 1
        return Refusal(group, "input_tokens", too_long_message(group, tokens, window))
    return None


def window_room(max_tokens: Any, estimate: int | None, window: int | None) -> int | None:
    """The `max_tokens` that keeps estimate + max_tokens within `window`, when it must change;
    None to leave it (nothing known, it fits, or no room is left at all: the provider refuses)."""
    if estimate is None or window is None or isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        return None
    room = window - estimate
    if room < 1 or max_tokens <= room:
        return None
    return room
