"""What the transformer needs to know about the deployment LiteLLM chose for one attempt.

Read from the deployment's `model_info` in `config.yaml` (LiteLLM passes it to
`async_pre_call_deployment_hook` as `kwargs["model_info"]`):

    model_info:
      max_output_tokens: 8192     # clamp max_tokens (and a thinking budget) to this
      supports_reasoning: false   # map `thinking` to `reasoning_effort` only when true
      reasoning_input: drop       # drop | keep: earlier reasoning sent back to this model
      tool_schema: gemini         # openai (default) | gemini | none
      tool_schema_drop_keys: []   # extra JSON-schema keys this endpoint rejects
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

ANTHROPIC_HOSTS = frozenset({"api.anthropic.com"})
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

    @property
    def is_anthropic_api(self) -> bool:
        """Anthropic's own API: the only place a Claude credential may be sent."""
        if self.provider != "anthropic":
            return False
        if not self.api_base:
            return True
        return (urlparse(self.api_base).hostname or "") in ANTHROPIC_HOSTS


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


def profile_from_kwargs(kwargs: Mapping[str, Any]) -> DeploymentProfile:
    """Build the profile from the kwargs LiteLLM hands the deployment hook."""
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
        max_output_tokens=_positive_int(model_info.get("max_output_tokens") or model_info.get("max_tokens")),
        # Anthropic-speaking targets handle `thinking` themselves; for the others only an
        # explicit declaration turns it into reasoning_effort.
        supports_reasoning=_bool(model_info.get("supports_reasoning"), speaks_anthropic),
        reasoning_input=str(model_info.get("reasoning_input") or ("keep" if speaks_anthropic else "drop")).lower(),
        tool_schema=tool_schema,
        tool_schema_drop_keys=frozenset(str(k) for k in drop_keys),
    )
