"""The real Claude Code CLI through the rotator: pooled tokens answer 429, the proxy fails over
inside the request, and Claude Code never sees an error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.claude_cli import run_claude
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import ProxyProcess
from tests.integration.test_rotator_proxy import ALICE, POOL, rotator_config, rotator_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pool_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(oauth_tokens=POOL).start()
    yield fake
    fake.stop()


def test_claude_code_session_survives_rate_limited_tokens(
    pool_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    for token in POOL[:2]:
        pool_fake.rate_limit(token, retry_after=600)
    marker = f"rotated-{uuid.uuid4().hex[:6]}"
    with ProxyProcess(rotator_config(pool_fake, openai_fake), tmp_path / "proxy", env=rotator_env()) as proxy:
        run = run_claude(
            f"Reply with the word {marker}",
            base_url=proxy.url,
            workdir=tmp_path / "claude",
            env={
                "ANTHROPIC_API_KEY": "sk-ant-api03-e2e-client-placeholder-0000",
                "ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-api-key: {ALICE}",
                "ANTHROPIC_MODEL": "claude-sonnet-4-5",
            },
        )
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert "fake-anthropic claude-sonnet-4-5 says:" in run.stdout and marker in run.stdout
    served = [r for r in pool_fake.requests.all() if r.path == "/v1/messages"]
    assert [r.status for r in served if r.credential in POOL[:2]] and all(
        r.status == 429 for r in served if r.credential in POOL[:2]
    )
    assert any(r.credential == POOL[2] and r.status == 200 for r in served)
    assert all(r.credential in POOL for r in served)  # never the client's placeholder key
