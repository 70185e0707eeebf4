"""The request transformer: Claude Code's real requests, made acceptable to each deployment.

Hooks:
- `async_pre_call_hook` (once per client request): on `/v1/messages` and chat completions, the
  routing rules (`litellm_plugins.routing`, :mod:`litellm_plugins.routing.rules`) choose the
  group first, recorded as `litellm_plugins_route` in the request's metadata; with no rule
  matching, Claude model ids map onto model groups with the glob patterns in
  `litellm_plugins.model_aliases`, so fallbacks declared on groups fire. A request that no group
  can serve (an image for a group without vision, a web-search server tool, a prompt beyond the
  window: :mod:`litellm_plugins.routing.capabilities`) is refused with a 400 that names the group
  and the setting, before any provider is called.
- `async_pre_call_deployment_hook` (once per attempt, after LiteLLM chose a deployment): clamps
  `max_tokens` so the input estimate plus it fit the deployment's declared
  `model_info.max_input_tokens`, applies :mod:`litellm_plugins.transformer.request_rules` for that
  deployment's `model_info`, and records what it changed in the request's logging metadata
  (`litellm_plugins_transformer`) and in the log.

Settings: `litellm_plugins.routing` and `litellm_plugins.model_aliases` in config.yaml; per
deployment `model_info` keys (`max_output_tokens`, `max_input_tokens`, `supports_vision`,
`supports_web_search`, `supports_reasoning`, `reasoning_input`, `tool_schema`,
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
from litellm_plugins.core.claude_credential import install_log_filter, mark_explained
from litellm_plugins.core.deployment import anthropic_api_check, litellm_model_map, profile_from_kwargs
from litellm_plugins.core.metadata_keys import (
    INPUT_TOKENS_ESTIMATE,
    MODEL_GROUP,
    PROXY_TOKEN_NAME,
    REQUESTED_MODEL,
    ROUTE,
    TRANSFORMER_CHANGES,
)
from litellm_plugins.core.request_metadata import request_metadata
from litellm_plugins.core.settings import NotStartedError, PluginSettings
from litellm_plugins.routing.capabilities import (
    ModelMap,
    Refusal,
    refusal_for,
    window_room,
)
from litellm_plugins.routing.request_facts import RequestFacts, TokenCounter
from litellm_plugins.routing.rules import Route, choose_route, refusal_message
from litellm_plugins.routing.settings import RoutingSettings, parse_routing_settings
from litellm_plugins.transformer.count_tokens import local_estimate, resolve_group, router_id_decoder
from litellm_plugins.transformer.model_aliases import resolve_model_group
from litellm_plugins.transformer.request_rules import transform_anthropic_request, transform_openai_request

logger = logging.getLogger(__name__)

METADATA_KEY: Final = TRANSFORMER_CHANGES
LOG_ALIAS: Final = "transformer: model %r -> group %r (pattern alias)"
LOG_CHANGES: Final = "transformer: deployment %s: %s"
LOG_ROUTE: Final = "routing: model %r -> group %r (rule %r)"
LOG_REFUSED: Final = "routing: model %r refused before any provider: %s"
ROUTED_CALL_TYPES: Final = ANTHROPIC_CALL_TYPES | OPENAI_CALL_TYPES


def proxy_model_groups() -> Collection[str]:
    """The model group names the running proxy's router knows."""
    try:
        from litellm.proxy import proxy_server
    except ImportError:
        return ()
    router = getattr(proxy_server, "llm_router", None)
    return frozenset(getattr(router, "model_names", ()) or ())


def proxy_group_deployments(group: str) -> list[Mapping[str, Any]]:
    """The running proxy's deployments of `group` (each with its `litellm_params` and `model_info`)."""
    try:
        from litellm.proxy import proxy_server
    except ImportError:
        return []
    router = getattr(proxy_server, "llm_router", None)
    if router is None:
        return []
    return list(router.get_model_list(model_name=group) or [])


