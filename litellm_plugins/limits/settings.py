"""Limits per client: the `litellm_plugins.clients` section of config.yaml, parsed and validated once.

    litellm_plugins:
      clients:
        alice:                       # a name from PROXY_STATIC_TOKENS / PROXY_STATIC_TOKEN ("default")
          requests_per_minute: 60
          tokens_per_day: 2000000    # input + output + cache tokens as the provider reported them (UTC day)
          max_concurrent: 4
          model_groups: [anthropic, "glm*"]   # globs on the group that serves, fallbacks included
        "*":                         # optional defaults for every client not listed
          requests_per_minute: 600

Every limit is optional; a client listed by name gets its own entry only (the `"*"` entry is for
the clients not listed, not merged into listed ones). A wrong type stops the proxy with a message
that says how to fix it; a name that is no configured proxy token is a warning (its limits would
never apply), reported by `litellm-plugins check` and logged at startup.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Final

from litellm_plugins.core.settings import SECTION, PluginSettings, SettingsError

CLIENTS_SECTION: Final = "clients"
DEFAULT_ENTRY: Final = "*"
NUMBER_KEYS: Final = ("requests_per_minute", "tokens_per_day", "max_concurrent")
CLIENT_KEYS: Final = frozenset({*NUMBER_KEYS, "model_groups"})
EXAMPLE: Final = "for example `alice: {requests_per_minute: 60, model_groups: [anthropic]}`"


@dataclass(frozen=True)
class ClientLimits:
    """One client's limits; None (or an empty `model_groups`) means no limit of that kind."""

    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    max_concurrent: int | None = None
    model_groups: tuple[str, ...] | None = None

    def allows_group(self, group: str) -> bool:
        """Whether `group` matches one of the `model_groups` globs (every group when there are none)."""
        if self.model_groups is None:
            return True
        return any(fnmatchcase(group, pattern) for pattern in self.model_groups)


@dataclass(frozen=True)
class LimitSettings:
    clients: Mapping[str, ClientLimits]
    default: ClientLimits | None = None

    def __bool__(self) -> bool:
        return bool(self.clients) or self.default is not None

    def for_client(self, name: str) -> ClientLimits | None:
        return self.clients.get(name, self.default)

    def unknown_names(self, known: Collection[str]) -> list[str]:
        """Listed names that are not among `known` (the proxy tokens): their limits never apply."""
        return sorted(name for name in self.clients if name not in known)


def _positive_int(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(
            f"{where} must be a whole number of at least 1, got {value!r}: write it without quotes or "
            "units (`requests_per_minute: 60`), or remove the line for no limit"
        )
    return value


def _groups(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(
            f"{where} must be a list of model group names or globs, got {value!r}: for example "
            '`model_groups: [anthropic, "glm*"]` (remove the line to allow every group)'
        )
    return tuple(value)


def parse_client(name: str, raw: Any) -> ClientLimits:
    where = f"{SECTION}.{CLIENTS_SECTION}.{name}"
    if not isinstance(raw, Mapping):
        raise SettingsError(f"{where} must be a mapping of limits, {EXAMPLE}")
    unknown = sorted(str(key) for key in raw if key not in CLIENT_KEYS)
    if unknown:
        raise SettingsError(f"{where}: unknown limit {unknown[0]!r}; known: {', '.join(sorted(CLIENT_KEYS))}")
    numbers = {
        key: _positive_int(f"{where}.{key}", raw[key]) for key in NUMBER_KEYS if raw.get(key) is not None
    }
    groups = (
        _groups(f"{where}.model_groups", raw["model_groups"]) if raw.get("model_groups") is not None else None
    )
    return ClientLimits(model_groups=groups, **numbers)


def parse_limit_settings(plugin_settings: PluginSettings) -> LimitSettings:
    """The `clients` section; raises SettingsError naming the setting and the fix."""
    section = plugin_settings.section(CLIENTS_SECTION)
    clients: dict[str, ClientLimits] = {}
    default: ClientLimits | None = None
    for name, raw in section.items():
        if not isinstance(name, str) or not name:
            raise SettingsError(
                f"{SECTION}.{CLIENTS_SECTION}: {name!r} is not a client name: use the names of "
                'PROXY_STATIC_TOKENS (PROXY_STATIC_TOKEN is "default"), or "*" for every other client'
            )
        limits = parse_client(name, raw)
        if name == DEFAULT_ENTRY:
            default = limits
        else:
            clients[name] = limits
    return LimitSettings(clients=clients, default=default)
