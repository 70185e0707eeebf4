"""The quick start's `litellm-plugins serve` on a fresh directory with no provider keys."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from litellm_plugins.cli.quickstart import read_env_file
from litellm_plugins.cli.workers import usable_cpus
from tests.harness import REPO_ROOT, base_environment, free_port

pytestmark = pytest.mark.integration


def test_serve_generates_secrets_and_starts_with_the_embedded_default(tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / "config.yaml.example", tmp_path / "config.yaml.example")
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = base_environment()
    env.pop("LITELLM_MASTER_KEY")  # the quick start must generate it
    command = [str(Path(sys.executable).parent / "litellm-plugins"), "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        else:
            pytest.fail(f"serve did not come up:\n{log_path.read_text()[-3000:]}")
        secrets = read_env_file(tmp_path / ".env")
        assert (tmp_path / "config.yaml").exists()
        info = httpx.get(
            f"http://127.0.0.1:{port}/model/info",
            headers={"Authorization": f"Bearer {secrets['LITELLM_MASTER_KEY']}"},
        )
        assert info.status_code == 200
        # Only the Anthropic groups are live with no provider key.
        names = sorted({m["model_name"] for m in info.json()["data"]})
        assert names == ["anthropic", "anthropic-fast"], names
        output = log_path.read_text()
        assert "live model groups:" in output and "  - anthropic" in output
        assert "workers: 1\n" in output  # no REDIS_URL: one worker, and how to use the other cores
        assert ("set REDIS_URL to run a worker on each" in output) is (usable_cpus() > 1)
        assert "DEEPSEEK_API_KEY" in output  # says how to turn a provider on
        for value in secrets.values():
            assert value not in output
        assert "<PROXY_STATIC_TOKEN>" not in output  # no placeholder to paste
        # The banner's command, pasted as printed, prints the settings with the real token and URL,
        # for the default path (the user's own Claude login: no pool in .env).
        [command_line] = re.findall(r"print them \(with your proxy token\):\s+(.+)", output)
        printed = subprocess.run(
            shlex.split(command_line),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert printed.returncode == 0, printed.stderr
        settings = json.loads(printed.stdout)["env"]
        assert settings["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{port}"
        assert settings["ANTHROPIC_CUSTOM_HEADERS"].startswith(
            f"x-litellm-api-key: {secrets['PROXY_STATIC_TOKEN']}"
        )
        assert "ANTHROPIC_AUTH_TOKEN" not in settings
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
