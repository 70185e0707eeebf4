"""The thinking stripper's settings: `litellm_plugins.thinking` in `config.yaml`, read once.

    litellm_plugins:
      anthropic_api_bases: []            # shared with the rotator: where Anthropic's own API is
      thinking:
        strip_response_groups:           # model groups (globs) whose responses lose their
          - openrouter                   #   thinking / reasoning before the client sees them
          - "deepseek*"
        mark_foreign_signatures: true    # default; false only if a client rejects the marker

A group is matched against the group that served the response (after fallbacks), so a fallback
onto a stripped group is stripped and a fallback away from one is not. Which deployments count as
Anthropic's own API comes from `anthropic_api_bases`, the same list the rotator uses
(:func:`litellm_plugins.core.deployment.is_anthropic_api`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Final

from litellm_plugins.core.settings import SECTION, PluginSettings, SettingsError

THINKING_SECTION: Final = "thinking"
KNOWN_KEYS: Final = frozenset({"strip_response_groups", "mark_foreign_signatures"})


@dataclass(frozen=True)
class ThinkingSettings:
    strip_response_groups: tuple[str, ...] = ()
    mark_foreign_signatures: bool = True

    def strips(self, group: str | None) -> bool:
        return bool(group) and any(fnmatchcase(str(group), pattern) for pattern in self.strip_response_groups)


def parse_thinking_settings(plugin_settings: PluginSettings) -> ThinkingSettings:
    section = plugin_settings.checked_section(THINKING_SECTION, KNOWN_KEYS)
    where = f"{SECTION}.{THINKING_SECTION}"
    groups = section.get("strip_response_groups") or []
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list) or not all(isinstance(group, str) and group for group in groups):
        raise SettingsError(
            f"{where}.strip_response_groups must be a list of model group names, e.g. [openrouter]"
        )
    mark = section.get("mark_foreign_signatures", True)
    if not isinstance(mark, bool):
        raise SettingsError(f"{where}.mark_foreign_signatures must be true or false, got {mark!r}")
    return ThinkingSettings(strip_response_groups=tuple(groups), mark_foreign_signatures=mark)
