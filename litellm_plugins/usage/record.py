"""One request's usage, from what LiteLLM and the rotator already recorded (pure).

A :class:`UsageRecord` names the client (its proxy token's name), the group and deployment that
served, the pooled credential's fingerprint, the status the client got, and the tokens the
provider reported: `input` (not read from or written to the prompt cache), `output`,
`cache_read` and `cache_write`. LiteLLM's `prompt_tokens` includes the cached ones (Anthropic's
`cache_read_input_tokens` and `cache_creation_input_tokens`, OpenAI's
`prompt_tokens_details.cached_tokens`), so `input = prompt_tokens - cache_read - cache_write`:
for Anthropic that is the `input_tokens` the API reported.

The group is counted only when it is one of the proxy's model groups (:func:`bounded`) and a
deployment answered (or failed on) the request: anything else is counted under the group and
deployment `-`, so a client cannot grow the counters with made-up model names. No credential
is ever read: the pooled token is the fingerprint the rotator recorded in the request's
metadata (`litellm_plugins_rotator`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from litellm_plugins.core.metadata_keys import ROTATOR_STATE

NONE: Final = "-"  # a dimension the request did not have (no pooled token, not routed)
MAX_LABEL_CHARS: Final = 120
COUNTERS: Final = ("requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass(frozen=True)
class UsageRecord:
    client: str = NONE
    group: str = NONE
    deployment: str = NONE
    token: str = NONE
    status: int = 200
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def dimensions(self) -> tuple[str, str, str, str, int]:
        return (self.client, self.group, self.deployment, self.token, self.status)

    def counts(self) -> dict[str, int]:
        """The amounts this request adds, one per name in :data:`COUNTERS`."""
        return {
            "requests": 1,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }


def label(value: object) -> str:
    """A dimension as a bounded single-line string (`-` for nothing)."""
    if not isinstance(value, str) or not value:
        return NONE
    text = "".join(ch if ch.isprintable() else "?" for ch in value)
    return text[:MAX_LABEL_CHARS]


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return 0
    return int(value)


def _field(source: object, name: str) -> object:
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def token_counts(payload: Mapping[str, Any] | None) -> tuple[int, int, int, int]:
    """(input, output, cache_read, cache_write) from LiteLLM's `standard_logging_object`."""
    if not isinstance(payload, Mapping):
        return (0, 0, 0, 0)
    metadata = payload.get("metadata")
    usage = metadata.get("usage_object") if isinstance(metadata, Mapping) else None
    prompt = _count(payload.get("prompt_tokens"))
    output = _count(payload.get("completion_tokens"))
    read = _count(_field(usage, "cache_read_input_tokens"))
    if not read:
        read = _count(_field(_field(usage, "prompt_tokens_details"), "cached_tokens"))
    write = _count(_field(usage, "cache_creation_input_tokens"))
    return (max(0, prompt - read - write), output, read, write)


def serving_token(metadata: Mapping[str, Any] | None) -> str:
    """The fingerprint of the pooled credential the last attempt used (the rotator's `serving`:
    None when that attempt, a fallback to a group with its own key say, leased none), or `-`."""
    state = metadata.get(ROTATOR_STATE) if isinstance(metadata, Mapping) else None
    serving = state.get("serving") if isinstance(state, Mapping) else None
    return label(serving) if isinstance(serving, str) and serving.startswith("fp:") else NONE


def usage_record(
    *,
    client: str | None,
    group: str | None,
    deployment: str | None,
    status: int | None,
    metadata: Mapping[str, Any] | None,
    payload: Mapping[str, Any] | None = None,
) -> UsageRecord:
    """The record of one finished request; `payload` (tokens) only for one that succeeded."""
    routed = bool(deployment)
    tokens = token_counts(payload)
    return UsageRecord(
        client=label(client),
        group=label(group) if routed else NONE,
        deployment=label(deployment),
        token=serving_token(metadata),
        status=status if isinstance(status, int) and 100 <= status <= 599 else 500,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_read_tokens=tokens[2],
        cache_write_tokens=tokens[3],
    )


def bounded(record: UsageRecord, group_names: Collection[str]) -> UsageRecord:
    """`record` with group and deployment `-` unless its group is one of `group_names` (the
    router's; an empty collection, outside a proxy, bounds nothing)."""
    if not group_names or record.group in group_names:
        return record
    return replace(record, group=NONE, deployment=NONE)


@dataclass(frozen=True)
class Failover:
    """One pooled token that failed inside a request and was replaced (`<pool> fp:... HTTP 429`)."""

    pool: str
    token: str
    status: str


def parse_failover(text: str) -> Failover | None:
    parts = text.split()
    if len(parts) != 4 or parts[2] != "HTTP" or not parts[1].startswith("fp:"):
        return None
    return Failover(label(parts[0]), label(parts[1]), parts[3] if parts[3].isdigit() else NONE)
