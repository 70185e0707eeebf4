"""Unit tests for litellm_plugins.routing.rules and request_facts, on recorded Claude Code requests."""

from __future__ import annotations

import asyncio

import pytest

from litellm_plugins.routing.capabilities import Refusal
from litellm_plugins.routing.request_facts import RequestFacts
from litellm_plugins.routing.rules import choose_route, refusal_message, rule_matches
from litellm_plugins.routing.settings import Rule, routing_problems
from tests.unit.routing.fixtures import KINDS, FakeCounter, facts_for, recorded

# claude-code-router's slots, in the order the README recommends.
SLOT_RULES = [
    {"name": "subagents", "when": {"subagent": True}, "to": "kimi"},
    {"name": "web-search", "when": {"server_tool": "web_search*"}, "to": "anthropic"},
    {"name": "images", "when": {"images": True}, "to": "openai"},
    {"name": "long-context", "when": {"input_tokens_above": 60000}, "to": "openrouter"},
    {"name": "background", "when": {"model": "claude-*haiku*"}, "to": "glm-fast"},
    {"name": "think", "when": {"thinking": True}, "to": "deepseek"},
]


def rules_of(*raw: dict) -> tuple[Rule, ...]:
    settings, problems = routing_problems({"rules": list(raw)})
    assert problems == []
    return settings.rules


async def serves_all(group: str) -> Refusal | None:
    return None


def chosen(
    facts: RequestFacts, rules: tuple[Rule, ...], default: str | None = "anthropic", can_serve=serves_all
):
    return asyncio.run(choose_route(rules, facts, default, can_serve))


def matches(when: dict, facts: RequestFacts) -> bool:
    [rule] = rules_of({"when": when, "to": "x"})
    return asyncio.run(rule_matches(rule, facts))


@pytest.mark.parametrize(
    ("kind", "slot"),
    [
        ("haiku", "background"),
        ("thinking", "think"),
        ("image", "images"),
        ("web_search", "web-search"),
        ("subagent", "subagents"),
    ],
)
def test_each_recorded_claude_code_call_lands_on_its_slot(kind: str, slot: str) -> None:
    route = chosen(facts_for(kind), rules_of(*SLOT_RULES))
    assert route.rule is not None and route.rule.name == slot


def test_the_facts_of_each_recorded_call() -> None:
    facts = {kind: facts_for(kind) for kind in KINDS}
    assert [kind for kind in KINDS if facts[kind].thinking] == ["thinking", "image", "subagent"]
    assert [kind for kind in KINDS if facts[kind].images] == ["image"]  # in a tool_result
    assert [kind for kind in KINDS if facts[kind].subagent] == ["subagent"]
    assert facts["web_search"].server_tools == ("web_search_20250305",)
    assert all(not facts[kind].server_tools for kind in KINDS if kind != "web_search")


def test_model_globs_are_case_insensitive_and_lists_are_any_of() -> None:
    facts = facts_for("haiku")
    assert matches({"model": "CLAUDE-*Haiku*"}, facts)
    assert matches({"model": ["claude-opus*", "claude-haiku-4-5*"]}, facts)
    assert not matches({"model": "claude-sonnet*"}, facts)


def test_false_means_absent() -> None:
    assert matches({"thinking": False}, facts_for("haiku"))
    assert not matches({"thinking": False}, facts_for("thinking"))
    assert matches({"images": False, "subagent": False}, facts_for("thinking"))
    assert not matches({"subagent": False}, facts_for("subagent"))


def test_client_and_header_conditions() -> None:
    facts = facts_for("thinking", client="ci-nightly")
    assert matches({"client": "ci-*"}, facts)
    assert not matches({"client": "ci-*"}, facts_for("thinking", client="alice"))
    assert not matches({"client": "ci-*"}, facts_for("thinking", client=None))
    assert matches({"header": {"X-App": "cli"}}, facts)  # header names are case-insensitive
    assert not matches({"header": {"x-project": "acme-*"}}, facts)


def test_all_conditions_of_a_rule_must_hold() -> None:
    facts = facts_for("subagent")
    assert matches({"subagent": True, "thinking": True}, facts)
    assert not matches({"subagent": True, "model": "claude-*haiku*"}, facts)


def test_first_matching_rule_wins_and_no_rule_leaves_the_default() -> None:
    rules = rules_of(
        {"name": "a", "when": {"thinking": True}, "to": "deepseek"},
        {"name": "b", "when": {"subagent": True}, "to": "kimi"},
    )
    assert chosen(facts_for("subagent"), rules).rule.name == "a"
    route = chosen(facts_for("haiku"), rules)
    assert route.rule is None and route.group == "anthropic"


