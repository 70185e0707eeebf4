"""Claude Code knows each group: with the settings `litellm-plugins claude-settings --write ~`
writes, the real CLI fills its `/model` picker from the proxy (`GET /v1/models?limit=1000`) and
runs a non-Claude group without the "doesn't recognize the model" notice; without them it prints it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import openai_deployment
from tests.e2e.claude_cli import run_claude, scratch_home
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess, base_environment, plugin_config

pytestmark = pytest.mark.e2e

TOKEN = "picker-e2e-token-" + "e" * 30
UNKNOWN_MODEL_NOTICE = re.compile(r"doesn't recognize the model \"([^\"]+)\"")
CONTEXT_SETTINGS = ("CLAUDE_CODE_MAX_CONTEXT_TOKENS", "CLAUDE_CODE_AUTO_COMPACT_WINDOW")


def write_settings(tmp_path: Path, home: Path, proxy: ProxyProcess, config_path: Path) -> dict:
    """`claude-settings --model deepseek --write ~` as a user runs it, HOME being Claude Code's."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "litellm-plugins"),
            "claude-settings",
            "--url",
            proxy.url,
            "--config",
            str(config_path),
            "--model",
            "deepseek",
            "--write",
            "~",
        ],
        cwd=tmp_path,
        env={**base_environment(), "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((home / ".claude" / "settings.json").read_text(encoding="utf-8"))


def test_the_picker_lists_the_live_groups_and_the_window_settings_silence_the_notice(
    openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(f"PROXY_STATIC_TOKEN={TOKEN}\n")
    base = openai_fake.api_base
    config = plugin_config(
        [
            openai_deployment(
                "deepseek",
                "deepseek-chat",
                base,
                display_name="DeepSeek V3",
                max_input_tokens=128000,
                max_output_tokens=8192,
            ),
            openai_deployment(
                "glm-fast",
                "gemini-strict",
                base,
                display_name="GLM Air",
                tool_schema="gemini",
                max_input_tokens=64000,
                max_output_tokens=8192,
            ),
        ],
        aliases={"claude-*haiku*": "glm-fast"},  # so glm-fast behaves as haiku
    )
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with ProxyProcess(config, tmp_path / "proxy", env={"PROXY_STATIC_TOKEN": TOKEN}) as proxy:
        workdir = tmp_path / "claude"
        home = scratch_home(workdir)
        settings = write_settings(tmp_path, home, proxy, config_path)
        assert settings["env"]["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"] == "1"
        assert {name: settings["env"][name] for name in CONTEXT_SETTINGS} == dict.fromkeys(
            CONTEXT_SETTINGS, "128000"
        )
        rows = {row["model"]: row for row in settings["modelPicker"]["options"]}
        assert rows["deepseek"]["label"] == "DeepSeek V3" and "behavesAs" not in rows["deepseek"]
        assert rows["glm-fast"]["behavesAs"].startswith("claude-haiku-")

        marker = f"picker-{uuid.uuid4().hex[:6]}"
        before = len(proxy.log_text())
        run = run_claude(f"Reply with {marker}", base_url=proxy.url, workdir=workdir, env={})
        assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
        assert "fake-openai deepseek-chat says:" in run.stdout and marker in run.stdout
        assert not UNKNOWN_MODEL_NOTICE.search(run.stdout + run.stderr), run.stderr
        # The picker's request reached the proxy and Claude Code kept every live group, named.
        assert 'GET /v1/models?limit=1000 HTTP/1.1" 200' in proxy.log_text()[before:]
        cached = json.loads((home / ".claude" / "cache" / "gateway-models.json").read_text())
        assert cached["baseUrl"] == proxy.url
        assert sorted(m["display_name"] for m in cached["models"]) == ["DeepSeek V3", "GLM Air"]
        assert all(m["id"].startswith("claude-router-") for m in cached["models"])

        # The same settings without the window variables: Claude Code says it guesses 1m tokens.
        bare = tmp_path / "bare"
        (scratch_home(bare) / ".claude").mkdir()
        without = {**settings, "env": {k: v for k, v in settings["env"].items() if k not in CONTEXT_SETTINGS}}
        (bare / "home" / ".claude" / "settings.json").write_text(json.dumps(without))
        guessed = run_claude("Reply with OK", base_url=proxy.url, workdir=bare, env={})
        assert guessed.returncode == 0, guessed.stderr[-2000:]
        notice = UNKNOWN_MODEL_NOTICE.search(guessed.stdout + guessed.stderr)
        assert notice and notice.group(1) == "deepseek", guessed.stderr
        # ...but not for a group whose row says which Claude model it behaves as.
        known = run_claude(
            "Reply with OK", base_url=proxy.url, workdir=bare, env={}, extra_args=("--model", "glm-fast")
        )
        assert known.returncode == 0, known.stderr[-2000:]
        assert "fake-openai gemini-strict says:" in known.stdout
        assert not UNKNOWN_MODEL_NOTICE.search(known.stdout + known.stderr), known.stderr
    assert TOKEN not in proxy.log_text()
