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
    assert config["litellm_plugins"]["model_aliases"] == {
        "claude-*haiku*": "anthropic-fast",
        "claude-*": "anthropic",
    }


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


def test_routing_rules_whose_group_is_off_are_dropped_with_a_note() -> None:
    example = example_config()
    example["litellm_plugins"]["routing"] = {
        "rules": [
            {"name": "background", "when": {"model": "claude-*haiku*"}, "to": "glm-fast"},
            {"name": "long-context", "when": {"input_tokens_above": 60000}, "to": "openrouter"},
        ]
    }
    config, notes = quickstart.live_config(example, {"ZAI_API_KEY": "k"})
    assert [rule["name"] for rule in config["litellm_plugins"]["routing"]["rules"]] == ["background"]
    assert "routing rule long-context: off (its group openrouter is off)" in notes


def test_banner_lists_groups_and_the_commands_that_print_the_settings_with_the_real_token() -> None:
    instructions = quickstart.settings_instructions("http://127.0.0.1:4000", quickstart.OWN_LOGIN)
    text = quickstart.banner(
        ["anthropic", "deepseek"],
        ["glm: off (set ZAI_API_KEY in .env)"],
        "http://127.0.0.1:4000",
        instructions,
    )
    assert "  - deepseek" in text and "ZAI_API_KEY" in text
    assert "<PROXY_STATIC_TOKEN>" not in text and "<T>" not in text  # no placeholder to paste
    assert "litellm-plugins claude-settings --url http://127.0.0.1:4000\n" in text
    assert "litellm-plugins claude-settings --url http://127.0.0.1:4000 --write ~ " in text
    assert "/login" in text and "CLAUDE_OAUTH_TOKENS" in text


def test_instructions_name_a_non_default_env_file_and_the_pool_path() -> None:
    text = quickstart.settings_instructions(
        "http://127.0.0.1:4001", quickstart.POOL, "/venv/bin/litellm-plugins", "/srv/.env"
    )
    assert (
        "/venv/bin/litellm-plugins claude-settings --url http://127.0.0.1:4001 --env-file /srv/.env" in text
    )
    assert "token pool" in text and "/login" not in text


def test_own_login_settings_keep_the_login_and_send_the_proxy_token_in_a_header() -> None:
    env = quickstart.claude_code_env("http://127.0.0.1:4000", "T" * 40)
    assert "ANTHROPIC_AUTH_TOKEN" not in env and "ANTHROPIC_API_KEY" not in env
    assert (
        env["ANTHROPIC_CUSTOM_HEADERS"] == f"x-litellm-api-key: {'T' * 40}\nx-claude-token-mode: passthrough"
    )


def test_pool_and_provider_settings_give_claude_code_the_proxy_token_to_start_with() -> None:
    pool = quickstart.claude_code_env("http://h:1", "T" * 40, quickstart.POOL, "claude-sonnet-4-5")
    assert (
        pool["ANTHROPIC_AUTH_TOKEN"] == "T" * 40
        and pool["ANTHROPIC_CUSTOM_HEADERS"] == f"x-litellm-api-key: {'T' * 40}"
    )
    assert pool["ANTHROPIC_MODEL"] == "claude-sonnet-4-5" and "ANTHROPIC_DEFAULT_HAIKU_MODEL" not in pool
    provider = quickstart.claude_code_env("http://h:1", "T" * 40, quickstart.PROVIDER, "openai")
    assert provider["ANTHROPIC_AUTH_TOKEN"] == "T" * 40
    # Background haiku calls and /model picks stay on the group too: no Claude at all.
    assert all(provider[name] == "openai" for name in ("ANTHROPIC_MODEL", *quickstart.MODEL_DEFAULTS))


def test_the_path_follows_the_pool_the_client_permission_and_the_model() -> None:
    assert quickstart.settings_path(False, True, None) == quickstart.OWN_LOGIN
    assert quickstart.settings_path(False, True, "claude-opus-4-1") == quickstart.OWN_LOGIN
    assert quickstart.settings_path(True, True, None) == quickstart.POOL
    assert quickstart.settings_path(True, False, None) == quickstart.OWN_LOGIN  # a passthrough client
    assert quickstart.settings_path(True, True, None, passthrough=True) == quickstart.OWN_LOGIN
    assert quickstart.settings_path(False, True, "deepseek") == quickstart.PROVIDER
