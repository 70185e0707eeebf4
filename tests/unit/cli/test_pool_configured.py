"""`pool_configured`: whether `claude-settings` may tell Claude Code it needs no login of its own."""

from __future__ import annotations

import pytest

from litellm_plugins.cli.commands import pool_configured


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"CLAUDE_OAUTH_TOKENS": "sk-ant-oat01-x"}, True),
        ({"CLAUDE_OAUTH_CREDENTIALS": "/secrets/claude.json"}, True),
        ({"CLAUDE_OAUTH_PAIRS": "sk-ant-oat01-x:sk-ant-ort01-y"}, True),
        ({"CLAUDE_OAUTH_PAIRS": "  "}, False),
        ({"CLAUDE_OAUTH_CREDENTIALS": "/secrets/claude.json", "CLAUDE_TOKEN_MODE": "passthrough"}, False),
    ],
)
def test_oauth_pairs_count_as_a_pool(environ: dict[str, str], expected: bool) -> None:
    assert pool_configured(environ) is expected
