"""The strict fake Anthropic Messages API, tested directly over HTTP (and through the official SDK)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes.anthropic_messages import THINKING_TEXT, FakeAnthropic, Fault

KEY = "sk-ant-api03-fake-key"
KEY2 = "sk-ant-api03-second-key"
TOKEN = "sk-ant-oat01-fake-oauth-token"
TOKEN2 = "sk-ant-oat01-second-token"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "claude_code_request.json"
HOSTS = "127.0.0.1 localhost"
READ_TOOL = {
    "name": "Read",
    "description": "Read a file",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic(api_keys=(KEY, KEY2), oauth_tokens=(TOKEN, TOKEN2)).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reset(fake: FakeAnthropic) -> Iterator[None]:
    yield
    fake.faults.clear()
    fake.credential_faults.clear()


def key_headers(key: str = KEY, **extra: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01", **extra}


def oauth_headers(token: str = TOKEN, beta: str = "claude-code-20250219,oauth-2025-04-20") -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "anthropic-version": "2023-06-01", "anthropic-beta": beta}


def body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def post(
    fake: FakeAnthropic, payload: Any, headers: dict[str, str] | None = None, path: str = "/v1/messages"
) -> httpx.Response:
    sent = key_headers() if headers is None else headers
    return httpx.post(f"{fake.url}{path}", json=payload, headers=sent, timeout=10)


def assert_error(response: httpx.Response, status: int, type_: str, message: str | None = None) -> str:
    assert response.status_code == status, response.text
    data = response.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == type_
    assert data["request_id"].startswith("req_")
    assert response.headers["request-id"] == data["request_id"]
    if message is not None:
        assert message in data["error"]["message"], data["error"]["message"]
    return data["error"]["message"]


def tool_history(thinking_first: bool, fake: FakeAnthropic, redacted: bool = False) -> list[dict[str, Any]]:
    assistant: list[dict[str, Any]] = [
        {"type": "tool_use", "id": "toolu_01abc", "name": "Read", "input": {"path": "/etc/hosts"}}
    ]
    if redacted:
        assistant.insert(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"})
    elif thinking_first:
        text = "I should read it."
        assistant.insert(0, {"type": "thinking", "thinking": text, "signature": fake.sign(text)})
    return [
        {"role": "user", "content": 'CALL_TOOL Read {"path": "/etc/hosts"}'},
        {"role": "assistant", "content": assistant},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_01abc", "content": HOSTS}],
        },
    ]


# -- auth and headers ---------------------------------------------------------------------------
def test_api_key_gets_a_full_message(fake: FakeAnthropic) -> None:
    response = post(fake, body("hello there"))
    assert response.status_code == 200, response.text
    assert response.headers["request-id"].startswith("req_")
    message = response.json()
    assert (
        message["id"].startswith("msg_") and message["type"] == "message" and message["role"] == "assistant"
    )
    assert message["model"] == "claude-sonnet-4-5"
    assert message["content"] == [
        {"type": "text", "text": "fake-anthropic claude-sonnet-4-5 says: hello there"}
    ]
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    usage = message["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["cache_creation_input_tokens"] == 0 and usage["cache_read_input_tokens"] == 0
    assert fake.requests.last("/v1/messages").credential == KEY


def test_bad_or_missing_api_key_is_401(fake: FakeAnthropic) -> None:
    for headers in (key_headers("sk-ant-api03-wrong"), {"anthropic-version": "2023-06-01"}):
        assert_error(post(fake, body(), headers), 401, "authentication_error", "invalid x-api-key")


def test_oauth_bearer_needs_the_oauth_beta(fake: FakeAnthropic) -> None:
    ok = post(fake, body(), oauth_headers(TOKEN2))
    assert ok.status_code == 200, ok.text
    assert fake.requests.last("/v1/messages").credential == TOKEN2
    assert_error(
        post(fake, body(), oauth_headers(beta="claude-code-20250219")),
        401,
        "authentication_error",
        "OAuth authentication is currently not supported.",
    )
    unknown = post(fake, body(), oauth_headers("sk-ant-oat01-unknown"))
    assert_error(unknown, 401, "authentication_error", "invalid x-api-key")
    bearer_key = {
        "authorization": f"Bearer {KEY}",
        "anthropic-version": "2026-10-21",
    }  # how the SDK 2.x sends keys
    assert post(fake, body(), bearer_key).status_code == 200
    assert fake.requests.last("/v1/messages").credential == KEY


def test_a_refreshed_away_or_expired_oauth_token_gets_the_real_401() -> None:
    fake = FakeAnthropic(oauth_tokens=("sk-ant-oat01-old-" + "o" * 20,)).start()
    try:
        old, new = "sk-ant-oat01-old-" + "o" * 20, "sk-ant-oat01-new-" + "n" * 20
        fake.replace_oauth_token(old, new)
        expired = "OAuth token has expired. Please obtain a new token or refresh your existing token."
        assert_error(post(fake, body(), oauth_headers(old)), 401, "authentication_error", expired)
        assert post(fake, body(), oauth_headers(new)).status_code == 200
        fake.expire_oauth_token(new)
        assert_error(post(fake, body(), oauth_headers(new)), 401, "authentication_error", expired)
    finally:
        fake.stop()


def test_anthropic_version_is_required(fake: FakeAnthropic) -> None:
    response = post(fake, body(), {"x-api-key": KEY})
    assert_error(response, 400, "invalid_request_error", "anthropic-version: header is required")
    assert_error(
        post(fake, body(), key_headers(**{"anthropic-version": "latest"})), 400, "invalid_request_error"
    )


def test_beta_query_and_unknown_routes(fake: FakeAnthropic) -> None:
    assert post(fake, body(), path="/v1/messages?beta=true").status_code == 200
    assert_error(httpx.get(f"{fake.url}/v1/models", headers=key_headers()), 404, "not_found_error")
    assert_error(post(fake, body(), path="/v1/complete"), 404, "not_found_error")


# -- request validation -------------------------------------------------------------------------
def test_max_tokens_limits_and_models(fake: FakeAnthropic) -> None:
    message = assert_error(post(fake, body(max_tokens=64001)), 400, "invalid_request_error")
    assert message == (
        "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for "
        "claude-sonnet-4-5"
    )
    opus = {**body(), "model": "claude-opus-4-1", "max_tokens": 32001}
    assert_error(post(fake, opus), 400, "invalid_request_error", "32001 > 32000")
    assert_error(post(fake, body(max_tokens=0)), 400, "invalid_request_error", "max_tokens")
    assert post(fake, {**body(), "model": "claude-sonnet-5", "max_tokens": 64000}).status_code == 200
    assert_error(post(fake, {**body(), "model": "gpt-4o"}), 404, "not_found_error", "model: gpt-4o")


def test_unknown_and_missing_keys_rejected(fake: FakeAnthropic) -> None:
    assert_error(post(fake, body(foo=1)), 400, "invalid_request_error", "foo: Extra inputs are not permitted")
    payload = body()
    del payload["max_tokens"]
    assert_error(post(fake, payload), 400, "invalid_request_error", "max_tokens: Field required")
    assert_error(post(fake, {**body(), "messages": []}), 400, "invalid_request_error", "messages")
    assert_error(post(fake, [1, 2]), 400, "invalid_request_error")
    bad_role = {**body(), "messages": [{"role": "tool", "content": "x"}]}
    assert_error(post(fake, bad_role), 400, "invalid_request_error", "messages.0.role")
    empty_text = {**body(), "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}
    assert_error(
        post(fake, empty_text), 400, "invalid_request_error", "text content blocks must be non-empty"
    )


def test_system_role_messages_are_generally_available(fake: FakeAnthropic) -> None:
    payload = {
        **body(),
        "messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "be brief"}],
    }
    assert post(fake, payload).json()["content"][0]["text"].endswith("says: hi")
    payload["messages"][1]["role"] = "developer"
    assert_error(post(fake, payload), 400, "invalid_request_error", "messages.1.role")


def test_system_role_messages_need_the_beta_on_an_older_api() -> None:
    older = FakeAnthropic(api_keys=(KEY,), mid_conversation_system_ga=False).start()
    try:
        payload = {
            **body(),
            "messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "be brief"}],
        }
        assert_error(post(older, payload), 400, "invalid_request_error", "messages.1.role")
        headers = key_headers(**{"anthropic-beta": "mid-conversation-system-2026-04-07"})
        assert post(older, payload, headers).json()["content"][0]["text"].endswith("says: hi")
    finally:
        older.stop()


def test_tools_and_images_validated(fake: FakeAnthropic) -> None:
    no_schema = body(tools=[{"name": "Read"}])
    assert_error(
        post(fake, no_schema), 400, "invalid_request_error", "tools.0.custom.input_schema: Field required"
    )
    bad_schema = body(tools=[{"name": "Read", "input_schema": {"type": "array"}}])
    assert_error(post(fake, bad_schema), 400, "invalid_request_error", "input_schema.type")
    server_tool = body(
        tools=[READ_TOOL, {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]
    )
    assert post(fake, server_tool).status_code == 200
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    with_image = {
        **body(),
        "messages": [{"role": "user", "content": [image, {"type": "text", "text": "what?"}]}],
    }
    assert post(fake, with_image).json()["content"][0]["text"].endswith("what? [saw an image]")
    image["source"]["media_type"] = "image/bmp"
    assert_error(post(fake, with_image), 400, "invalid_request_error", "media_type")


def test_thinking_parameter_rules(fake: FakeAnthropic) -> None:
    low = body(thinking={"type": "enabled", "budget_tokens": 512})
    assert_error(post(fake, low), 400, "invalid_request_error", "greater than or equal to 1024")
    over = body(max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 2000})
    assert_error(post(fake, over), 400, "invalid_request_error", "`max_tokens` must be greater than")
    assert_error(post(fake, body(thinking={"type": "sometimes"})), 400, "invalid_request_error", "thinking")
    hot = body(thinking={"type": "adaptive"}, temperature=0.2)
    assert_error(post(fake, hot), 400, "invalid_request_error", "temperature")
    reply = post(fake, body(max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 1024})).json()
    assert reply["content"][0] == {
        "type": "thinking",
        "thinking": THINKING_TEXT,
        "signature": fake.sign(THINKING_TEXT),
    }
    assert reply["content"][1]["type"] == "text"
    assert [b["type"] for b in post(fake, body(thinking={"type": "disabled"})).json()["content"]] == ["text"]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"type": "thinking", "thinking": "hmm", "signature": "Zm9yZ2Vk"},
            "messages.1.content.0: Invalid `signature`",
        ),
        (
            {"type": "thinking", "thinking": "hmm", "signature": ""},
            "messages.1.content.0: Invalid `signature`",
        ),
        (
            {"type": "thinking", "thinking": "hmm"},
            "messages.1.content.0: Invalid `signature` in `thinking` block",
        ),
        (
            {"type": "thinking", "thinking": "", "signature": "x"},
            "messages.1.content.0.thinking: each thinking block",
        ),
        ({"type": "redacted_thinking", "data": ""}, "messages.1.content.0"),
    ],
)
def test_bad_thinking_blocks_rejected(fake: FakeAnthropic, block: dict[str, Any], message: str) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [block, {"type": "text", "text": "hello"}]},
        {"role": "user", "content": "again"},
    ]
    assert_error(post(fake, {**body(), "messages": messages}), 400, "invalid_request_error", message)


def test_signed_thinking_block_accepted(fake: FakeAnthropic) -> None:
    signed = {"type": "thinking", "thinking": "hmm", "signature": fake.sign("hmm")}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [signed, {"type": "text", "text": "hello"}]},
        {"role": "user", "content": "again"},
    ]
    response = post(fake, {**body(), "messages": messages})
    assert response.status_code == 200, response.text
    assert fake.sign("hmm") != FakeAnthropic(signing_secret=b"other").sign("hmm")


# -- tool loops ---------------------------------------------------------------------------------
def test_tool_loop_with_thinking_needs_a_leading_thinking_block(fake: FakeAnthropic) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    history = tool_history(False, fake)
    rejected = post(fake, body(max_tokens=4096, thinking=thinking, tools=[READ_TOOL], messages=history))
    message = assert_error(rejected, 400, "invalid_request_error")
    assert message.startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When "
        "`thinking` is enabled, a final `assistant` message must start with a thinking block"
    )
    for history in (tool_history(True, fake), tool_history(False, fake, redacted=True)):
        accepted = post(fake, body(max_tokens=4096, thinking=thinking, tools=[READ_TOOL], messages=history))
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["content"][-1]["text"] == f"The tool returned: {HOSTS}"
    adaptive = body(thinking={"type": "adaptive"}, tools=[READ_TOOL], messages=tool_history(False, fake))
    assert_error(
        post(fake, adaptive), 400, "invalid_request_error", "Expected `thinking` or `redacted_thinking`"
    )
    for off in (body(tools=[READ_TOOL]), body(tools=[READ_TOOL], thinking={"type": "disabled"})):
        off["messages"] = tool_history(False, fake)
        assert post(fake, off).status_code == 200


def test_tool_ids_must_pair_up(fake: FakeAnthropic) -> None:
    history = tool_history(False, fake)
    history[2]["content"].append({"type": "tool_result", "tool_use_id": "toolu_other", "content": "?"})
    stray = post(fake, body(tools=[READ_TOOL], messages=history))
    assert_error(
        stray, 400, "invalid_request_error", "unexpected `tool_use_id` found in `tool_result` blocks"
    )
    unanswered = tool_history(False, fake)
    unanswered[2] = {"role": "user", "content": "never mind"}
    response = post(fake, body(tools=[READ_TOOL], messages=unanswered))
    assert_error(
        response, 400, "invalid_request_error", "`tool_use` ids were found without `tool_result` blocks"
    )


def test_call_tool_script_and_tool_result_reply(fake: FakeAnthropic) -> None:
    called = post(fake, body('please CALL_TOOL Read {"path": "/tmp/a.txt"}', tools=[READ_TOOL])).json()
    assert called["stop_reason"] == "tool_use"
    (tool_use,) = called["content"]
    assert tool_use["type"] == "tool_use" and tool_use["id"].startswith("toolu_")
    assert tool_use["name"] == "Read" and tool_use["input"] == {"path": "/tmp/a.txt"}
    not_offered = post(fake, body('CALL_TOOL Write {"path": "x"}', tools=[READ_TOOL])).json()
    assert not_offered["stop_reason"] == "end_turn" and not_offered["content"][0]["type"] == "text"
    result_blocks = [{"type": "text", "text": "x" * 300}]
    history = [
        {"role": "user", "content": 'CALL_TOOL Read {"path": "/tmp/a.txt"}'},
        {"role": "assistant", "content": [tool_use]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": result_blocks}],
        },
    ]
    reply = post(fake, body(tools=[READ_TOOL], messages=history)).json()
    assert reply["content"] == [{"type": "text", "text": "The tool returned: " + "x" * 200}]


# -- streaming ----------------------------------------------------------------------------------
def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in response.text.strip().split("\n\n"):
        name_line, data_line = frame.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line[6:])
        assert data["type"] == name_line[7:]
        events.append((name_line[7:], data))
    return events


def test_stream_event_order(fake: FakeAnthropic) -> None:
    text = 'CALL_TOOL Read {"path": "/tmp/a.txt"}'
    payload = body(text, stream=True, tools=[READ_TOOL], thinking={"type": "adaptive"})
    response = post(fake, payload)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-2:] == ["message_delta", "message_stop"]
    deltas = [data["delta"]["type"] for name, data in events if name == "content_block_delta"]
    assert deltas == ["thinking_delta"] * 4 + ["signature_delta"] + ["input_json_delta"] * 4
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert starts[0]["type"] == "thinking" and starts[1]["type"] == "tool_use" and starts[1]["input"] == {}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use" and events[-2][1]["usage"]["output_tokens"] > 0


def test_stream_parses_in_the_anthropic_sdk(fake: FakeAnthropic) -> None:
    client = anthropic.Anthropic(base_url=fake.url, api_key=KEY, max_retries=0)
    first_turn = {"role": "user", "content": 'Look. CALL_TOOL Read {"path": "/tmp/a.txt"}'}
    thinking = {"type": "enabled", "budget_tokens": 1024}
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=2048, thinking=thinking, tools=[READ_TOOL], messages=[first_turn]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [block.type for block in final.content] == ["thinking", "tool_use"]
    assert final.content[0].thinking == THINKING_TEXT and final.content[0].signature == fake.sign(
        THINKING_TEXT
    )
    tool_use = final.content[1]
    assert tool_use.name == "Read" and tool_use.input == {"path": "/tmp/a.txt"}
    history = [
        first_turn,
        {"role": "assistant", "content": final.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "file body"}],
        },
    ]
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=2048, thinking=thinking, tools=[READ_TOOL], messages=history
    ) as stream:
        text = "".join(stream.text_stream)
        second = stream.get_final_message()
    assert text == "The tool returned: file body"
    assert [block.type for block in second.content] == [
        "thinking",
        "text",
    ] and second.stop_reason == "end_turn"
    with pytest.raises(anthropic.BadRequestError, match="Expected `thinking`"):
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=2048, thinking=thinking, tools=[READ_TOOL],
            messages=[first_turn, {"role": "assistant", "content": [tool_use]}, history[2]],
        )  # fmt: skip


def test_claude_code_fixture_is_accepted(fake: FakeAnthropic) -> None:
    recorded = json.loads(FIXTURE.read_text())
    beta = recorded["headers"]["anthropic-beta"]
    response = post(fake, recorded["body"], oauth_headers(TOKEN, beta), path=recorded["path"])
    assert response.status_code == 200, response.text
    events = sse_events(response)
    assert events[0][0] == "message_start" and events[-1][0] == "message_stop"
    assert fake.requests.last("/v1/messages").betas == tuple(beta.split(","))


# -- per-credential behaviour and faults --------------------------------------------------------
def test_rate_limited_credential_until_cleared(fake: FakeAnthropic) -> None:
    before_served, before_attempts = fake.served(KEY2), fake.attempts(KEY2)
    reset_at = int(time.time()) + 3600
    fake.rate_limit(KEY2, reset_at=reset_at, retry_after=30)
    for _ in range(2):
        limited = post(fake, body(), key_headers(KEY2))
        assert_error(limited, 429, "rate_limit_error")
        assert limited.headers["retry-after"] == "30"
        assert limited.headers["anthropic-ratelimit-unified-reset"] == str(reset_at)
        assert limited.headers["anthropic-ratelimit-unified-status"] == "rejected"
    assert post(fake, body()).status_code == 200  # other credentials are unaffected
    assert fake.attempts(KEY2) == before_attempts + 2 and fake.served(KEY2) == before_served
    fake.set_credential_fault(KEY2, None)
    assert post(fake, body(), key_headers(KEY2)).status_code == 200
    assert fake.served(KEY2) == before_served + 1
    assert [r.status for r in fake.requests.all() if r.credential == KEY2][-3:] == [429, 429, 200]


def test_oauth_token_can_be_rate_limited(fake: FakeAnthropic) -> None:
    fake.rate_limit(TOKEN2, retry_after=5)
    response = post(fake, body(), oauth_headers(TOKEN2))
    assert_error(response, 429, "rate_limit_error")
    assert int(response.headers["anthropic-ratelimit-unified-reset"]) >= int(time.time())
    assert post(fake, body(), oauth_headers(TOKEN)).status_code == 200


def test_status_faults_are_consumed_once_with_real_shapes(fake: FakeAnthropic) -> None:
    fake.add_fault(Fault(kind="status", status=529))
    assert assert_error(post(fake, body()), 529, "overloaded_error") == "Overloaded"
    assert post(fake, body()).status_code == 200
    fake.add_fault(Fault(kind="status", status=500))
    assert_error(post(fake, body()), 500, "api_error")
    fake.add_fault(Fault(kind="status", status=429, headers={"retry-after": "7"}))
    limited = post(fake, body())
    assert_error(limited, 429, "rate_limit_error")
    assert limited.headers["retry-after"] == "7"
    assert not fake.faults


def test_faults_match_model_and_credential(fake: FakeAnthropic) -> None:
    fake.add_fault(Fault(kind="status", status=529, model="claude-haiku-4-5"))
    fake.add_fault(Fault(kind="status", status=500, credential=KEY2))
    assert post(fake, body()).status_code == 200
    assert post(fake, {**body(), "model": "claude-haiku-4-5"}).status_code == 529
    assert post(fake, body(), key_headers(KEY2)).status_code == 500
    assert not fake.faults


def test_broken_body_faults(fake: FakeAnthropic) -> None:
    fake.add_fault(Fault(kind="malformed_json"))
    broken = post(fake, body())
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    fake.add_fault(Fault(kind="empty"))
    assert post(fake, body()).content == b""
    fake.add_fault(Fault(kind="malformed_sse"))
    sse = post(fake, body(stream=True))
    assert sse.headers["content-type"].startswith("text/event-stream") and "{not json" in sse.text


def test_stall_fault_delays_then_answers(fake: FakeAnthropic) -> None:
    fake.add_fault(Fault(kind="stall", seconds=0.5))
    started = time.monotonic()
    response = post(fake, body())
    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200


# -- count_tokens -------------------------------------------------------------------------------
def test_count_tokens(fake: FakeAnthropic) -> None:
    payload = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x" * 400}]}
    fake.add_fault(Fault(kind="status", status=529))
    response = post(fake, payload, path="/v1/messages/count_tokens")
    assert response.status_code == 200, response.text
    assert response.json() == {"input_tokens": len(json.dumps({"messages": payload["messages"]})) // 4}
    assert len(fake.faults) == 1  # one-shot faults are for /v1/messages only
    bad = post(fake, {**payload, "max_tokens": 10}, path="/v1/messages/count_tokens")
    assert_error(bad, 400, "invalid_request_error", "max_tokens: Extra inputs are not permitted")
    unauthenticated = post(
        fake, payload, {"anthropic-version": "2023-06-01"}, path="/v1/messages/count_tokens"
    )
    assert_error(unauthenticated, 401, "authentication_error")


def test_a_message_output_config_needs_the_per_turn_control_beta(fake: FakeAnthropic) -> None:
    payload = {**body(), "messages": [{"role": "user", "content": "hi", "output_config": {"effort": "low"}}]}
    assert_error(post(fake, payload), 400, "invalid_request_error", "messages.0.output_config: Extra inputs")
    headers = key_headers(**{"anthropic-beta": "per-turn-control-2026-07-01"})
    assert post(fake, payload, headers).json()["content"][0]["text"].endswith("says: hi")
    payload["messages"][0]["output_config"] = "low"
    assert_error(post(fake, payload, headers), 400, "invalid_request_error", "valid dictionary")


def test_prompt_cache_writes_a_marked_prefix_once_then_reads_it() -> None:
    from tests.fakes.anthropic_messages import cache_usage, estimate_input_tokens

    system = [{"type": "text", "text": "rules " * 200, "cache_control": {"type": "ephemeral"}}]
    first = {"model": "claude-sonnet-4-5", "system": system, "messages": [{"role": "user", "content": "a"}]}
    again = {**first, "messages": [{"role": "user", "content": "a different question"}]}
    cached: set[str] = set()
    read, written = cache_usage(first, cached)
    assert read == 0 and 0 < written <= estimate_input_tokens(first)
    assert cache_usage(again, cached) == (written, 0)  # the same prefix, another question
    assert cache_usage({**first, "system": "no marker"}, cached) == (0, 0)


def test_prompt_cache_usage_is_reported_and_recorded() -> None:
    fake = FakeAnthropic(api_keys=("sk-ant-api03-cache-key",), prompt_cache=True).start()
    try:
        system = [{"type": "text", "text": "rules " * 200, "cache_control": {"type": "ephemeral"}}]
        body = {"model": "claude-sonnet-4-5", "max_tokens": 16, "system": system}
        headers = {"x-api-key": "sk-ant-api03-cache-key", "anthropic-version": "2023-06-01"}
        usages = []
        for text in ("one", "two"):
            sent = {**body, "messages": [{"role": "user", "content": text}]}
            response = httpx.post(f"{fake.url}/v1/messages", json=sent, headers=headers, timeout=10)
            assert response.status_code == 200, response.text
            usages.append(response.json()["usage"])
        assert usages[0]["cache_creation_input_tokens"] > 0 and usages[0]["cache_read_input_tokens"] == 0
        assert usages[1]["cache_read_input_tokens"] == usages[0]["cache_creation_input_tokens"]
        assert [r.usage for r in fake.requests.all()] == usages
    finally:
        fake.stop()
