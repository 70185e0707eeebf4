"""Unit tests for litellm_plugins.routing.settings: parsing, fix-it messages, shadowed rules."""

from __future__ import annotations

import pytest

from litellm_plugins.core.settings import SettingsError, parse_settings
from litellm_plugins.routing.settings import (
    Conditions,
    parse_routing_settings,
    routing_problems,
    shadowing_rule,
)

GROUPS = frozenset({"glm-fast", "openrouter", "deepseek", "openai", "anthropic"})


def routing(*rules: dict) -> dict:
    return {"rules": list(rules)}


def test_every_condition_parses_and_is_normalized() -> None:
    settings, problems = routing_problems(
        routing(
            {
                "name": "all",
                "when": {
                    "model": "Claude-*HAIKU*",
                    "thinking": True,
                    "input_tokens_above": 60000,
                    "server_tool": ["web_search*"],
                    "images": False,
                    "subagent": True,
                    "client": "ci-*",
                    "header": {"X-Project": ["acme-*", "beta"]},
                },
                "to": "glm-fast",
            }
        )
    )
    assert problems == []
    [rule] = settings.rules
    assert rule.when == Conditions(
        model=("claude-*haiku*",),
        thinking=True,
        input_tokens_above=60000,
        server_tool=("web_search*",),
        images=False,
        subagent=True,
        client=("ci-*",),
        header=(("x-project", ("acme-*", "beta")),),
    )


def test_rules_are_named_by_position_by_default() -> None:
    settings, _ = routing_problems(
        routing({"to": "glm-fast"}, {"to": "deepseek", "when": {"thinking": True}})
    )
    assert [rule.name for rule in settings.rules] == ["rule 1", "rule 2"]
    assert settings.rules[0].when == Conditions()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"when": {"modle": "claude-*"}, "to": "glm-fast"},
            "unknown condition 'modle'; known: model, thinking",
        ),
        ({"when": {"thinking": "yes"}, "to": "deepseek"}, "when.thinking must be true or false"),
        ({"when": {"input_tokens_above": "60k"}, "to": "openrouter"}, "positive number of tokens"),
        ({"when": {"input_tokens_above": True}, "to": "openrouter"}, "positive number of tokens"),
        ({"when": {"model": 5}, "to": "glm-fast"}, "when.model must be a glob or a list of globs"),
        ({"when": {"header": "x-project"}, "to": "kimi"}, "when.header must map header names"),
        ({"when": {"images": True}}, ".to is required"),
        ({"when": ["images"], "to": "openai"}, "when must map condition keys"),
        ({"when": {}, "to": "openai", "target": "x"}, "unknown key 'target'"),
    ],
)
def test_a_bad_rule_is_named_with_how_to_fix_it(rule: dict, expected: str) -> None:
    _, problems = routing_problems(routing(rule))
    assert len(problems) == 1 and expected in problems[0]
    assert problems[0].startswith("litellm_plugins.routing.rules[0]")


def test_startup_refuses_unknown_targets_and_bad_rules_in_one_message() -> None:
    plugin_settings = parse_settings(
        {
            "routing": routing(
                {"when": {"model": "claude-*"}, "to": "glm-fsat"}, {"when": {"imgs": True}, "to": "openai"}
            )
        }
    )
    with pytest.raises(SettingsError) as raised:
        parse_routing_settings(plugin_settings, GROUPS)
    message = str(raised.value)
    assert "unknown condition 'imgs'" in message
    assert "'glm-fsat' is not a model group" in message and "did you mean 'glm-fast'?" in message
    assert "litellm-plugins check" in message


def test_unknown_routing_keys_are_refused() -> None:
    _, problems = routing_problems({"rules": [], "default": "glm"})
    assert problems == ["litellm_plugins.routing: unknown setting 'default'; known: rules"]


def test_a_rule_after_a_catch_all_or_a_subset_is_shadowed() -> None:
    settings, _ = routing_problems(
        routing(
            {"name": "thinking", "when": {"thinking": True}, "to": "deepseek"},
            {
                "name": "thinking-haiku",
                "when": {"thinking": True, "model": "claude-*haiku*"},
                "to": "glm-fast",
            },
            {"name": "no-thinking", "when": {"thinking": False}, "to": "glm-fast"},
            {"name": "all", "to": "anthropic"},
            {"name": "images", "when": {"images": True}, "to": "openai"},
        )
    )
    rules = settings.rules
    assert shadowing_rule(rules[1], rules[:1]) is rules[0]
    assert shadowing_rule(rules[2], rules[:2]) is None  # thinking: false is another value
    assert shadowing_rule(rules[4], rules[:4]) is rules[3]


def test_different_glob_values_do_not_shadow() -> None:
    settings, _ = routing_problems(
        routing(
            {"when": {"model": "claude-*haiku*"}, "to": "glm-fast"},
            {"when": {"model": "claude-*"}, "to": "x"},
        )
    )
    assert shadowing_rule(settings.rules[1], settings.rules[:1]) is None
