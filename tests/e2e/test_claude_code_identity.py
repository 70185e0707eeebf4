"""The strict Anthropic fake's `require_claude_code` check against the real Claude Code CLI: what
the CLI really sends with an OAuth token (its user agent, betas and system prompt identity) passes,
so the check tests for Claude Code and not for a guess of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.claude_cli import run_claude
from tests.fakes.anthropic_messages import CLAUDE_CODE_IDENTITIES, FakeAnthropic

pytestmark = pytest.mark.e2e

OAUTH = "sk-ant-oat01-e2e-identity-" + "i" * 40


@pytest.fixture(scope="module")
def strict_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(oauth_tokens=(OAUTH,), require_claude_code=True).start()
    yield fake
    fake.stop()


def test_the_real_cli_with_an_oauth_token_passes_the_identity_check(
    strict_fake: FakeAnthropic, tmp_path: Path
) -> None:
    run = run_claude(
        "hello from the real CLI",
        base_url=strict_fake.url,
        workdir=tmp_path,
        env={"CLAUDE_CODE_OAUTH_TOKEN": OAUTH},
        extra_args=("--model", "claude-sonnet-4-5"),
    )
    assert run.returncode == 0, run.stderr
    assert "fake-anthropic claude-sonnet-4-5 says: hello from the real CLI" in run.stdout
    [request] = [r for r in strict_fake.requests.all() if r.path == "/v1/messages"]
    assert request.status == 200 and request.credential == OAUTH
    texts = [block["text"] for block in request.body["system"]]
    assert any(text.startswith(CLAUDE_CODE_IDENTITIES) for text in texts)
