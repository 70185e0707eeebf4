from __future__ import annotations

import stat
from pathlib import Path

import yaml

from litellm_plugins.cli import quickstart
from tests.harness import REPO_ROOT


def test_env_file_gets_strong_generated_secrets_once(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    assert quickstart.ensure_env_file(env) == ["LITELLM_MASTER_KEY", "PROXY_STATIC_TOKEN"]
    values = quickstart.read_env_file(env)
    assert values["LITELLM_MASTER_KEY"].startswith("sk-") and len(values["LITELLM_MASTER_KEY"]) >= 40
    assert len(values["PROXY_STATIC_TOKEN"]) >= 32
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    before = env.read_text()
    assert quickstart.ensure_env_file(env) == []
    assert env.read_text() == before


def test_existing_values_are_kept(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("LITELLM_MASTER_KEY=sk-mine-0123456789abcdef0123456789abcdef\nDEEPSEEK_API_KEY=x")
    assert quickstart.ensure_env_file(env) == ["PROXY_STATIC_TOKEN"]
    values = quickstart.read_env_file(env)
    assert values["LITELLM_MASTER_KEY"] == "sk-mine-0123456789abcdef0123456789abcdef"
    assert values["DEEPSEEK_API_KEY"] == "x"


def test_config_is_copied_from_the_example_only_when_missing(tmp_path: Path) -> None:
    example = tmp_path / "config.yaml.example"
    example.write_text("model_list: []\n")
    config = tmp_path / "config.yaml"
    assert quickstart.ensure_config_file(config, example) is True
    config.write_text("# mine\n")
    assert quickstart.ensure_config_file(config, example) is False
    assert config.read_text() == "# mine\n"


def example_config() -> dict:
    return yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text())


def test_with_no_provider_keys_only_the_anthropic_groups_are_live() -> None:
    config, notes = quickstart.live_config(example_config(), {})
    assert quickstart.live_groups(config) == ["anthropic", "anthropic-fast"]
    assert any("deepseek" in note and "DEEPSEEK_API_KEY" in note for note in notes)
    assert config["router_settings"]["fallbacks"] == []
    assert config["litellm_plugins"]["model_aliases"] == {"claude-*haiku*": "anthropic-fast", "claude-*": "anthropic"}


def test_a_provider_key_makes_its_groups_live_and_keeps_fallbacks_between_live_groups() -> None:
    config, _ = quickstart.live_config(example_config(), {"ZAI_API_KEY": "k", "DEEPSEEK_API_KEY": "k"})
    groups = quickstart.live_groups(config)
    assert {"anthropic", "anthropic-fast", "glm", "glm-fast", "deepseek"} <= set(groups)
    assert "openai" not in groups and "ollama" not in groups
    assert {"glm": ["deepseek"]} in config["router_settings"]["fallbacks"]
    assert {"anthropic": ["glm"]} in config["router_settings"]["fallbacks"]
    assert {"glm-fast": ["glm"]} in config["router_settings"]["fallbacks"]
    assert all("openrouter" not in str(entry) for entry in config["router_settings"]["fallbacks"])
    assert config["litellm_plugins"]["model_aliases"]["claude-*"] == "anthropic"


def test_banner_lists_groups_and_the_claude_code_settings() -> None:
    text = quickstart.banner(["anthropic", "deepseek"], ["glm: off (set ZAI_API_KEY in .env)"], "http://127.0.0.1:4000", "<T>")
    assert "  - deepseek" in text and "ZAI_API_KEY" in text
    assert '"ANTHROPIC_CUSTOM_HEADERS": "x-litellm-api-key: <T>"' in text
