"""The value types of the `model_info` keys the bundle reads (pure).

    model_list:
      - model_name: deepseek
        litellm_params: {model: openai/deepseek-chat, api_base: ..., api_key: ...}
        model_info:
          max_output_tokens: 8192     # a positive integer (LiteLLM also reads it: "8k" makes
          supports_reasoning: false   #   every request to the group a 500)
          reasoning_input: drop       # drop | keep
          tool_schema: gemini         # openai | gemini | none
          tool_schema_drop_keys: []   # a list of JSON-schema key names
          max_input_tokens: 128000    # the window the routing rules check (a positive integer)
          supports_vision: false      # true | false (routing: images)
          supports_web_search: false  # true | false (routing: web-search server tools)

Used by `litellm-plugins check` and at proxy startup (:mod:`litellm_plugins.instances`), which
refuses a config with a wrong type instead of answering 500 to each request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from litellm_plugins.core.deployment import TOOL_SCHEMA_PROFILES
from litellm_plugins.core.settings import SettingsError

INTEGER_KEYS: Final = ("max_output_tokens", "max_tokens", "max_input_tokens")
BOOLEAN_KEYS: Final = ("supports_reasoning", "supports_vision", "supports_web_search")
CHOICES: Final = {"reasoning_input": ("drop", "keep"), "tool_schema": tuple(sorted(TOOL_SCHEMA_PROFILES))}


def value_problem(key: str, value: Any) -> str | None:
    """What is wrong with `model_info.<key>: value`, or None."""
    if value is None:
        return None
    if key in INTEGER_KEYS and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        return f"{key} must be a positive integer (a number of tokens, e.g. 8192), got {value!r}"
    if key in BOOLEAN_KEYS and not isinstance(value, bool):
        return f"{key} must be true or false, got {value!r}"
    if key in CHOICES and (not isinstance(value, str) or value.lower() not in CHOICES[key]):
        return f"{key} must be one of {', '.join(CHOICES[key])}, got {value!r}"
    if key == "tool_schema_drop_keys" and (
        not isinstance(value, list) or not all(isinstance(item, str) and item for item in value)
    ):
        return f"tool_schema_drop_keys must be a list of JSON-schema key names, got {value!r}"
    return None


def model_info_problems(model_list: Any) -> list[tuple[str, str]]:
    """(where, message) for each `model_info` value of the wrong type in `model_list`."""
    problems: list[tuple[str, str]] = []
    for index, deployment in enumerate(model_list if isinstance(model_list, list) else []):
        if not isinstance(deployment, Mapping):
            continue
        where = f"model_list[{index}] ({deployment.get('model_name')}).model_info"
        info = deployment.get("model_info")
        if info is None:
            continue
        if not isinstance(info, Mapping):
            problems.append((where, f"must be a mapping, got {type(info).__name__}"))
            continue
        for key, value in info.items():
            problem = value_problem(str(key), value)
            if problem:
                problems.append((where, problem))
    return problems


def validate_model_list(model_list: Any) -> None:
    """Raise SettingsError naming every wrong `model_info` value (at proxy startup)."""
    problems = model_info_problems(model_list)
    if problems:
        listed = "; ".join(f"{where}.{message}" for where, message in problems)
        raise SettingsError(
            f"config.yaml: {listed}. Fix the value (`litellm-plugins check` lists every problem)"
        )