def test_a_rule_without_when_matches_everything() -> None:
    route = chosen(facts_for("haiku"), rules_of({"to": "glm"}))
    assert route.group == "glm" and route.rule.name == "rule 1"


def test_input_tokens_above_counts_once_per_request() -> None:
    counter = FakeCounter(tokens=90_000)
    body = recorded("thinking")["body"]
    long_turn = {"role": "user", "content": [{"type": "text", "text": "word " * 60_000}]}
    facts = facts_for("thinking", counter, messages=[*body["messages"], long_turn])
    assert facts.size_bound > 100_000  # too long for the cheap bound to decide
    rules = rules_of(
        {"when": {"input_tokens_above": 100_000}, "to": "gemini"},
        {"when": {"input_tokens_above": 60_000}, "to": "openrouter"},
    )
    assert chosen(facts, rules).group == "openrouter"
    assert asyncio.run(facts.input_tokens()) == 90_000
    assert len(counter.calls) == 1 and counter.calls[0][1] == "anthropic"


def test_a_small_request_is_never_counted() -> None:
    counter = FakeCounter(tokens=10**9)  # would match, if it were asked
    facts = facts_for("haiku", counter)
    assert facts.size_bound < 60_000
    assert chosen(facts, rules_of({"when": {"input_tokens_above": 60000}, "to": "openrouter"})).rule is None
    assert counter.calls == []


def test_the_bound_is_the_clients_content_length_unless_compressed() -> None:
    def facts(headers: dict[str, str]) -> RequestFacts:
        return RequestFacts(
            {"messages": [{"role": "user", "content": "x" * 5000}]},
            openai_format=False,
            headers=headers,
            client=None,
            counter=FakeCounter(),
        )

    assert facts({"Content-Length": "700"}).size_bound == 700 + 2048
    assert facts({"content-length": "700", "content-encoding": "gzip"}).size_bound > 5000
    assert facts({}).size_bound > 5000


def test_an_uncountable_request_is_not_above_any_threshold() -> None:
    facts = facts_for("thinking", FakeCounter(tokens=None))
    assert not matches({"input_tokens_above": 10}, facts)


def test_a_rule_whose_group_cannot_serve_is_passed_over() -> None:
    async def no_vision_on_deepseek(group: str) -> Refusal | None:
        return Refusal(group, "images", f"{group} reads no images") if group == "deepseek" else None

    rules = rules_of(
        {"name": "think", "when": {"thinking": True}, "to": "deepseek"},
        {"name": "images", "when": {"images": True}, "to": "openai"},
    )
    route = chosen(facts_for("image"), rules, can_serve=no_vision_on_deepseek)
    assert route.rule.name == "images" and route.group == "openai"
    assert [r.group for r in route.refusals] == ["deepseek"]


def test_no_group_can_serve_refuses_and_the_overlong_prompt_is_named_first() -> None:
    async def none_can(group: str) -> Refusal | None:
        need = "input_tokens" if group == "anthropic" else "images"
        return Refusal(
            group, need, f"prompt is too long ({group})" if need == "input_tokens" else f"{group}: images"
        )

    route = chosen(
        facts_for("image"), rules_of({"when": {"images": True}, "to": "deepseek"}), can_serve=none_can
    )
    assert route.refused and route.group is None
    assert refusal_message(route.refusals) == "prompt is too long (anthropic); deepseek: images"


def test_an_unknown_model_is_left_to_litellm() -> None:
    async def refuse(group: str) -> Refusal | None:
        return Refusal(group, "images", "no")

    route = chosen(facts_for("image"), rules_of({"when": {"images": True}, "to": "deepseek"}), None, refuse)
    assert not route.refused and route.group is None


def test_openai_requests_have_facts_too() -> None:
    body = {
        "model": "gpt-4.1",
        "reasoning_effort": "high",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}],
            }
        ],
        "web_search_options": {},
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    facts = RequestFacts(body, openai_format=True, headers={}, client=None, counter=FakeCounter())
    assert facts.thinking and facts.images and facts.server_tools == ("web_search",)
    assert not RequestFacts(
        {"reasoning_effort": "none"}, openai_format=True, headers={}, client=None, counter=FakeCounter()
    ).thinking


def test_the_recorded_fixtures_are_real_claude_code_requests() -> None:
    for kind in KINDS:
        request = recorded(kind)
        assert request["headers"]["user-agent"].startswith("claude-cli/")
        assert not any(k.lower() in ("authorization", "x-api-key") for k in request["headers"])
