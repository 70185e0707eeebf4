"""The `/model` rows and context-window settings `claude-settings` builds from a config (pure)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from litellm_plugins.cli import claude_picker, quickstart
from litellm_plugins.core.settings import SettingsError
from tests.harness import REPO_ROOT


def deployment(group: str, model: str, **model_info: Any) -> dict[str, Any]:
    return {"model_name": group, "litellm_params": {"model": model}, "model_info": model_info}


def config(*deployments: dict[str, Any], aliases: dict[str, str] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"model_list": list(deployments)}
    if aliases is not None:
        document["litellm_plugins"] = {"model_aliases": aliases}
    return document


def test_each_group_a_user_can_pick_gets_a_row_with_its_display_name() -> None:
    rows = claude_picker.picker_rows(
        config(
            deployment("anthropic", "anthropic/*", display_name="Claude"),
            deployment(
                "deepseek", "anthropic/deepseek-chat", display_name="DeepSeek V3", max_input_tokens=128000
            ),
            deployment("ollama", "openai/qwen2.5-coder:14b"),
        )
    )
    # `anthropic/*` sends on the id the client asked for: its group name is no model to pick.
    assert rows == [
        {
            "model": "deepseek",
            "label": "DeepSeek V3",
            "description": "model group deepseek on the proxy (anthropic/deepseek-chat, 128k context)",
        },
        {
            "model": "ollama",
            "label": "ollama",
            "description": "model group ollama on the proxy (openai/qwen2.5-coder:14b)",
        },
    ]


def test_behaves_as_is_declared_or_follows_the_aliases_and_is_a_model_id_claude_code_knows() -> None:
    rows = claude_picker.picker_rows(
        config(
            deployment("glm", "anthropic/glm-4.6", behaves_as="opus", description="z.ai"),
            deployment("glm-fast", "anthropic/glm-4.5-air"),
            deployment("kimi", "anthropic/kimi-for-coding", behaves_as="claude-sonnet-4-6"),
            deployment("deepseek", "anthropic/deepseek-chat"),
            deployment("openai", "openai/gpt-4.1"),
            aliases={"claude-*haiku*": "glm-fast", "claude-*": "deepseek"},
        )
    )
    behaves = {row["model"]: row.get("behavesAs") for row in rows}
    assert behaves == {
        "glm": "claude-opus-5-5",  # declared; Claude Code does not accept its alias `opus` here
        "glm-fast": "claude-haiku-5-5",  # the first alias matching claude-haiku-* sends it there
        "kimi": "claude-sonnet-4-6",  # a full id is taken as written
        "deepseek": "claude-sonnet-5-5",  # sonnet and opus ids land there: sonnet first
        "openai": None,  # no alias sends Claude ids there
    }
    assert "behavesAs" not in rows[-1]
    assert rows[0]["description"] == "z.ai"


def test_a_wrong_behaves_as_says_which_group_and_what_to_write() -> None:
    with pytest.raises(SettingsError, match=r"'glm'.*haiku, sonnet, opus or a claude-\* model id"):
        claude_picker.picker_rows(config(deployment("glm", "anthropic/glm-4.6", behaves_as="gpt-5")))


def test_the_groups_of_every_model_give_their_smallest_window_as_context_and_compact_window() -> None:
    document = config(
        deployment("deepseek", "anthropic/deepseek-chat", max_input_tokens=128000),
        deployment("deepseek", "openai/deepseek-chat", max_input_tokens=64000),  # the smallest wins
        deployment("openai", "openai/gpt-4.1"),
    )
    assert claude_picker.context_env(document, ["deepseek"] * 4) == {
        "CLAUDE_CODE_MAX_CONTEXT_TOKENS": "64000",
        "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "64000",
    }
    assert claude_picker.context_env(document, ["openai"]) == {}  # no window declared: nothing to say
    # `--model openai --haiku-model deepseek`: one value for both, so deepseek's is not overrun.
    assert (
        claude_picker.context_env(document, ["openai", "deepseek"])["CLAUDE_CODE_MAX_CONTEXT_TOKENS"]
        == "64000"
    )


def test_with_claude_as_the_main_model_only_unrecognized_rows_set_the_context_window() -> None:
    document = config(
        deployment("anthropic", "anthropic/*", max_input_tokens=1000000),
        deployment("glm-fast", "anthropic/glm-4.5-air", max_input_tokens=32000),  # behaves as haiku
        deployment("deepseek", "anthropic/deepseek-chat", max_input_tokens=128000),
        deployment("openrouter", "openai/google/gemini-2.5-pro", max_input_tokens=1000000),
        aliases={"claude-*haiku*": "glm-fast", "claude-*": "anthropic"},
    )
    # The auto-compact window would cap Claude's own models too: not set.
    assert claude_picker.context_env(document, None) == {"CLAUDE_CODE_MAX_CONTEXT_TOKENS": "128000"}


def test_our_rows_replace_their_earlier_selves_and_keep_the_users_own() -> None:
    existing = {
        "replaceBuiltInOptions": False,
        "options": [{"model": "my-model"}, {"model": "deepseek", "label": "old"}],
    }
    merged = claude_picker.merged_picker(existing, [{"model": "deepseek", "label": "DeepSeek V3"}])
    assert merged == {
        "replaceBuiltInOptions": False,
        "options": [{"model": "my-model"}, {"model": "deepseek", "label": "DeepSeek V3"}],
    }


def test_every_group_of_the_example_has_a_display_name_and_a_row_when_live() -> None:
    example = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text())
    assert all(d.get("model_info", {}).get("display_name") for d in example["model_list"])
    keys = {"ZAI_API_KEY", "KIMI_API_KEY", "DEEPSEEK_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"}
    live, _ = quickstart.live_config(example, {**{k: "k" for k in keys}, "OLLAMA_API_BASE": "http://x"})
    rows = claude_picker.picker_rows(live)
    assert [row["model"] for row in rows] == [
        g for g in quickstart.live_groups(live) if g not in ("anthropic", "anthropic-fast")
    ]


def test_check_reports_a_behaves_as_claude_code_would_not_know() -> None:
    from litellm_plugins.cli import config_check

    good = config(deployment("glm", "anthropic/glm-4.6", behaves_as="sonnet"))
    assert config_check.check_claude_picker(good) == []
    (problem,) = config_check.check_claude_picker(
        config(deployment("glm", "anthropic/glm-4.6", behaves_as=3))
    )
    assert problem.severity == "error" and "behaves_as" in problem.render()
