"""Recorded Claude Code requests (tests/fixtures) and a counting fake token counter for the routing tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litellm_plugins.routing.request_facts import RequestFacts

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KINDS = ("haiku", "thinking", "image", "web_search", "subagent")


def recorded(kind: str) -> dict[str, Any]:
    """{"headers", "body"} of tests/fixtures/claude_code_<kind>_request.json."""
    document = json.loads((FIXTURES / f"claude_code_{kind}_request.json").read_text(encoding="utf-8"))
    return {"headers": document["headers"], "body": document["body"]}


class FakeCounter:
    """An injectable token counter that answers `tokens` and counts its calls."""

    def __init__(self, tokens: int | None = 1000) -> None:
        self.tokens = tokens
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, model: str, body: Mapping[str, Any], messages_format: str) -> int | None:
        self.calls.append((model, messages_format))
        return self.tokens


def facts_for(
    kind: str, counter: FakeCounter | None = None, client: str | None = "alice", **overrides: Any
) -> RequestFacts:
    request = recorded(kind)
    body = {**request["body"], **overrides}
    return RequestFacts(
        body, openai_format=False, headers=request["headers"], client=client, counter=counter or FakeCounter()
    )