def request_headers(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The client's headers as LiteLLM recorded them for this request."""
    request = data.get("proxy_server_request")
    headers = request.get("headers") if isinstance(request, Mapping) else None
    if isinstance(headers, Mapping):
        return headers
    metadata = request_metadata(data) or {}
    return metadata.get("headers") if isinstance(metadata.get("headers"), Mapping) else {}


def client_name(user_api_key_dict: Any) -> str | None:
    """The proxy token's name the bundle's auth recorded (None for other auth)."""
    auth_metadata = getattr(user_api_key_dict, "metadata", None)
    name = auth_metadata.get(PROXY_TOKEN_NAME) if isinstance(auth_metadata, Mapping) else None
    return name if isinstance(name, str) else None


def refusal_error(refusals: tuple[Refusal, ...]) -> Exception:
    """A 400 in the client's protocol (the protocol errors layer shapes it on /v1/messages)."""
    from litellm.proxy._types import ProxyException

    error = ProxyException(
        message=refusal_message(refusals), type="invalid_request_error", param="model", code=400
    )
    install_log_filter()
    mark_explained(error)
    return error


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
        group_deployments: Callable[[str], list[Mapping[str, Any]]] = proxy_group_deployments,
        token_counter: TokenCounter = local_estimate,
        model_map: ModelMap = litellm_model_map,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._group_names = group_names
        self._group_deployments = group_deployments
        self._token_counter = token_counter
        self._model_map = model_map
        self._routing: RoutingSettings | None = None
        self._decode_router_id = router_id_decoder()
        self._is_anthropic_api: Callable[[str | None], bool] | None = None

    def configure(self, plugin_settings: PluginSettings, groups: Collection[str] | None = None) -> None:
        """Take the validated settings (`model_aliases`, `routing`) at proxy startup, once;
        `groups`: the config's model groups, which rule targets must name (raises SettingsError)."""
        if self._settings is None:
            self._settings = plugin_settings
        self._routing = parse_routing_settings(self._settings, groups)
        self._is_anthropic_api = anthropic_api_check(self._settings)

    @property
    def routing(self) -> RoutingSettings:
        if self._routing is None:
            self._routing = parse_routing_settings(self.settings)
        return self._routing

    @property
    def is_anthropic_api(self) -> Callable[[str | None], bool]:
        if self._is_anthropic_api is None:
            self._is_anthropic_api = anthropic_api_check(self.settings)
        return self._is_anthropic_api

    @property
    def settings(self) -> PluginSettings:
        if self._settings is None:
            raise NotStartedError("the request transformer")
        return self._settings

    def facts(
        self, data: Mapping[str, Any], headers: Mapping[str, Any], user_api_key_dict: Any, openai: bool
    ) -> RequestFacts:
        metadata = request_metadata(data) or {}
        known = metadata.get(INPUT_TOKENS_ESTIMATE)
        return RequestFacts(
            data,
            openai_format=openai,
            headers=headers,
            client=client_name(user_api_key_dict),
            counter=self._token_counter,
            known_estimate=known if isinstance(known, int) and not isinstance(known, bool) else None,
        )

    async def route(self, requested: str, facts: RequestFacts) -> Route:
        """The rules' choice for a request for `requested`, capabilities checked (pure but for
        the proxy's group list and the counter)."""
        groups = self._group_names()
        # Where the request goes without rules: an exact group, LiteLLM's picker id, an alias.
        default = resolve_group(requested, list(groups), self.settings.model_aliases, self._decode_router_id)
        facts.count_model = default or requested

        async def can_serve(group: str) -> Refusal | None:
            deployments = self._group_deployments(group)
            return await refusal_for(group, deployments, facts, self._model_map, self.is_anthropic_api)

        return await choose_route(self.routing.rules, facts, default, can_serve)

    async def count_route(
        self, body: Mapping[str, Any], headers: Mapping[str, str], user_api_key_dict: Any
    ) -> str | None:
        """The group a rule chooses for a count_tokens request (None: resolve as without rules)."""
        requested = body.get("model")
        if not isinstance(requested, str) or not self.routing.rules:
            return None
        route = await self.route(requested, self.facts(body, headers, user_api_key_dict, openai=False))
        return route.group if route.rule is not None else None

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any, **kwargs: Any
    ) -> dict:
        requested = data.get("model")
        if not isinstance(requested, str):
            return data
        metadata = request_metadata(data)
        if metadata is not None:  # a client's own metadata cannot pose as the bundle's
            metadata.pop(ROUTE, None)
            metadata.pop(INPUT_TOKENS_ESTIMATE, None)
        name = call_type_name(call_type)
        if name in ROUTED_CALL_TYPES:
            facts = self.facts(data, request_headers(data), user_api_key_dict, name in OPENAI_CALL_TYPES)
            route = await self.route(requested, facts)
            if metadata is not None and facts.estimate is not None:
                metadata[INPUT_TOKENS_ESTIMATE] = facts.estimate
            if route.refused:
                logger.warning(LOG_REFUSED, requested, refusal_message(route.refusals))
                raise refusal_error(route.refusals)
            if route.rule is not None and route.group is not None:
                data["model"] = route.group
                if metadata is not None:
                    metadata[ROUTE] = {
                        "rule": route.rule.name,
                        "group": route.group,
                        "requested_model": requested,
                    }
                    metadata[REQUESTED_MODEL] = requested
                logger.info(LOG_ROUTE, requested, route.group, route.rule.name)
                return data
        if self.settings.model_aliases:
            group = resolve_model_group(requested, self.settings.model_aliases, self._group_names())
            if group is not None:
                data["model"] = group
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
        window_changes: list[str] = []
        kwargs = await self._clamp_to_window(kwargs, name in OPENAI_CALL_TYPES, window_changes)
        profile = profile_from_kwargs(kwargs)
        transformed, changes = transform(kwargs, profile)
        changes[0:0] = window_changes
        if concrete is not None:
            changes.insert(0, f"model {concrete} (requested id into the deployment's wildcard)")
        if not changes:
            return None
        record_changes(transformed, profile.model, changes)
        return transformed

    async def _clamp_to_window(
        self, kwargs: dict[str, Any], openai: bool, changes: list[str]
    ) -> dict[str, Any]:
        """`max_tokens` lowered so the input estimate plus it fit the deployment's declared
        `model_info.max_input_tokens`; the estimate is the request's own, counted at most once."""
        info = kwargs.get("model_info")
        window = info.get("max_input_tokens") if isinstance(info, Mapping) else None
        if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
            return kwargs
        keys = [key for key in ("max_tokens", "max_completion_tokens") if isinstance(kwargs.get(key), int)]
        if not keys:
            return kwargs
        facts = self.facts(kwargs, request_headers(kwargs), None, openai)
        metadata = request_metadata(kwargs)
        group = (metadata or {}).get(MODEL_GROUP)
        facts.count_model = group if isinstance(group, str) else None
        if not await facts.input_tokens_above(window - max(kwargs[key] for key in keys)):
            return kwargs
        if metadata is not None and facts.estimate is not None:
            metadata[INPUT_TOKENS_ESTIMATE] = facts.estimate
        out = dict(kwargs)
        for key in keys:
            room = window_room(out[key], facts.estimate, window)
            if room is not None:
                changes.append(
                    f"{key} {out[key]}->{room} (input ~{facts.estimate} tokens + {key} within "
                    f"model_info.max_input_tokens {window})"
                )
                out[key] = room
        return out
