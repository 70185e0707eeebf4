"""`litellm-plugins claude-settings` output, used as Claude Code's whole environment, reaches
the proxy and gets an answer."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import SESSION_ALIASES, session_model_list
from tests.e2e.claude_cli import run_claude
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess, base_environment, plugin_config

pytestmark = pytest.mark.e2e


def test_printed_settings_work_in_claude_code(openai_fake: FakeOpenAIChat, tmp_path: Path) -> None:
    token = "claude-settings-e2e-" + "s" * 30
    (tmp_path / ".env").write_text(f"PROXY_STATIC_TOKEN={token}\n")
    config = plugin_config(session_model_list(openai_fake), aliases=SESSION_ALIASES)
    with ProxyProcess(config, tmp_path / "proxy", env={"PROXY_STATIC_TOKEN": token}) as proxy:
        printed = subprocess.run(
            [
                str(Path(sys.executable).parent / "litellm-plugins"),
                "claude-settings",
                "--url",
                proxy.url,
                "--model",
                "default",
            ],
            cwd=tmp_path,
            env=base_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        env = json.loads(printed.stdout)["env"]
        assert env["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"] == "1"  # Claude Code asks for /v1/models
        marker = f"settings-{uuid.uuid4().hex[:6]}"
        run = run_claude(
            f"Reply with {marker}",
            base_url=env.pop("ANTHROPIC_BASE_URL"),
            workdir=tmp_path / "claude",
            env=env,
        )
        assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
        assert "fake-openai deepseek-chat says:" in run.stdout and marker in run.stdout
        assert 'GET /v1/models?limit=1000 HTTP/1.1" 200' in proxy.log_text()
        assert token not in proxy.log_text()
