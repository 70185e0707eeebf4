"""The README's Verify commands, taken from the README itself and run with bash as a user types
them, against `litellm-plugins serve` started as the Quick start says, in a fresh project folder.
When the README drifts (a command, a header, a model that is not live), this test breaks.

Two things differ from a user's machine, and only these: the proxy listens on a free port instead
of 4000 (the commands' `127.0.0.1:4000` is rewritten to it, and `PROXY_URL` says it to
`litellm-plugins pool`), and Anthropic's API is the strict fake (the user's config.yaml points the
`anthropic` groups at it and declares it Anthropic's API)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from litellm_plugins.cli.quickstart import read_env_file
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.harness import REPO_ROOT, base_environment, free_port

pytestmark = pytest.mark.integration

POOL_TOKEN = "sk-ant-oat01-readme-verify-" + "v" * 40


def verify_block() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Verify\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "the README's Verify section must start its commands with a ```bash block"
    return match.group(1)


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(oauth_tokens=(POOL_TOKEN,)).start()
    yield fake
    fake.stop()


def project_folder(root: Path, anthropic_fake: FakeAnthropic) -> Path:
    """A clone after `scripts/serve.sh` installed `.venv`, with the pool in `.env`."""
    project = root / "litellm_plugins"
    project.mkdir()
    (project / ".venv").symlink_to(Path(sys.prefix))
    config = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text(encoding="utf-8"))
    for deployment in config["model_list"]:
        if deployment["model_name"].startswith("anthropic"):
            deployment["litellm_params"]["api_base"] = anthropic_fake.url
    config["litellm_plugins"]["anthropic_api_bases"] = [anthropic_fake.url]
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (project / ".env").write_text(f"CLAUDE_OAUTH_TOKENS={POOL_TOKEN}\n", encoding="utf-8")
    return project


def user_environment(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = base_environment()
    env.pop("LITELLM_MASTER_KEY")  # serve generates it into .env, as for a user
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != Path(venv_bin)
    )
    env.pop("VIRTUAL_ENV", None)
    env["HOME"] = str(home)
    env.update(extra)
    return env


def test_the_readme_verify_commands_work_as_typed(tmp_path: Path, anthropic_fake: FakeAnthropic) -> None:
    project = project_folder(tmp_path, anthropic_fake)
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    log_path = tmp_path / "serve.log"
    serve_env = user_environment(home, {})
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(project / ".venv" / "bin" / "litellm-plugins"), "serve", "--port", str(port)],
            cwd=project,
            env=serve_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.25)
        block = verify_block().replace("127.0.0.1:4000", f"127.0.0.1:{port}")
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=project,
            env=user_environment(home, {"PROXY_URL": f"http://127.0.0.1:{port}"}),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    output = run.stdout
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    lines = output.splitlines()
    assert '"I\'m alive!"' in lines, output
    models = json.loads(next(line for line in lines if line.startswith('{"data"')))
    assert {"anthropic", "anthropic-fast"} <= {model["id"] for model in models["data"]}
    assert re.search(r"^claude +fp:[0-9a-f]{8} +healthy", output, re.MULTILINE), (
        output
    )  # the pool's one token
    answer = json.loads(lines[-1])
    assert answer["type"] == "message" and answer["role"] == "assistant", answer
    assert answer["content"][0]["text"].endswith("hi")
    assert "sk-ant-" not in output
    token = read_env_file(project / ".env")["PROXY_STATIC_TOKEN"]
    assert token not in output
    assert "request: client='default' model='claude-haiku-4-5' group='anthropic-fast'" in log_path.read_text()
