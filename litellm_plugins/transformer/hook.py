"""The request transformer: Claude Code's real requests, made acceptable to each deployment.

Hooks:
- `async_pre_call_hook` (once per client request): maps Claude model ids onto model groups with
  the glob patterns in `litellm_plugins.model_aliases`, so fallbacks declared on groups fire.
- `async_pre_call_deployment_hook` (once per attempt, after LiteLLM chose a deployment): applies
  :mod:`litellm_plugins.transformer.request_rules` for that deployment's `model_info`, and records what it
  changed in the request's logging metadata (`litellm_plugins_transformer`) and in the log.

Settings: `litellm_plugins.model_aliases` in config.yaml; per deployment `model_info` keys
(`max_output_tokens`, `supports_reasoning`, `reasoning_input`, `tool_schema`,
`tool_schema_drop_keys`). Wire it with:

    litellm_settings:
      use_chat_completions_url_for_anthropic_messages: true
      callbacks: ["litellm_plugins.hooks.request_transformer"]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from fnmatch import fnmatchcase
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger

from litellm_plugins.core.call_types import ANTHROPIC_CALL_TYPES, OPENAI_CALL_TYPES, call_type_name
from litellm_plugins.core.deployment import profile_from_kwargs
from litellm_plugins.core.metadata_keys import REQUESTED_MODEL, TRANSFORMER_CHANGES
from litellm_plugins.core.request_metadata import request_metadata
from litellm_plugins.core.settings import NotStartedError, PluginSettings
from litellm_plugins.transformer.model_aliases import resolve_model_group
from litellm_plugins.transformer.request_rules import transform_anthropic_request, transform_openai_request

logger = logging.getLogger(__name__)

METADATA_KEY: Final = TRANSFORMER_CHANGES
LOG_ALIAS: Final = "transformer: model %r -> group %r (pattern alias)"
LOG_CHANGES: Final = "transformer: deployment %s: %s"


def proxy_model_groups() -> Collection[str]:
    """The model group names the running proxy's router knows."""
    try:
        from litellm.proxy import proxy_server
    except ImportError:
        return ()
    router = getattr(proxy_server, "llm_router", None)
    return frozenset(getattr(router, "model_names", ()) or ())


def wildcard_model(deployment_model: Any, requested: Any) -> str | None:
    """`anthropic/*` (or `anthropic/claude-*`) serving an aliased request for `claude-sonnet-4-5`
    becomes `anthropic/claude-sonnet-4-5`, so a named group (which fallbacks can name) still
    sends the model id the client asked for. None when there is nothing to substitute."""
    if not isinstance(deployment_model, str) or "*" not in deployment_model or not isinstance(requested, str):
        return None
    provider, slash, pattern = deployment_model.rpartition("/")
    if not fnmatchcase(requested.lower(), pattern.lower()):
        return None
    return f"{provider}{slash}{requested}"


def record_changes(request: Mapping[str, Any], deployment: str, changes: list[str]) -> None:
    """Append this attempt's changes to the request's own metadata dict (one per request)."""
    metadata = request_metadata(request)
    if metadata is not None:
        metadata.setdefault(METADATA_KEY, []).append({"deployment": deployment, "changes": list(changes)})
    logger.info(LOG_CHANGES, deployment, "; ".join(changes))


class RequestTransformer(CustomLogger):
    def __init__(
        self,
        settings: PluginSettings | None = None,
        group_names: Callable[[], Collection[str]] = proxy_model_groups,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._group_names = group_names

    def configure(self, plugin_settings: PluginSettings) -> None:
        """Take the validated settings (`model_aliases`) at proxy startup, once."""
        if self._settings is None:
            self._settings = plugin_settings

    @property
    def settings(self) -> PluginSettings:
        if self._settings is None:
            raise NotStartedError("the request transformer")
        return self._settings

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any, **kwargs: Any
    ) -> dict:
        requested = data.get("model")
        if isinstance(requested, str) and self.settings.model_aliases:
            group = resolve_model_group(requested, self.settings.model_aliases, self._group_names())
            if group is not None:
                data["model"] = group
                metadata = request_metadata(data)
                if metadata is not None:
                    metadata[REQUESTED_MODEL] = requested
                logger.info(LOG_ALIAS, requested, group)
        return data

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any, **extra: Any
    ) -> dict | None:
        name = call_type_name(call_type)
        if name in ANTHROPIC_CALL_TYPES:
            transform = transform_anthropic_request
        elif name in OPENAI_CALL_TYPES:
            transform = transform_openai_request
        else:
            return None
        metadata = request_metadata(kwargs) or {}
        concrete = wildcard_model(kwargs.get("model"), metadata.get(REQUESTED_MODEL))
        if concrete is not None:
            kwargs = {**kwargs, "model": concrete}
        profile = profile_from_kwargs(kwargs)
        transformed, changes = transform(kwargs, profile)
        if concrete is not None:
            changes.insert(0, f"model {concrete} (requested id into the deployment's wildcard)")
        if not changes:
            return None
        record_changes(transformed, profile.model, changes)
        return transformed
