"""Usage counting (litellm_plugins.usage): records, windows, the in-process store, the report and
the request log handing each request to the counter, with an injectable clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from litellm_plugins.request_log.hook import RequestLog
from litellm_plugins.usage.counter import UsageCounter
from litellm_plugins.usage.record import UsageRecord, bounded, parse_failover, token_counts, usage_record
from litellm_plugins.usage.report import build_report, format_usage
from litellm_plugins.usage.store import LocalUsageStore, decode_field, encode_field
from litellm_plugins.usage.windows import buckets_to_add, buckets_to_read, window_start

NOON = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC).timestamp()
ALICE = UsageRecord("alice", "sonnet", "anthropic/claude-sonnet-4-5", "fp:1a2b3c4d", 200, 10, 5, 100, 20)


def test_token_counts_split_litellms_prompt_tokens_into_uncached_and_cache_reads_and_writes() -> None:
    anthropic = {
        "prompt_tokens": 130,
        "completion_tokens": 7,
        "metadata": {"usage_object": {"cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}},
    }
    assert token_counts(anthropic) == (10, 7, 100, 20)
    openai = {
        "prompt_tokens": 42,
        "completion_tokens": 3,
        "metadata": {"usage_object": {"prompt_tokens_details": {"cached_tokens": 40}}},
    }
    assert token_counts(openai) == (2, 3, 40, 0)
    assert token_counts({"prompt_tokens": True, "completion_tokens": -4}) == (0, 0, 0, 0)
    assert token_counts(None) == (0, 0, 0, 0)


def test_a_record_names_the_token_that_served_and_no_group_for_a_request_never_routed() -> None:
    metadata = {"litellm_plugins_rotator": {"leases": ["fp:aaaaaaaa"], "serving": "fp:bbbbbbbb"}}
    served = usage_record(
        client="alice", group="sonnet", deployment="anthropic/x", status=200, metadata=metadata
    )
    assert (served.token, served.group) == ("fp:bbbbbbbb", "sonnet")
    fallback = {"litellm_plugins_rotator": {"leases": ["fp:aaaaaaaa"], "serving": None}}
    served_by_fallback = usage_record(
        client="alice", group="deepseek", deployment="openai/x", status=200, metadata=fallback
    )
    assert served_by_fallback.token == "-"  # the pooled token leased earlier did not serve
    refused = usage_record(
        client="bob", group="made-up-model-\n" + "x" * 500, deployment=None, status=400, metadata=None
    )
    assert (refused.group, refused.deployment, refused.token, refused.status) == ("-", "-", "-", 400)
    weird = usage_record(client="a\x1bb", group="g", deployment="d" * 500, status=None, metadata={})
    assert weird.client == "a?b" and len(weird.deployment) == 120 and weird.status == 500


def test_a_group_the_proxy_does_not_have_is_counted_as_none() -> None:
    made_up = UsageRecord("bob", "no-such-group", "no-such-group", "-", 400)
    assert bounded(made_up, {"sonnet"}).dimensions == ("bob", "-", "-", "-", 400)
    assert bounded(ALICE, {"sonnet"}) == ALICE
    assert bounded(made_up, ()) == made_up  # outside a proxy: no router to ask


def test_the_counter_bounds_groups_and_fallbacks_by_the_routers_names() -> None:
    counter = UsageCounter(clock=lambda: NOON, group_names=lambda: {"sonnet"})

    async def scenario() -> dict[str, Any]:
        await counter.record(UsageRecord("bob", "made-up", "made-up", "-", 400), (), ())
        await counter.record(ALICE, (), ("also-made-up",))
        return await counter.report("total")

    rows = asyncio.run(scenario())["rows"]
    assert [(row["client"], row["group"], row["deployment"]) for row in rows] == [
        ("alice", "sonnet", "anthropic/claude-sonnet-4-5"),
        ("bob", "-", "-"),
    ]


def test_failovers_are_parsed_from_the_rotators_notes() -> None:
    found = parse_failover("claude fp:1a2b3c4d HTTP 429")
    assert found is not None and (found.pool, found.token, found.status) == ("claude", "fp:1a2b3c4d", "429")
    assert parse_failover("claude sk-ant-secret HTTP 429") is None
    assert parse_failover("garbage") is None


def test_buckets_a_minute_a_utc_day_and_the_total() -> None:
    assert buckets_to_add(NOON) == [
        (f"minute:{int(NOON // 60)}", 7200),
        ("day:2026-12-01", 172800),
        ("total", None),
    ]
    hour = buckets_to_read("hour", NOON)
    assert len(hour) == 60 and hour[-1] == f"minute:{int(NOON // 60)}"
    assert buckets_to_read("today", NOON) == ["day:2026-12-01"]
    assert window_start("today", NOON) == datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="hour, today, total"):
        buckets_to_read("week", NOON)


def test_the_store_counts_over_rolling_windows_and_forgets_expired_buckets() -> None:
    store = LocalUsageStore()
    store.add_now(ALICE, NOON - 3 * 3600)  # 09:00 the same day
    store.add_now(ALICE, NOON - 30 * 60)
    store.add_now(ALICE, NOON)
    key = ALICE.dimensions
    assert store.read_now("hour", NOON)[key]["requests"] == 2
    assert store.read_now("today", NOON)[key]["requests"] == 3
    assert store.read_now("total", NOON)[key] == {
        "requests": 3,
        "input_tokens": 30,
        "output_tokens": 15,
        "cache_read_tokens": 300,
        "cache_write_tokens": 60,
    }
    # An hour and a minute later the two earlier requests have left the hour window.
    assert store.read_now("hour", NOON + 3540)[key]["requests"] == 1
    assert key not in store.read_now("hour", NOON + 3660)
    # Two days later: a new day, the old minute and day buckets are dropped, the total stays.
    later = NOON + 2 * 86400 + 60
    store.add_now(UsageRecord("bob"), later)
    assert store.read_now("total", later)[key]["requests"] == 3
    assert key not in store.read_now("today", later)
    assert store.bucket_count() == 3  # bob's minute and day, and the total


def test_redis_fields_round_trip_and_refuse_garbage() -> None:
    field = encode_field(ALICE.dimensions, "requests")
    assert decode_field(field.encode()) == (ALICE.dimensions, "requests")
    assert decode_field("not json") is None
    assert decode_field(json.dumps(["a", "b"])) is None


def test_report_rows_sum_statuses_and_errors_per_client() -> None:
    failed = UsageRecord("alice", "sonnet", "anthropic/claude-sonnet-4-5", "fp:1a2b3c4d", 429)
    store = LocalUsageStore()
    for record in (
        ALICE,
        ALICE,
        failed,
        UsageRecord("bob", "deepseek", "openai/deepseek-chat", "-", 200, 42, 9),
    ):
        store.add_now(record, NOON)
    report = build_report(store.read_now("today", NOON), "today", window_start("today", NOON), "in-process")
    [alice_row, bob_row] = report["rows"]
    assert alice_row["statuses"] == {"200": 2, "429": 1}
    assert (alice_row["requests"], alice_row["errors"], alice_row["cache_read_tokens"]) == (3, 1, 200)
    assert (bob_row["client"], bob_row["token"], bob_row["output_tokens"]) == ("bob", "-", 9)
    assert report["clients"]["bob"]["input_tokens"] == 42
    table = format_usage(report)
    lines = table.splitlines()
    assert lines[0] == "usage today (since 2026-12-01 00:00 UTC), shared state in-process"
    assert lines[1].split() == [
        "client", "group", "deployment", "token", "requests", "errors", "input", "output", "cache_read",
        "cache_write",
    ]  # fmt: skip
    assert lines[2].split() == [
        "alice", "sonnet", "anthropic/claude-sonnet-4-5", "fp:1a2b3c4d", "3", "1", "20", "10", "200", "40",
    ]  # fmt: skip
    assert lines[-1].split() == ["total", "4", "1", "62", "19", "200", "40"]
    assert "(no requests in this window)" in format_usage(build_report({}, "hour", None, "redis"))


SUCCESS = {
    "model_group": "sonnet",
    "model": "anthropic/claude-sonnet-4-5",
    "prompt_tokens": 130,
    "completion_tokens": 7,
    "metadata": {
        "user_api_key_auth_metadata": {"proxy_token_name": "alice"},
        "usage_object": {"cache_read_input_tokens": 100, "cache_creation_input_tokens": 20},
    },
}
FAILURE = {
    "model_group": "flaky",
    "model": "openai/flaky",
    "error_information": {"error_class": "InternalServerError", "error_code": "500"},
}


def test_the_request_log_hands_each_request_once_to_the_usage_counter() -> None:
    clock = [NOON]
    counter = UsageCounter(clock=lambda: clock[0])
    plugin = RequestLog(clock=lambda: 1.0, usage=counter)
    data: dict[str, Any] = {"model": "claude-sonnet-4-5", "litellm_metadata": {}}

    async def scenario() -> dict[str, Any]:
        await plugin.async_pre_call_hook(None, None, data, "anthropic_messages")
        metadata = data["litellm_metadata"]
        metadata["litellm_plugins_rotator"] = {"leases": ["fp:1a2b3c4d"], "serving": "fp:1a2b3c4d"}
        kwargs = {"litellm_params": {"metadata": metadata}}
        await plugin.async_log_failure_event({**kwargs, "standard_logging_object": FAILURE}, None, None, None)
        for _ in range(2):  # a repeated success event is not counted twice
            await plugin.async_log_success_event(
                {**kwargs, "standard_logging_object": SUCCESS}, None, None, None
            )
        refused: dict[str, Any] = {"model": "nope", "metadata": {}}
        await plugin.async_pre_call_hook(None, None, refused, "acompletion")
        await plugin.async_post_call_failure_hook(refused, ValueError("bad"), None)
        return await counter.report("today")

    report = asyncio.run(scenario())
    rows = {(row["client"], row["group"]): row for row in report["rows"]}
    assert set(rows) == {("alice", "sonnet"), ("-", "-")}
    served = rows[("alice", "sonnet")]
    assert (served["requests"], served["token"], served["input_tokens"], served["output_tokens"]) == (
        1,
        "fp:1a2b3c4d",
        10,
        7,
    )
    assert (served["cache_read_tokens"], served["cache_write_tokens"]) == (100, 20)
    assert rows[("-", "-")]["statuses"] == {"500": 1}


def test_a_failing_counter_never_fails_the_request(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(UsageCounter):
        async def record(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("store down")

    plugin = RequestLog(clock=lambda: 1.0, usage=Broken())
    data: dict[str, Any] = {"model": "m", "litellm_metadata": {}}

    async def scenario() -> None:
        await plugin.async_pre_call_hook(None, None, data, "acompletion")
        kwargs = {
            "litellm_params": {"metadata": data["litellm_metadata"]},
            "standard_logging_object": SUCCESS,
        }
        await plugin.async_log_success_event(kwargs, None, None, None)

    asyncio.run(scenario())
    assert "usage: a request was not counted (RuntimeError)" in caplog.text
