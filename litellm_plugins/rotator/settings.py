"""The rotator's settings, read once from the environment and `config.yaml`.

Environment:

    CLAUDE_OAUTH_TOKENS=sk-ant-oat01-...,sk-ant-oat01-...   the built-in pool for Anthropic's API
    CLAUDE_TOKEN_MODE=rotate          rotate (server picks a pooled token) | passthrough (client's own)
    CLAUDE_POOL_STRATEGY=balanced     balanced | sequential
    CLAUDE_OAUTH_CREDENTIALS=/secrets/claude.json,...   self-refreshing entries (see oauth_settings.py)
    REDIS_URL=redis://127.0.0.1:6379  share cooldowns and stickiness between workers and replicas

config.yaml:

    litellm_plugins:
      anthropic_api_bases: ["https://api.anthropic.com"]   # where Claude credentials may go
      pools:                                               # named pools for other providers
        openrouter:
          tokens: os.environ/OPENROUTER_API_KEYS           # comma-separated keys
          strategy: sequential
          model_groups: [openrouter]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from litellm_plugins.core.deployment import DEFAULT_ANTHROPIC_HOSTS, is_anthropic_api, parse_anthropic_hosts
from litellm_plugins.core.settings import PluginSettings, SettingsError
from litellm_plugins.rotator.oauth_settings import OAuthRefreshSettings, parse_oauth_settings
from litellm_plugins.rotator.token_pool import STRATEGIES

CLAUDE_POOL: Final = "claude"
MODES: Final = frozenset({"rotate", "passthrough"})
TOKEN_SPLIT: Final = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class NamedPoolSettings:
    name: str
    tokens: tuple[str, ...]
    strategy: str
    model_groups: frozenset[str]


@dataclass(frozen=True)
class RotatorSettings:
    claude_tokens: tuple[str, ...] = ()
    mode: str = "passthrough"
    strategy: str = "balanced"
    redis_url: str | None = None
    anthropic_hosts: frozenset[str] = frozenset(DEFAULT_ANTHROPIC_HOSTS)
    named_pools: tuple[NamedPoolSettings, ...] = field(default_factory=tuple)
    oauth: OAuthRefreshSettings | None = None  # self-refreshing entries (rotator/oauth_settings.py)

    def is_anthropic_api(self, api_base: str | None) -> bool:
        return is_anthropic_api(api_base, self.anthropic_hosts)


def split_tokens(raw: str | None) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for token in TOKEN_SPLIT.split(raw or ""):
        if token:
            seen[token] = None
    return tuple(seen)


def _resolve(value: Any, environ: Mapping[str, str]) -> str:
    if isinstance(value, str) and value.startswith("os.environ/"):
        return environ.get(value.removeprefix("os.environ/"), "")
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value or "")


def parse_rotator_settings(
    plugin_settings: PluginSettings, environ: Mapping[str, str] | None = None
) -> RotatorSettings:
    from litellm_plugins.core.redis_url import redis_url_from

    environ = os.environ if environ is None else environ
    tokens = split_tokens(environ.get("CLAUDE_OAUTH_TOKENS"))
    for token in tokens:
        if not token.startswith("sk-ant-"):
            raise SettingsError(
                "CLAUDE_OAUTH_TOKENS must hold Claude credentials "
                "(sk-ant-oat01-... from `claude setup-token`, or sk-ant-api03-... keys), "
                "comma-separated; one entry is something else"
            )
    oauth = parse_oauth_settings(environ, redis_url_from(environ))
    pooled = bool(tokens) or oauth is not None
    mode = (environ.get("CLAUDE_TOKEN_MODE") or ("rotate" if pooled else "passthrough")).strip().lower()
    if mode not in MODES:
        raise SettingsError(f"CLAUDE_TOKEN_MODE must be rotate or passthrough, got {mode!r}")
    strategy = (environ.get("CLAUDE_POOL_STRATEGY") or "balanced").strip().lower()
    if strategy not in STRATEGIES:
        raise SettingsError(f"CLAUDE_POOL_STRATEGY must be balanced or sequential, got {strategy!r}")
    hosts = parse_anthropic_hosts(plugin_settings)
    named: list[NamedPoolSettings] = []
    pools_raw = plugin_settings.section("pools")
    for name, spec in pools_raw.items():
        if not isinstance(spec, Mapping):
            raise SettingsError(
                f"litellm_plugins.pools.{name} must be a mapping with tokens and model_groups"
            )
        groups = spec.get("model_groups") or []
        if not isinstance(groups, list) or not groups:
            raise SettingsError(
                f"litellm_plugins.pools.{name}.model_groups must list the groups this pool serves"
            )
        pool_strategy = str(spec.get("strategy") or "balanced").lower()
        if pool_strategy not in STRATEGIES:
            raise SettingsError(
                f"litellm_plugins.pools.{name}.strategy must be balanced or sequential, got {pool_strategy!r}"
            )
        named.append(
            NamedPoolSettings(
                name=str(name),
                tokens=split_tokens(_resolve(spec.get("tokens"), environ)),
                strategy=pool_strategy,
                model_groups=frozenset(str(group) for group in groups),
            )
        )
    return RotatorSettings(
        claude_tokens=tokens,
        mode=mode,
        strategy=strategy,
        redis_url=redis_url_from(environ),
        anthropic_hosts=hosts,
        named_pools=tuple(named),
        oauth=oauth,
    )
