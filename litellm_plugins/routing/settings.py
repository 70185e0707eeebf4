"""Routing rules: `litellm_plugins.routing` in `config.yaml`, parsed and validated once (pure).

    litellm_plugins:
      routing:
        rules:                                  # ordered; the first that matches and can serve wins
          - name: background                    # optional: "rule 1", "rule 2", ... by default
            when: {model: "claude-*haiku*"}     # every condition must hold; no `when`: always
            to: glm-fast                        # a model group of model_list

Condition keys (:data:`CONDITION_KEYS`): `model` (glob(s) on the requested id), `thinking`,
`images`, `subagent` (true, or false for "absent"), `input_tokens_above` (a positive integer),
`server_tool` (glob(s) on a tool's `type`), `client` (glob(s) on the proxy token's name),
`header` (header name -> glob(s) on its value). Read by the request transformer
(:mod:`litellm_plugins.transformer.hook`), validated at startup and by `litellm-plugins check`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from litellm_plugins.core.settings import SECTION, PluginSettings, SettingsError

ROUTING_SECTION: Final = "routing"
ROUTING_KEYS: Final = frozenset({"rules"})
RULE_KEYS: Final = frozenset({"name", "when", "to"})
GLOB_KEYS: Final = ("model", "server_tool", "client")
BOOLEAN_KEYS: Final = ("thinking", "images", "subagent")
CONDITION_KEYS: Final = (
    "model",
    "thinking",
    "input_tokens_above",
    "server_tool",
    "images",
    "subagent",
    "client",
    "header",
)
WHERE: Final = f"{SECTION}.{ROUTING_SECTION}.rules"
EXAMPLE: Final = '{name: background, when: {model: "claude-*haiku*"}, to: glm-fast}'

Globs = tuple[str, ...]


@dataclass(frozen=True)
class Conditions:
    """One rule's `when`, normalized: globs lowercased into tuples, None for "not asked"."""

    model: Globs | None = None
    thinking: bool | None = None
    input_tokens_above: int | None = None
    server_tool: Globs | None = None
    images: bool | None = None
    subagent: bool | None = None
    client: Globs | None = None
    header: tuple[tuple[str, Globs], ...] = ()

    def items(self) -> dict[str, Any]:
        """The asked conditions as comparable (key, value) pairs; each header is its own key."""
        asked: dict[str, Any] = {
            key: getattr(self, key) for key in CONDITION_KEYS[:-1] if getattr(self, key) is not None
        }
        asked.update({f"header.{name}": globs for name, globs in self.header})
        return asked


@dataclass(frozen=True)
class Rule:
    name: str
    to: str
    when: Conditions
    index: int  # position in the list, for messages

    @property
    def where(self) -> str:
        return f"{WHERE}[{self.index}] ({self.name})"


@dataclass(frozen=True)
class RoutingSettings:
    rules: tuple[Rule, ...] = ()


def _globs(value: Any) -> Globs | None:
    if isinstance(value, str) and value:
        return (value.lower(),)
    if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
        return tuple(item.lower() for item in value)
    return None


def _condition(key: str, value: Any, problems: list[str], where: str) -> Any:
    """The normalized value of `when.<key>`, or None after adding a problem."""
    if key in GLOB_KEYS:
        globs = _globs(value)
        if globs is None:
            problems.append(
                f'{where}.when.{key} must be a glob or a list of globs (e.g. "claude-*haiku*"), got {value!r}'
            )
        return globs
    if key in BOOLEAN_KEYS:
        if not isinstance(value, bool):
            problems.append(f"{where}.when.{key} must be true or false (false means absent), got {value!r}")
            return None
        return value
    if key == "input_tokens_above":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(
                f"{where}.when.input_tokens_above must be a positive number of tokens (e.g. 60000), "
                f"got {value!r}"
            )
            return None
        return value
    # header: {name: glob(s)}
    if not isinstance(value, Mapping) or not value:
        problems.append(
            f'{where}.when.header must map header names to globs, e.g. {{x-project: "acme-*"}}, got {value!r}'
        )
        return None
    headers = []
    for name, globs_raw in value.items():
        globs = _globs(globs_raw)
        if not isinstance(name, str) or not name or globs is None:
            problems.append(
                f"{where}.when.header.{name}: must be a glob or a list of globs on the header's value, "
                f"got {globs_raw!r}"
            )
            continue
        headers.append((name.lower(), globs))
    return tuple(headers)


