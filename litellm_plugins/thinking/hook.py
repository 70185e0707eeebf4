"""The thinking stripper: conversations that move between providers keep working.

Hooks:
- `async_pre_call_deployment_hook` (once per attempt, after LiteLLM chose a deployment): applies
  :mod:`litellm_plugins.thinking.rules` for that deployment (Anthropic's API keeps only the blocks
  Anthropic signed and turns thinking off when a tool loop's final turn lost its thinking; other
  targets get reasoning only when `model_info.reasoning_input: keep`), logs how many blocks were
  dropped and why, and remembers which group and deployment served the request.
- `async_post_call_success_hook` (non-streaming), and the stream layer for streams
  (:mod:`litellm_plugins.streams.layer`, given :meth:`ThinkingStripper.stream_plan`): for groups
  in `strip_response_groups`, remove thinking blocks (`/v1/messages`) or `reasoning_content` /
  reasoning blocks (`/v1/chat/completions`); for deployments that are not Anthropic's API, mark
  signed thinking blocks as foreign so they never go back to Anthropic. Anthropic SSE is
  rewritten frame by frame (:mod:`litellm_plugins.thinking.stream`); the deployment hook leaves
  the serving attempt's state in the request's stream context for the layer.

What happened is recorded in the request's logging metadata (`litellm_plugins_thinking`).
Settings: :mod:`litellm_plugins.thinking.settings`. Wire it with:

    litellm_settings:
      callbacks: ["litellm_plugins.hooks.request_transformer", "litellm_plugins.hooks.thinking_stripper"]
    litellm_plugins:
      thinking:
        strip_response_groups: [openrouter]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger

from litellm_plugins.core.call_types import ANTHROPIC_CALL_TYPES, OPENAI_CALL_TYPES, call_type_name
from litellm_plugins.core.deployment import DeploymentProfile, anthropic_api_check, profile_from_kwargs
from litellm_plugins.core.metadata_keys import MODEL_GROUP, THINKING_STATE
from litellm_plugins.core.reasoning import drop_reasoning_from_openai_messages
from litellm_plugins.core.request_metadata import request_metadata
from litellm_plugins.core.settings import NotStartedError, PluginSettings
from litellm_plugins.streams import context as stream_context
from litellm_plugins.thinking.response import (
    mark_anthropic_message,
    mark_openai_response,
    strip_anthropic_message,
    strip_openai_response,
)
from litellm_plugins.thinking.rules import (
    TARGET_REJECTS,
    ThinkingReport,
    for_anthropic_api,
    for_other_target,
    openai_for_anthropic_api,
    openai_unwrap_foreign,
)
from litellm_plugins.thinking.settings import ThinkingSettings, parse_thinking_settings

logger = logging.getLogger(__name__)

METADATA_KEY: Final = THINKING_STATE
LOG_REQUEST: Final = "thinking: request to %s (%s): %s"
LOG_RESPONSE: Final = "thinking: response from %s (group %s): %s"


def _target_label(profile: DeploymentProfile, anthropic_api: bool) -> str:
    if anthropic_api:
        return "Anthropic's API"
    kind = "Anthropic-compatible" if profile.speaks_anthropic else "OpenAI-compatible"
    return f"{kind}, reasoning_input {profile.reasoning_input}"


def rules_for_attempt(
    call_type: str, request: Mapping[str, Any], profile: DeploymentProfile, anthropic_api: bool
) -> tuple[dict[str, Any], ThinkingReport]:
    """The thinking rules for one attempt: which function applies to this call and target."""
    keep = profile.reasoning_input == "keep"
    if call_type in ANTHROPIC_CALL_TYPES:
        return for_anthropic_api(request) if anthropic_api else for_other_target(request, keep)
    if anthropic_api:
        return openai_for_anthropic_api(request)
    if keep:
        return openai_unwrap_foreign(request)
    out = dict(request)
    report = ThinkingReport()
    messages, dropped = drop_reasoning_from_openai_messages(request.get("messages"))
    if dropped:
        out["messages"] = messages
        report.dropped[TARGET_REJECTS] += dropped
    return out, report


class ThinkingStripper(CustomLogger):
    def __init__(
        self,
        settings: ThinkingSettings | None = None,
        is_anthropic_api: Callable[[str | None], bool] | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._is_anthropic_api = is_anthropic_api

    def configure(self, plugin_settings: PluginSettings) -> None:
        """Read and validate settings, once (at proxy startup; raises SettingsError with a fix)."""
        if self._settings is None:
            self._settings = parse_thinking_settings(plugin_settings)
        if self._is_anthropic_api is None:
            self._is_anthropic_api = anthropic_api_check(plugin_settings)

    @property
    def settings(self) -> ThinkingSettings:
        if self._settings is None:
            raise NotStartedError("the thinking stripper")
        return self._settings

    def is_anthropic_api(self, api_base: str | None) -> bool:
        if self._is_anthropic_api is None:
            raise NotStartedError("the thinking stripper")
        return self._is_anthropic_api(api_base)

    # -- requests ------------------------------------------------------------------------------
    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any, **extra: Any
    ) -> dict | None:
        name = call_type_name(call_type)
        if name not in ANTHROPIC_CALL_TYPES and name not in OPENAI_CALL_TYPES:
            return None
        profile = profile_from_kwargs(kwargs)
        anthropic_api = profile.speaks_anthropic and self.is_anthropic_api(profile.api_base)
        state = self._remember_serving(kwargs, profile, anthropic_api)
        context = stream_context.current()
        if context is not None and state is not None:
            context.thinking = state  # the stream layer's plan for this attempt's reply
        out, report = rules_for_attempt(name, kwargs, profile, anthropic_api)
        if not report.changed:
            return None
        if state is not None:
            state["requests"].append({"deployment": profile.model, **report.as_metadata()})
        logger.info(LOG_REQUEST, profile.model, _target_label(profile, anthropic_api), report.summary())
        return out

    @staticmethod
    def _remember_serving(
        kwargs: Mapping[str, Any], profile: DeploymentProfile, anthropic_api: bool
    ) -> dict[str, Any] | None:
        """Which deployment this attempt goes to; the last attempt is the one that answers."""
        metadata = request_metadata(kwargs)
        if metadata is None:
            return None
        state = metadata.setdefault(METADATA_KEY, {"requests": []})
        state.update(group=metadata.get(MODEL_GROUP), deployment=profile.model, anthropic_api=anthropic_api)
        return state

    # -- responses -----------------------------------------------------------------------------
    def stream_plan(self, state: Any) -> tuple[bool, bool] | None:
        """(strip, mark) for the deployment that served a request (its state), or None to pass."""
        if not isinstance(state, dict) or "anthropic_api" not in state:
            return None
        strip = self.settings.strips(state.get("group"))
        mark = self.settings.mark_foreign_signatures and not state["anthropic_api"]
        return (strip, mark) if strip or mark else None

    def _response_plan(self, request_data: Mapping[str, Any]) -> tuple[bool, bool, dict[str, Any]] | None:
        """(strip, mark, state) for the deployment that served this request, or None to pass."""
        metadata = request_metadata(request_data)
        state = metadata.get(METADATA_KEY) if metadata is not None else None
        plan = self.stream_plan(state)
        return None if plan is None else (*plan, state)

    async def async_post_call_success_hook(
        self, data: dict, user_api_key_dict: Any, response: Any, **kwargs: Any
    ) -> Any:
        plan = self._response_plan(data)
        if plan is None:
            return None
        strip, _, state = plan
        if isinstance(response, Mapping) and response.get("type") == "message":
            new, count = strip_anthropic_message(response) if strip else mark_anthropic_message(response)
        elif hasattr(response, "choices"):
            new, count = strip_openai_response(response) if strip else mark_openai_response(response)
        else:
            return None
        if not count:
            return None
        self.record_response(
            state, f"{count} thinking block(s) removed" if strip else f"{count} foreign signature(s) marked"
        )
        return new

    @staticmethod
    def record_response(state: dict[str, Any], what: str) -> None:
        state["response"] = what
        logger.info(LOG_RESPONSE, state.get("deployment"), state.get("group"), what)
