"""The console script's `check` and `claude-settings`, run as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import REPO_ROOT, base_environment
from tests.unit.cli.test_config_check import GOOD_ENV

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "litellm-plugins")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = base_environment()
    env.pop("LITELLM_MASTER_KEY", None)
    return subprocess.run([CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def write_env(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")


def test_check_passes_on_the_example_with_keys_and_loads_the_real_plugins(tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / "config.yaml.example", tmp_path / "config.yaml")
    write_env(tmp_path / ".env", GOOD_ENV)
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems found" in result.stdout


def test_check_fails_and_lists_every_problem(tmp_path: Path) -> None:
    text = (REPO_ROOT / "config.yaml.example").read_text()
    text = text.replace('"claude-*haiku*": anthropic-fast', '"claude-*haku*": anthropic-fast')
    text = text.replace("litellm_plugins.hooks.token_rotator", "litellm_plugins.hooks.token_rotater")
    (tmp_path / "config.yaml").write_text(text)
    write_env(tmp_path / ".env", {**GOOD_ENV, "DEEPSEEK_API_KEY": "", "PROXY_STATIC_TOKEN": "short"})
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 1
    for expected in ("DEEPSEEK_API_KEY", "claude-*haku*", "token_rotater", "PROXY_STATIC_TOKEN"):
        assert expected in result.stdout, result.stdout
    assert "short" not in result.stdout.replace("shorter", "")


def test_claude_settings_prints_a_pasteable_env_block_and_merges_into_settings_json(tmp_path: Path) -> None:
    token = "t" * 40
    write_env(tmp_path / ".env", {"PROXY_STATIC_TOKEN": token})
    printed = run_cli(
        "claude-settings", "--url", "http://127.0.0.1:4000", "--model", "deepseek", "--haiku-model", "glm-fast", cwd=tmp_path
    )
    assert printed.returncode == 0, printed.stderr
    env = json.loads(printed.stdout)["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4000"
    assert env["ANTHROPIC_CUSTOM_HEADERS"] == f"x-litellm-api-key: {token}"
    assert env["ANTHROPIC_MODEL"] == "deepseek" and env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "glm-fast"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1" and int(env["API_TIMEOUT_MS"]) >= 600000

    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    existing = {"permissions": {"allow": ["Bash(ls:*)"]}, "env": {"KEEP_ME": "1"}}
    (project / ".claude" / "settings.json").write_text(json.dumps(existing))
    written = run_cli("claude-settings", "--write", str(project), "--passthrough", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    merged = json.loads((project / ".claude" / "settings.json").read_text())
    assert merged["permissions"] == existing["permissions"]
    assert merged["env"]["KEEP_ME"] == "1"
    assert merged["env"]["ANTHROPIC_CUSTOM_HEADERS"] == f"x-litellm-api-key: {token}\nx-claude-token-mode: passthrough"
    assert "ANTHROPIC_AUTH_TOKEN" not in merged["env"]  # passthrough: the user's own Claude login
    assert (project / ".claude" / "settings.json").stat().st_mode & 0o077 == 0