def _rule(index: int, raw: Any, problems: list[str]) -> Rule | None:
    where = f"{WHERE}[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a mapping like {EXAMPLE}, got {raw!r}")
        return None
    unknown = sorted(str(key) for key in raw if key not in RULE_KEYS)
    if unknown:
        problems.append(f"{where}: unknown key {unknown[0]!r}; a rule has name, when and to")
    name = raw.get("name", f"rule {index + 1}")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}.name must be a non-empty string, got {name!r}")
        name = f"rule {index + 1}"
    where = f"{where} ({name})"
    target = raw.get("to")
    if not isinstance(target, str) or not target:
        problems.append(f"{where}.to is required: the model group that serves the match, e.g. {EXAMPLE}")
    when_raw = raw.get("when") or {}
    if not isinstance(when_raw, Mapping):
        problems.append(f"{where}.when must map condition keys to values, got {when_raw!r}")
        when_raw = {}
    values: dict[str, Any] = {}
    before = len(problems)
    for key, value in when_raw.items():
        if key not in CONDITION_KEYS:
            problems.append(f"{where}.when: unknown condition {key!r}; known: {', '.join(CONDITION_KEYS)}")
            continue
        values[str(key)] = _condition(str(key), value, problems, where)
    if len(problems) > before or not isinstance(target, str) or not target:
        return None
    header = values.pop("header", None) or ()
    return Rule(name=name, to=target, when=Conditions(**values, header=header), index=index)


def routing_problems(section: Any) -> tuple[RoutingSettings, list[str]]:
    """The rules that parse, and a message for each problem (where, what, how to fix)."""
    problems: list[str] = []
    if section is None:
        return RoutingSettings(), problems
    if not isinstance(section, Mapping):
        return RoutingSettings(), [f"{SECTION}.{ROUTING_SECTION} must be a mapping with `rules:`"]
    for key in sorted(str(k) for k in section if k not in ROUTING_KEYS):
        problems.append(f"{SECTION}.{ROUTING_SECTION}: unknown setting {key!r}; known: rules")
    raw_rules = section.get("rules") or []
    if not isinstance(raw_rules, list):
        problems.append(f"{WHERE} must be a list of rules like [{EXAMPLE}]")
        raw_rules = []
    rules = [rule for index, raw in enumerate(raw_rules) if (rule := _rule(index, raw, problems))]
    return RoutingSettings(rules=tuple(rules)), problems


def target_problems(rules: Sequence[Rule], groups: Collection[str]) -> list[str]:
    """A message for each rule whose target is not a model group."""
    problems = []
    for rule in (rule for rule in rules if rule.to not in groups):
        close = difflib.get_close_matches(rule.to, sorted(groups), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "name a group, or remove the rule"
        problems.append(
            f"{rule.where}.to: {rule.to!r} is not a model group (model_list names: "
            f"{', '.join(sorted(groups)) or 'none'}); {hint}"
        )
    return problems


def shadowing_rule(rule: Rule, earlier: Sequence[Rule]) -> Rule | None:
    """An earlier rule that matches every request `rule` matches (no `when`, or a subset of its
    conditions with equal values), so `rule` is only reached when that one's group cannot serve."""
    asked = rule.when.items()
    for candidate in earlier:
        theirs = candidate.when.items()
        if all(key in asked and asked[key] == value for key, value in theirs.items()):
            return candidate
    return None


def parse_routing_settings(
    plugin_settings: PluginSettings, groups: Collection[str] | None = None
) -> RoutingSettings:
    """The validated rules; raises SettingsError naming every problem. `groups`: the config's model
    groups, to refuse a target that does not exist (None: not checked)."""
    settings, problems = routing_problems(plugin_settings.raw.get(ROUTING_SECTION))
    if groups is not None:
        problems += target_problems(settings.rules, groups)
    if problems:
        raise SettingsError(
            "; ".join(problems)
            + ". Fix the rule in config.yaml (`litellm-plugins check` lists every problem)"
        )
    return settings
