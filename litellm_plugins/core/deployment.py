"""What the plugins need to know about the deployment LiteLLM chose for one attempt.

Read from the deployment's `model_info` in `config.yaml` (LiteLLM passes it to
`async_pre_call_deployment_hook` as `kwargs["model_info"]`):

    model_info:
      max_output_tokens: 8192     # clamp max_tokens (and a thinking budget) to this; undeclared,
                                  #   LiteLLM's model map's limit for a model it knows
      supports_reasoning: false   # map `thinking` to `reasoning_effort` only when true
      reasoning_input: drop       # drop | keep: earlier reasoning sent back to this model
      tool_schema: gemini         # openai (default) | gemini | none
      tool_schema_drop_keys: []   # extra JSON-schema keys this endpoint rejects

Whether a deployment is Anthropic's own API (the only place a Claude credential, pooled or the
client's own, may go, and the only target of signed thinking) is :func:`is_anthropic_api`, with
the hosts of `litellm_plugins.anthropic_api_bases`:

    litellm_plugins:
      anthropic_api_bases: ["https://claude-gateway.corp:8443"]   # api.anthropic.com is always in
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Final
from urllib.parse import urlparse

from litellm_plugins.core.settings import SECTION, PluginSettings, SettingsError

DEFAULT_ANTHROPIC_HOSTS: Final = ("api.anthropic.com",)
TOOL_SCHEMA_PROFILES = frozenset({"openai", "gemini", "none"})


@dataclass(frozen=True)
class DeploymentProfile:
    model: str
    provider: str
    api_base: str | None
    max_output_tokens: int | None
    supports_reasoning: bool
    reasoning_input: str
    tool_schema: str
    tool_schema_drop_keys: frozenset[str]

    @property
    def speaks_anthropic(self) -> bool:
        """The deployment takes Anthropic Messages natively (Anthropic, GLM, Kimi endpoints)."""
        return self.provider == "anthropic"


def is_anthropic_api(api_base: str | None, hosts: Collection[str] = DEFAULT_ANTHROPIC_HOSTS) -> bool:
    """An `anthropic/` deployment's `api_base` is Anthropic's own API (`hosts`: `host` or `host:port`).

    The provider is the caller's check (:attr:`DeploymentProfile.speaks_anthropic`).
    """
    if not api_base:
        return True  # LiteLLM's default base for the anthropic provider is Anthropic's own
    parsed = urlparse(api_base)
    host = (parsed.hostname or "").lower()
    port = f":{parsed.port}" if parsed.port else ""
    return host in hosts or f"{host}{port}" in hosts


def parse_anthropic_hosts(plugin_settings: PluginSettings) -> frozenset[str]:
    """Anthropic's host plus those of `litellm_plugins.anthropic_api_bases` (raises SettingsError)."""
    hosts_raw = plugin_settings.raw.get("anthropic_api_bases") or []
    if not isinstance(hosts_raw, list):
        raise SettingsError(f"{SECTION}.anthropic_api_bases must be a list of URLs")
    hosts = set(DEFAULT_ANTHROPIC_HOSTS)
    for base in hosts_raw:
        parsed = urlparse(str(base))
        if not parsed.hostname:
            raise SettingsError(f"{SECTION}.anthropic_api_bases: {base!r} is not a URL")
        hosts.add(f"{parsed.hostname.lower()}{f':{parsed.port}' if parsed.port else ''}")
    return frozenset(hosts)


def anthropic_api_check(plugin_settings: PluginSettings) -> Callable[[str | None], bool]:
    """`is_anthropic_api(api_base)` bound to the config's `anthropic_api_bases`."""
    return partial(is_anthropic_api, hosts=parse_anthropic_hosts(plugin_settings))


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def provider_of(model: str, custom_llm_provider: str | None) -> str:
    if custom_llm_provider:
        return custom_llm_provider
    return model.split("/", 1)[0] if "/" in model else "openai"


@lru_cache(maxsize=512)
def litellm_model_map(model: str, provider: str | None = None) -> Mapping[str, Any] | None:
    """LiteLLM's model map entry for `model` (cached: the map does not change while the proxy
    runs), or None for a model it does not know."""
    try:
        import litellm

        return dict(litellm.get_model_info(model=model, custom_llm_provider=provider))
    except Exception:  # noqa: BLE001 - LiteLLM raises several types for a model it does not know
        return None


def litellm_max_output_tokens(model: str) -> int | None:
    """The output limit LiteLLM's model map knows for `model` (`anthropic/claude-sonnet-4-5`: 64000),
    or None for a model it does not know. Claude Code asks for what its own model accepts (128000
    for some ids), which a fallback to another model answers with a 400."""
    info = litellm_model_map(model)
    return _positive_int(info.get("max_output_tokens")) if info is not None else None


def profile_from_kwargs(
    kwargs: Mapping[str, Any],
    known_max_output_tokens: Callable[[str], int | None] = litellm_max_output_tokens,
) -> DeploymentProfile:
    """Build the profile from the kwargs LiteLLM hands the deployment hook; a limit the deployment does
    not declare comes from `known_max_output_tokens` (LiteLLM's model map)."""
    model_info = kwargs.get("model_info") or {}
    if not isinstance(model_info, Mapping):
        model_info = {}
    model = str(kwargs.get("model") or "")
    provider = provider_of(model, kwargs.get("custom_llm_provider"))
    speaks_anthropic = provider == "anthropic"
    tool_schema = str(model_info.get("tool_schema") or ("none" if speaks_anthropic else "openai")).lower()
    if tool_schema not in TOOL_SCHEMA_PROFILES:
        tool_schema = "openai"
    drop_keys = model_info.get("tool_schema_drop_keys") or ()
    if isinstance(drop_keys, str):  # one key, or "a, b": not a sequence of one-letter keys
        drop_keys = [key.strip() for key in drop_keys.split(",") if key.strip()]
    return DeploymentProfile(
        model=model,
        provider=provider,
        api_base=kwargs.get("api_base"),
        max_output_tokens=_positive_int(model_info.get("max_output_tokens") or model_info.get("max_tokens"))
        or (known_max_output_tokens(model) if model and "*" not in model else None),
        # Anthropic-speaking targets handle `thinking` themselves; for the others only an
        # explicit declaration turns it into reasoning_effort.
        supports_reasoning=_bool(model_info.get("supports_reasoning"), speaks_anthropic),
        reasoning_input=str(
            model_info.get("reasoning_input") or ("keep" if speaks_anthropic else "drop")
        ).lower(),
        tool_schema=tool_schema,
        tool_schema_drop_keys=frozenset(str(k) for k in drop_keys),
    )
