"""The console script's `check` and `claude-settings`, run as a user runs them."""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness import REPO_ROOT, base_environment
from tests.unit.cli.test_config_check import GOOD_ENV

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "litellm-plugins")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = base_environment()
    env.pop("LITELLM_MASTER_KEY", None)
    return subprocess.run(
        [CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


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
        "claude-settings",
        "--url",
        "http://127.0.0.1:4000",
        "--model",
        "deepseek",
        "--haiku-model",
        "glm-fast",
        cwd=tmp_path,
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
    assert (
        merged["env"]["ANTHROPIC_CUSTOM_HEADERS"]
        == f"x-litellm-api-key: {token}\nx-claude-token-mode: passthrough"
    )
    assert "ANTHROPIC_AUTH_TOKEN" not in merged["env"]  # passthrough: the user's own Claude login
    assert (project / ".claude" / "settings.json").stat().st_mode & 0o077 == 0


def generated_env(tmp_path: Path) -> dict[str, str]:
    """What `serve` writes into a fresh .env: only the two generated secrets."""
    values = {
        "LITELLM_MASTER_KEY": GOOD_ENV["LITELLM_MASTER_KEY"],
        "PROXY_STATIC_TOKEN": GOOD_ENV["PROXY_STATIC_TOKEN"],
    }
    write_env(tmp_path / ".env", values)
    return values


def test_serve_refuses_a_busy_port_and_check_passes_on_the_config_it_built(tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / "config.yaml.example", tmp_path / "config.yaml.example")
    generated_env(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        served = run_cli("serve", "--port", str(port), cwd=tmp_path)
    assert served.returncode == 1, served.stderr
    assert (
        f"port {port} on 127.0.0.1 is already in use" in served.stderr
        and f"--port {port + 1}" in served.stderr
    )
    assert "proxy on http" not in served.stderr  # no banner for a proxy that is not there
    effective = tmp_path / ".cache" / "config.effective.yaml"
    assert effective.is_file()
    for config in (effective, tmp_path / "config.yaml"):  # the config serve runs and the one the user edits
        checked = run_cli("check", "--config", str(config), cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout
        assert "error:" not in checked.stdout and "no problems found" in checked.stdout
    raw = run_cli("check", cwd=tmp_path).stdout
    assert "off: model_list[2] (glm): ZAI_API_KEY not set" in raw and "deployment(s) off" in raw


def test_serve_warns_about_workers_that_share_nothing_and_refuses_a_bad_count(tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / "config.yaml.example", tmp_path / "config.yaml.example")
    generated_env(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = str(holder.getsockname()[1])
        several = run_cli("serve", "--port", port, "--workers", "2", cwd=tmp_path)  # no REDIS_URL
        theirs = run_cli("serve", "--port", port, "--workers", "2", "--", "--num_workers", "1", cwd=tmp_path)
    assert several.returncode == 1, several.stderr  # the busy port; the warning came first
    assert "warning: 2 workers without REDIS_URL share nothing" in several.stderr
    assert "pool cooldowns and sessions, client limits" in several.stderr
    assert "usage counts" in several.stderr and "Set REDIS_URL" in several.stderr
    assert theirs.returncode == 1, theirs.stderr
    assert "--workers 2 is ignored: --num_workers 1 after -- wins" in theirs.stderr
    assert "share nothing" not in theirs.stderr
    for option in (("--workers", "0"), ("--workers", "many")):
        refused = run_cli("serve", *option, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert "must be a positive integer or auto" in refused.stderr
    with (tmp_path / ".env").open("a") as env_file:
        env_file.write("PROXY_WORKERS=-3\n")  # .env sets the default as the environment does
    from_env = run_cli("serve", cwd=tmp_path)
    assert from_env.returncode == 2 and "got '-3'" in from_env.stderr, from_env.stderr


def test_check_refuses_typos_and_wrong_types_and_reports_a_weak_token_once(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text())
    document["litellm_plugins"]["model_alias"] = document["litellm_plugins"].pop("model_aliases")
    document["litellm_plugins"]["thinkng"] = {"strip_response_groups": ["openrouter"]}
    document["router_settings"]["fallback"] = document["router_settings"].pop("fallbacks")
    document["model_list"][5]["model_info"]["max_output_tokens"] = "8k"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    write_env(tmp_path / ".env", {**GOOD_ENV, "PROXY_STATIC_TOKEN": "weak-token"})
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    for expected in (
        "error: litellm_plugins.model_alias: unknown setting",
        "error: litellm_plugins.thinkng: unknown setting",
        (
            "error: router_settings.fallback: unknown setting (ignored, so it does nothing): did you mean "
            "'fallbacks'?"
        ),
        "error: model_list[5] (deepseek).model_info: max_output_tokens must be a positive integer",
    ):
        assert any(line.startswith(expected) for line in lines), result.stdout
    assert sum("PROXY_STATIC_TOKEN" in line for line in lines) == 1, result.stdout  # once, not once per hook
    assert "weak-token" not in result.stdout


def test_a_model_info_value_of_the_wrong_type_stops_the_proxy_instead_of_500s(tmp_path: Path) -> None:
    from tests.harness import ProxyProcess, plugin_config

    deployment = {
        "model_name": "local",
        "litellm_params": {"model": "openai/m", "api_base": "http://127.0.0.1:9/v1", "api_key": "k"},
        "model_info": {"max_output_tokens": "8k"},
    }
    process = ProxyProcess(plugin_config([deployment]), tmp_path, name="bad-model-info")
    with pytest.raises(RuntimeError, match="proxy exited"):
        process.start()
    assert (
        "model_list[0] (local).model_info.max_output_tokens must be a positive integer" in process.log_text()
    )


def test_claude_settings_without_a_token_exits_non_zero_and_says_how_to_fix_it(tmp_path: Path) -> None:
    result = run_cli("claude-settings", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "no proxy token" in result.stderr and str(tmp_path / ".env") in result.stderr
    assert "litellm-plugins serve" in result.stderr and "--env-file" in result.stderr


def test_claude_settings_write_keeps_a_backup_and_says_where(tmp_path: Path) -> None:
    token = "w" * 40
    write_env(tmp_path / ".env", {"PROXY_STATIC_TOKEN": token})
    target = tmp_path / "settings.json"
    before = json.dumps(
        {"env": {"ANTHROPIC_AUTH_TOKEN": "old-proxy-token-" + "o" * 30, "KEEP": "1"}, "model": "opus"}
    )
    target.write_text(before)
    result = run_cli("claude-settings", "--write", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    backup = tmp_path / "settings.json.bak"
    assert backup.read_text() == before and str(backup) in result.stderr
    assert backup.stat().st_mode & 0o077 == 0
    written = json.loads(target.read_text())
    assert written["model"] == "opus" and written["env"]["KEEP"] == "1"
    # The default (no pool) keeps the user's Claude login: an earlier proxy token there is removed.
    assert "ANTHROPIC_AUTH_TOKEN" not in written["env"]
    assert (
        written["env"]["ANTHROPIC_CUSTOM_HEADERS"]
        == f"x-litellm-api-key: {token}\nx-claude-token-mode: passthrough"
    )


def test_claude_settings_give_the_live_groups_as_picker_rows_only_to_user_settings(tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / "config.yaml.example", tmp_path / "config.yaml")
    write_env(
        tmp_path / ".env", {"PROXY_STATIC_TOKEN": "t" * 40, "DEEPSEEK_API_KEY": "k", "ZAI_API_KEY": "k"}
    )
    printed = run_cli("claude-settings", "--model", "deepseek", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    block = json.loads(printed.stdout)
    rows = block["modelPicker"]["options"]
    # The live groups a user can pick by name (the `anthropic/*` groups pass the client's id on).
    assert [row["model"] for row in rows] == ["glm", "glm-fast", "deepseek"]
    assert rows[2]["label"] == "DeepSeek V3 (chat)" and "behavesAs" not in rows[2]
    assert block["env"]["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"] == "1"

    project = tmp_path / "project"
    into_project = run_cli("claude-settings", "--write", str(project), cwd=tmp_path)
    assert into_project.returncode == 0, into_project.stderr
    assert "modelPicker" not in json.loads((project / ".claude" / "settings.json").read_text())
    assert "reads modelPicker only from your user settings" in into_project.stderr

    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    mine = {"model": "my-own-model", "label": "Mine"}
    (home / ".claude" / "settings.json").write_text(json.dumps({"modelPicker": {"options": [mine]}}))
    env = {**base_environment(), "HOME": str(home)}
    for _ in range(2):  # writing twice does not repeat the rows
        written = subprocess.run(
            [CLI, "claude-settings", "--write", "~"],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert written.returncode == 0, written.stderr
    user = json.loads((home / ".claude" / "settings.json").read_text())
    assert user["modelPicker"]["options"] == [mine, *rows]


def test_claude_settings_refuse_a_behaves_as_claude_code_would_not_know(tmp_path: Path) -> None:
    text = (REPO_ROOT / "config.yaml.example").read_text()
    (tmp_path / "config.yaml").write_text(text.replace("display_name: Kimi for Coding", "behaves_as: kimi"))
    write_env(tmp_path / ".env", {"PROXY_STATIC_TOKEN": "t" * 40, "KIMI_API_KEY": "k"})
    result = run_cli("claude-settings", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "'kimi'" in result.stderr and "behaves_as must be haiku, sonnet, opus" in result.stderr
    missing = run_cli("claude-settings", "--config", "nowhere.yaml", cwd=tmp_path)
    assert missing.returncode == 0 and "nowhere.yaml not found" in missing.stderr
    assert "modelPicker" not in json.loads(missing.stdout)


def test_claude_settings_follow_the_pool_and_the_client_permission(tmp_path: Path) -> None:
    alice, ci = "a" * 40, "c" * 40
    pool = "sk-ant-oat01-pool-" + "p" * 40
    write_env(
        tmp_path / ".env",
        {"PROXY_STATIC_TOKENS": f"alice:{alice}:pool,ci:{ci}:passthrough", "CLAUDE_OAUTH_TOKENS": pool},
    )
    own = json.loads(run_cli("claude-settings", "--client", "ci", cwd=tmp_path).stdout)["env"]
    assert "ANTHROPIC_AUTH_TOKEN" not in own and own["ANTHROPIC_CUSTOM_HEADERS"].endswith(
        "x-claude-token-mode: passthrough"
    )
    pooled = json.loads(run_cli("claude-settings", "--client", "alice", cwd=tmp_path).stdout)["env"]
    assert (
        pooled["ANTHROPIC_AUTH_TOKEN"] == alice
        and pooled["ANTHROPIC_CUSTOM_HEADERS"] == f"x-litellm-api-key: {alice}"
    )
    assert pool not in json.dumps(pooled)


def test_every_option_has_help_with_its_default_and_there_is_a_version(tmp_path: Path) -> None:
    from litellm_plugins import __version__

    version = run_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"litellm-plugins {__version__}"
    for command, defaults in (
        ("serve", ("(default: config.yaml)", "(default: .env)", "(default: 127.0.0.1)", "(default: 4000)")),
        ("check", ("(default: config.yaml)", "(default: .env)")),
        ("pool", ("(default: http://127.0.0.1:4000)",)),
        ("usage", ("(default: http://127.0.0.1:4000)", "(default: today)")),
        ("claude-settings", ("(default: http://127.0.0.1:4000)", "own Claude login")),
    ):
        text = " ".join(run_cli(command, "--help", cwd=tmp_path).stdout.split())
        for default in defaults:
            assert default in text, (command, text)
    from litellm_plugins.cli import build_parser

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"


def test_bootstrap_says_what_it_is_doing_on_the_first_install_only(tmp_path: Path) -> None:
    # A stand-in interpreter: `-m venv DIR` makes DIR/bin/python (this same stub); pip "installs" nothing.
    stub = tmp_path / "python-stub"
    stub.write_text(
        '#!/bin/sh\nif [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" '
        '"$3/bin/python"; fi\nexit 0\n'
    )
    stub.chmod(0o755)
    env = {**base_environment(), "VENV": str(tmp_path / "venv"), "PYTHON": str(stub)}
    command = ["bash", "-c", f"source {REPO_ROOT / 'scripts' / 'bootstrap.sh'}"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "litellm_plugins: installing" in first.stderr and str(tmp_path / "venv") in first.stderr
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "installing" not in again.stderr  # installed already: silent
