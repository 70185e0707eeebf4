"""`litellm-plugins check`: each problem is found, with where it is and how to fix it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from litellm_plugins.cli.config_check import Problem, check_config
from tests.harness import REPO_ROOT

STRONG = "k" * 40
GOOD_ENV = {
    "LITELLM_MASTER_KEY": "sk-" + "m" * 40,
    "PROXY_STATIC_TOKEN": "t" * 40,
    **{
        name: "test-value"
        for name in (
            "ZAI_API_KEY",
            "KIMI_API_KEY",
            "DEEPSEEK_API_KEY",
            "OPENAI_API_KEY",
            "OPENROUTER_API_KEY",
        )
    },
    "OLLAMA_API_BASE": "http://127.0.0.1:11434/v1",
}


def example() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text())


def loads_fine(value: str, path: str) -> object:
    return object()


def run(config: Any, environ: dict[str, str] | None = None, load: Any = loads_fine) -> list[Problem]:
    return check_config(config, GOOD_ENV if environ is None else environ, "config.yaml", load)


def errors(problems: list[Problem]) -> list[str]:
    return [p.render() for p in problems if p.severity == "error"]


def test_the_example_with_every_key_set_has_no_problem() -> None:
    assert run(example()) == []


def test_a_missing_provider_key_turns_its_group_off_and_is_no_error() -> None:
    env = {k: v for k, v in GOOD_ENV.items() if k != "DEEPSEEK_API_KEY"}
    problems = run(example(), env)
    assert errors(problems) == []
    [problem] = [p.render() for p in problems]
    assert (
        problem.startswith("off: ")
        and "DEEPSEEK_API_KEY" in problem
        and "(deepseek)" in problem
        and "serve" in problem
    )


def test_check_passes_on_the_raw_and_the_effective_config_serve_starts_from() -> None:
    from litellm_plugins.cli import quickstart

    generated = {
        "LITELLM_MASTER_KEY": GOOD_ENV["LITELLM_MASTER_KEY"],
        "PROXY_STATIC_TOKEN": GOOD_ENV["PROXY_STATIC_TOKEN"],
    }
    for environ in (generated, {**generated, "ZAI_API_KEY": "k"}, {**generated, "OPENAI_API_KEY": "k"}):
        effective, notes = quickstart.live_config(example(), environ)
        assert run(effective, environ) == []
        raw = run(example(), environ)
        assert errors(raw) == [] and len(raw) == len(notes) and all(p.severity == "off" for p in raw)


@pytest.mark.parametrize(
    ("change", "where", "hint"),
    [
        (
            lambda c: c["litellm_plugins"].update(model_alias={"claude-*": "glm"}),
            "litellm_plugins.model_alias",
            "'model_aliases'",
        ),
        (
            lambda c: c["litellm_plugins"].update(thinkng={"strip_response_groups": ["glm"]}),
            "litellm_plugins.thinkng",
            "'thinking'",
        ),
        (
            lambda c: c["litellm_plugins"].update(
                pools={"keys": {"tokens": "a,b", "model_groups": ["glm"], "strategie": "sequential"}}
            ),
            "litellm_plugins.pools.keys.strategie",
            "'strategy'",
        ),
        (
            lambda c: c["router_settings"].update(fallback=[{"glm": ["deepseek"]}]),
            "router_settings.fallback",
            "'fallbacks'",
        ),
        (lambda c: c["router_settings"].update(num_retry=3), "router_settings.num_retry", "'num_retries'"),
    ],
)
def test_unknown_keys_in_the_bundle_and_router_sections_are_errors(
    change: Any, where: str, hint: str
) -> None:
    config = example()
    change(config)
    [problem] = errors(run(config))
    assert problem.startswith(f"error: {where}: unknown setting") and hint in problem


def test_router_keys_come_from_litellms_router() -> None:
    from litellm_plugins.cli.config_check import router_setting_names

    names = router_setting_names()
    assert {"fallbacks", "num_retries", "disable_cooldowns", "routing_strategy", "timeout"} <= names
    assert "fallback" not in names and "self" not in names


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_output_tokens", "8k"), ("max_output_tokens", -1), ("max_output_tokens", True),
     ("supports_reasoning", "yes"), ("reasoning_input", "maybe"), ("tool_schema", "strict"),
     ("tool_schema_drop_keys", "format"), ("supports_vision", "no"), ("supports_web_search", 1),
     ("max_input_tokens", "128k")],
)  # fmt: skip
def test_model_info_values_of_the_wrong_type(key: str, value: Any) -> None:
    config = example()
    config["model_list"][2]["model_info"][key] = value
    [problem] = errors(run(config))
    assert f"model_list[2] (glm).model_info: {key} must be" in problem and repr(value) in problem


def test_one_root_cause_is_reported_once() -> None:
    from litellm_plugins.auth.proxy_tokens import load_auth_settings
    from litellm_plugins.core.settings import SettingsError

    env = {**GOOD_ENV, "PROXY_STATIC_TOKEN": "weak"}

    def load_like_the_proxy(value: str, path: str) -> object:
        return load_auth_settings(env)  # every hook module builds the auth plugin: each load fails alike

    with pytest.raises(SettingsError):
        load_like_the_proxy("", "")
    found = errors(run(example(), env, load=load_like_the_proxy))
    assert len(found) == 1 and "PROXY_STATIC_TOKEN" in found[0], found


def test_fallbacks_naming_missing_groups() -> None:
    config = example()
    config["router_settings"]["fallbacks"].append({"nope": ["glm"]})
    config["router_settings"]["fallbacks"].append({"glm": ["missing-target"]})
    config["router_settings"]["fallbacks"].append({"claude-*": ["glm"]})
    found = errors(run(config))
    assert any("'nope'" in p for p in found)
    assert any("'missing-target'" in p for p in found)
    assert any("'claude-*'" in p and "model_aliases" in p for p in found)


def test_alias_patterns_that_match_nothing_and_targets_that_do_not_exist() -> None:
    config = example()
    config["litellm_plugins"]["model_aliases"] = {
        "claude-*haku*": "anthropic",
        "claude-*opus*": "no-such-group",
    }
    found = errors(run(config))
    assert any("claude-*haku*" in p and "matches none" in p for p in found)
    assert any("'no-such-group'" in p for p in found)


def test_plugins_that_fail_to_import() -> None:
    def broken(value: str, path: str) -> object:
        if value.endswith("token_rotator"):
            raise ImportError("No module named 'litellm_plugins.nope'")
        return object()

    [problem] = errors(run(example(), load=broken))
    assert "litellm_settings.callbacks" in problem and "token_rotator" in problem and "ImportError" in problem


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"LITELLM_MASTER_KEY": ""}, "LITELLM_MASTER_KEY: not set"),
        ({"LITELLM_MASTER_KEY": "sk-short"}, "LITELLM_MASTER_KEY: shorter than 32"),
        ({"PROXY_STATIC_TOKEN": "weak"}, "PROXY_STATIC_TOKEN"),
    ],
)
def test_weak_or_missing_secrets(change: dict[str, str], expected: str) -> None:
    found = errors(run(example(), {**GOOD_ENV, **change}))
    assert any(expected in p for p in found), found
    for value in change.values():
        if value:
            assert all(value not in p for p in found)  # never echo a secret


def test_no_proxy_token_is_a_warning_that_says_who_is_served() -> None:
    env = {k: v for k, v in GOOD_ENV.items() if k != "PROXY_STATIC_TOKEN"}
    [warning] = [p for p in run(example(), env) if p.severity == "warning"]
    assert "loopback" in warning.message


def test_a_token_pool_without_any_anthropic_deployment() -> None:
    config = example()
    config["model_list"] = [d for d in config["model_list"] if not d["model_name"].startswith("anthropic")]
    config["router_settings"]["fallbacks"] = []
    config["litellm_plugins"]["model_aliases"] = {}
    env = {**GOOD_ENV, "CLAUDE_OAUTH_TOKENS": "sk-ant-oat01-" + "p" * 40}
    [problem] = errors(run(config, env))
    assert "CLAUDE_OAUTH_TOKENS" in problem and "never be used" in problem
    assert "sk-ant-oat01-" not in problem
    assert errors(run(copy.deepcopy(example()), env)) == []


def test_not_a_mapping() -> None:
    assert errors(run(["not", "a", "config"]))


def with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    config = example()
    config["litellm_plugins"]["routing"] = {"rules": list(rules)}
    return config


def test_routing_rules_in_the_example_groups_pass() -> None:
    config = with_rules(
        {"name": "background", "when": {"model": "claude-*haiku*"}, "to": "glm-fast"},
        {"name": "long-context", "when": {"input_tokens_above": 60000}, "to": "openrouter"},
        {"name": "think", "when": {"thinking": True}, "to": "deepseek"},
    )
    assert run(config) == []


def test_routing_unknown_groups_keys_and_value_types() -> None:
    problems = run(
        with_rules(
            {"name": "bg", "when": {"model": "claude-*haiku*"}, "to": "glm-fsat"},
            {"name": "img", "when": {"image": True}, "to": "openai"},
            {"name": "long", "when": {"input_tokens_above": "60k"}, "to": "openrouter"},
        )
    )
    rendered = [p.render() for p in problems]
    assert all(p.severity == "error" and p.where == "litellm_plugins.routing" for p in problems), rendered
    assert any("rules[0] (bg).to: 'glm-fsat' is not a model group" in line for line in rendered), rendered
    assert any("rules[1] (img).when: unknown condition 'image'" in line for line in rendered), rendered
    assert any(
        "rules[2] (long).when.input_tokens_above must be a positive number" in line for line in rendered
    )
    assert len(problems) == 3


def test_routing_unreachable_rules_are_warned() -> None:
    problems = run(
        with_rules(
            {"name": "think", "when": {"thinking": True}, "to": "deepseek"},
            {"name": "think-haiku", "when": {"thinking": True, "model": "claude-*haiku*"}, "to": "glm-fast"},
            {"name": "everything", "to": "anthropic"},
            {"name": "images", "when": {"images": True}, "to": "openai"},
        )
    )
    assert [(p.severity, p.where) for p in problems] == [
        ("warning", "litellm_plugins.routing.rules[1] (think-haiku)"),
        ("warning", "litellm_plugins.routing.rules[3] (images)"),
    ]
    assert "rule 'think' before it asks a subset of its conditions" in problems[0].message
    assert "rule 'everything' before it has no `when`" in problems[1].message
    assert "move it above 'everything'" in problems[1].message


def commented_routing_recipe() -> dict[str, Any]:
    """The commented `routing:` block of config.yaml.example, uncommented."""
    text = (REPO_ROOT / "config.yaml.example").read_text(encoding="utf-8")
    block = text.split("  # routing:\n", 1)[1].split("  # A group is never", 1)[0]
    lines = [line.removeprefix("  # ").split("  #", 1)[0] for line in block.splitlines()]
    return yaml.safe_load("\n".join(lines))


def test_the_commented_routing_recipe_is_valid_for_the_example_groups() -> None:
    recipe = commented_routing_recipe()
    assert [rule["to"] for rule in recipe["rules"]] == [
        "anthropic",
        "openai",
        "openrouter",
        "glm-fast",
        "glm",
        "kimi",
    ]
    config = example()
    config["litellm_plugins"]["routing"] = recipe
    assert run(config) == []
