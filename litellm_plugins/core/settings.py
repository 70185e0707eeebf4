"""Plugin settings: the `litellm_plugins:` section of the proxy's `config.yaml`, read once.

LiteLLM ignores top-level keys it does not know, so the bundle keeps its own settings next to
`model_list` in the same file:

    litellm_plugins:
      model_aliases:            # glob on the requested model id -> model group; first match wins
        "claude-*haiku*": fast
        "claude-*": default

The file is found, in order, from `LITELLM_PLUGINS_CONFIG`, the config path the proxy loaded
(LiteLLM records it while it loads callbacks), or `CONFIG_FILE_PATH`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

SECTION = "litellm_plugins"
# Every key the bundle reads in its section (`litellm-plugins check` refuses others: a typo such as
# `model_alias` would otherwise be ignored). Add a new setting here.
KNOWN_KEYS = frozenset(
    {
        "model_aliases",
        "routing",
        "anthropic_api_bases",
        "pools",
        "thinking",
        "garbage_collection",
        "third_party_anthropic_betas",
    }
)
POOL_KEYS = frozenset({"tokens", "strategy", "model_groups"})


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class NotStartedError(RuntimeError):
    """A plugin was used before :func:`litellm_plugins.startup.start` configured it."""

    def __init__(self, plugin: str) -> None:
        super().__init__(
            f"{plugin} is not configured: litellm_plugins.startup.start() configures every plugin when the "
            "proxy loads config.yaml; point litellm_settings.callbacks at litellm_plugins.hooks.<name>, "
            "or pass the settings to the plugin's constructor"
        )


@dataclass(frozen=True)
class PluginSettings:
    model_aliases: tuple[tuple[str, str], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name) or {}
        if not isinstance(value, Mapping):
            raise SettingsError(
                f"{SECTION}.{name} in config.yaml must be a mapping, got {type(value).__name__}"
            )
        return value

    def checked_section(self, name: str, known: frozenset[str]) -> Mapping[str, Any]:
        """`section(name)`, refusing keys outside `known` (a typo would otherwise be ignored)."""
        value = self.section(name)
        unknown = sorted(set(value) - known)
        if unknown:
            raise SettingsError(
                f"{SECTION}.{name}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        return value


def parse_settings(section: Mapping[str, Any] | None) -> PluginSettings:
    section = section or {}
    if not isinstance(section, Mapping):
        raise SettingsError(f"`{SECTION}:` in config.yaml must be a mapping of settings")
    aliases_raw = section.get("model_aliases") or {}
    aliases: list[tuple[str, str]] = []
    if isinstance(aliases_raw, Mapping):
        items = list(aliases_raw.items())
    elif isinstance(aliases_raw, list):
        items = []
        for entry in aliases_raw:
            if not isinstance(entry, Mapping) or "pattern" not in entry or "group" not in entry:
                raise SettingsError(
                    f"{SECTION}.model_aliases entries must look like "
                    "{pattern: 'claude-*haiku*', group: fast}"
                )
            items.append((entry["pattern"], entry["group"]))
    else:
        raise SettingsError(f"{SECTION}.model_aliases must map glob patterns to model group names")
    for pattern, group in items:
        if not isinstance(pattern, str) or not isinstance(group, str) or not pattern or not group:
            raise SettingsError(
                f"{SECTION}.model_aliases: {pattern!r}: {group!r} must both be non-empty strings"
            )
        aliases.append((pattern, group))
    return PluginSettings(model_aliases=tuple(aliases), raw=dict(section))


def config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    explicit = environ.get("LITELLM_PLUGINS_CONFIG")
    if explicit:
        return Path(explicit)
    try:
        from litellm.proxy import proxy_server

        loaded = getattr(proxy_server, "user_config_file_path", None)
    except ImportError:  # running outside the proxy (CLI, unit tests)
        loaded = None
    if loaded:
        return Path(loaded)
    fallback = environ.get("CONFIG_FILE_PATH")
    return Path(fallback) if fallback else None


def load_document(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Mapping[str, Any]:
    """The whole config.yaml the proxy loaded ({} when there is none)."""
    path = path or config_path(environ)
    if path is None or not path.is_file():
        logger.info("litellm_plugins: no config.yaml found; plugin defaults in force")
        return {}
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if not isinstance(document, Mapping):
        raise SettingsError(f"{path} is not a YAML mapping")
    return document


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> PluginSettings:
    return parse_settings(load_document(path, environ).get(SECTION))
