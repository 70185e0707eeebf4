"""The real Claude Code CLI authenticating with a proxy token sent through
ANTHROPIC_CUSTOM_HEADERS, and failing cleanly (no retry storm) with a wrong one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import session_model_list
from tests.e2e.claude_cli import run_claude
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess, plugin_config

pytestmark = pytest.mark.e2e

TOKEN = "e2e-proxy-token-0123456789abcdef0123456789ab"
WRONG = "e2e-wrong-token-0123456789abcdef0123456789ab"
CLIENT_KEY = "sk-ant-api03-e2e-client-key-never-forwarded-0000"
MAX_REJECTED_REQUESTS = 3


@pytest.fixture(scope="module")
def token_proxy(
    openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    config = plugin_config(session_model_list(openai_fake), aliases={"claude-*": "default"})
    env = {"PROXY_STATIC_TOKENS": f"laptop:{TOKEN}"}
    process = ProxyProcess(config, tmp_path_factory.mktemp("e2e-auth"), env=env, name="auth").start()
    yield process
    process.stop()


def claude_env(token: str) -> dict[str, str]:
    return {
        "ANTHROPIC_API_KEY": CLIENT_KEY,
        "ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-api-key: {token}",
        "ANTHROPIC_MODEL": "claude-sonnet-4-5",
    }


def rejected_requests(log: str) -> int:
    return len(re.findall(r'"POST /v1/messages[^"]*" 401', log))


def test_claude_code_authenticates_with_a_custom_header(
    token_proxy: ProxyProcess, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    marker = f"mango-{uuid.uuid4().hex[:6]}"
    run = run_claude(
        f"Reply with the word {marker}", base_url=token_proxy.url, workdir=tmp_path, env=claude_env(TOKEN)
    )
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert marker in run.stdout
    assert rejected_requests(token_proxy.log_text()) == 0
    assert TOKEN not in token_proxy.log_text()


def test_claude_code_fails_cleanly_with_a_wrong_token(
    token_proxy: ProxyProcess, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    before = rejected_requests(token_proxy.log_text())
    served_before = len(openai_fake.requests.all())
    run = run_claude(
        "Reply with the word nope", base_url=token_proxy.url, workdir=tmp_path, env=claude_env(WRONG)
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    # Claude Code shows the proxy's message: what is wrong and how to send the token.
    assert re.search(r"invalid (proxy token|api key)", output, re.IGNORECASE), output
    rejected = rejected_requests(token_proxy.log_text()) - before
    assert 1 <= rejected <= MAX_REJECTED_REQUESTS, f"{rejected} rejected requests: a retry storm"
    assert len(openai_fake.requests.all()) == served_before  # nothing reached the provider
    log = token_proxy.log_text()
    assert WRONG not in log and TOKEN not in log and CLIENT_KEY not in log
