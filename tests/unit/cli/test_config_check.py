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
    **{name: "test-value" for name in ("ZAI_API_KEY", "KIMI_API_KEY", "DEEPSEEK_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY")},
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


def test_a_missing_provider_key_names_the_variable_and_the_group() -> None:
    env = {k: v for k, v in GOOD_ENV.items() if k != "DEEPSEEK_API_KEY"}
    [problem] = errors(run(example(), env))
    assert "DEEPSEEK_API_KEY" in problem and "(deepseek)" in problem and "serve" in problem


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
    config["litellm_plugins"]["model_aliases"] = {"claude-*haku*": "anthropic", "claude-*opus*": "no-such-group"}
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
