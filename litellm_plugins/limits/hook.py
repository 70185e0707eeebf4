"""Client limits: the callback that checks model groups on every attempt and counts tokens per client.

Hooks:
- `async_pre_call_hook` (once per client request): notes the client (the proxy token's name from the
  auth result; the master key is never limited) in the request's metadata (`litellm_plugins_limits`)
  and refuses, with a 403 `permission_error` before routing, a requested group outside the
  client's `model_groups` (after `model_aliases`: list this callback after the request transformer).
- `async_pre_call_deployment_hook` (once per attempt, fallbacks included): refuses an attempt on a
  group outside `model_groups` before the provider is called, so no fallback spends a group the
  client was not given (the router then answers with the first attempt's error).
- `async_log_success_event` (once per request that succeeded, after the last chunk of a stream):
  adds the tokens the provider reported (LiteLLM's `standard_logging_object`: prompt tokens, cache
  reads and writes included, plus completion tokens) to the client's day, for `tokens_per_day`.

Requests per minute, concurrency and the daily budget are admitted by the ASGI layer of
:mod:`litellm_plugins.limits.admission`, which this plugin's :attr:`limiter` drives. Settings:
`litellm_plugins.clients` (:mod:`litellm_plugins.limits.settings`) and `REDIS_URL` (or
`REDIS_HOST`/`REDIS_PORT`/`REDIS_PASSWORD`) to share the counts between workers and replicas.

    litellm_settings:
      callbacks:
        - litellm_plugins.hooks.request_transformer
        - litellm_plugins.hooks.client_limits
        - litellm_plugins.hooks.token_rotator
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any, Final

import httpx
import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import LitellmUserRoles, ProxyException

from litellm_plugins.core.metadata_keys import MODEL_GROUP, PROXY_TOKEN_NAME
from litellm_plugins.core.redis_url import redis_url_from
from litellm_plugins.core.request_metadata import metadata_value, request_metadata
from litellm_plugins.core.settings import PluginSettings
from litellm_plugins.limits.limiter import Limiter, Refusal
from litellm_plugins.limits.metrics import RefusalCounter
from litellm_plugins.limits.settings import LimitSettings, parse_limit_settings
from litellm_plugins.limits.store import limit_store

logger = logging.getLogger(__name__)

STATE_KEY: Final = "litellm_plugins_limits"
LOG_UNKNOWN: Final = (
    "limits: litellm_plugins.clients names %s, which no proxy token has: these limits never apply "
    '(the names are those of PROXY_STATIC_TOKENS; PROXY_STATIC_TOKEN is "default")'
)
LOG_STARTUP: Final = "limits: %d client(s)%s limited, counts %s"


def client_of(user_api_key_dict: Any) -> str | None:
    """The proxy token's name from the auth result; None for the master key or an unnamed caller."""
    if getattr(user_api_key_dict, "user_role", None) == LitellmUserRoles.PROXY_ADMIN:
        return None
    metadata = getattr(user_api_key_dict, "metadata", None)
    name = metadata.get(PROXY_TOKEN_NAME) if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) and name else None


def reported_tokens(payload: Mapping[str, Any]) -> int:
    """Input (with cache reads and writes, as LiteLLM reports prompt tokens) + output tokens."""
    total = payload.get("total_tokens")
    if isinstance(total, int) and not isinstance(total, bool) and total > 0:
        return total
    parts = (payload.get("prompt_tokens"), payload.get("completion_tokens"))
    return sum(p for p in parts if isinstance(p, int) and not isinstance(p, bool) and p > 0)


def group_forbidden(refusal: Refusal) -> ProxyException:
    return ProxyException(
        message=refusal.message,
        type="permission_error",
        param="model",
        code=403,
        headers={"x-should-retry": "false"},
    )


def attempt_forbidden(refusal: Refusal, kwargs: Mapping[str, Any]) -> litellm.PermissionDeniedError:
    """Raised inside an attempt: LiteLLM's own 403 (not retried elsewhere, no deployment cooldown)."""
    response = httpx.Response(403, request=httpx.Request("POST", "https://litellm-plugins.invalid/limits"))
    return litellm.PermissionDeniedError(
        message=refusal.message,
        llm_provider=str(kwargs.get("custom_llm_provider") or ""),
        model=str(kwargs.get("model") or ""),
        response=response,
    )


class ClientLimits(CustomLogger):
    def __init__(self, limiter: Limiter | None = None) -> None:
        super().__init__()
        self.limiter = limiter

    def configure(
        self,
        plugin_settings: PluginSettings,
        environ: Mapping[str, str],
        known_clients: Collection[str],
    ) -> None:
        """Read and validate `litellm_plugins.clients`, once (raises SettingsError with a fix)."""
        if self.limiter is not None:
            return
        settings = parse_limit_settings(plugin_settings)
        unknown = settings.unknown_names(known_clients)
        if unknown:
            logger.warning(LOG_UNKNOWN, ", ".join(unknown))
        if not settings:
            return
        redis_url = redis_url_from(environ)
        self.limiter = Limiter(settings, limit_store(redis_url), RefusalCounter.default())
        logger.info(
            LOG_STARTUP,
            len(settings.clients),
            " and every other client" if settings.default is not None else "",
            "in redis" if redis_url else "in this process",
        )

    @property
    def settings(self) -> LimitSettings:
        return self.limiter.settings if self.limiter is not None else LimitSettings(clients={})

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any, **kwargs: Any
    ) -> dict:
        client = client_of(user_api_key_dict)
        if self.limiter is None or client is None:
            return data
        metadata = request_metadata(data)
        if metadata is not None:
            metadata[STATE_KEY] = {"client": client}
        group = data.get("model")
        refusal = self.limiter.group_refusal(client, group) if isinstance(group, str) else None
        if refusal is not None:
            raise group_forbidden(refusal)
        return data

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any, **extra: Any
    ) -> dict | None:
        state = metadata_value(kwargs, STATE_KEY, dict)
        group = metadata_value(kwargs, MODEL_GROUP, str)
        if self.limiter is None or state is None or group is None:
            return None
        refusal = self.limiter.group_refusal(str(state.get("client")), group)
        if refusal is not None:
            raise attempt_forbidden(refusal, kwargs)
        return None

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        if self.limiter is None or not isinstance(kwargs, Mapping):
            return
        payload = kwargs.get("standard_logging_object")
        params = kwargs.get("litellm_params")
        metadata = params.get("metadata") if isinstance(params, Mapping) else None
        state = metadata.get(STATE_KEY) if isinstance(metadata, Mapping) else None
        if state is None:
            state = metadata_value(kwargs, STATE_KEY, dict)
        if not isinstance(payload, Mapping) or not isinstance(state, Mapping):
            return
        await self.limiter.record_tokens(str(state.get("client")), reported_tokens(payload))
