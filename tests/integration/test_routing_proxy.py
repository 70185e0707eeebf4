"""Routing rules in the real proxy: each of claude-code-router's slots lands on its group, a rule's
group falls back as its group does, and a request no group can serve is refused in the client's
protocol before any provider sees it. Recorded Claude Code requests (tests/fixtures) are the
input; every group is served by its own fake model id, so what the fakes received says which
group served."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.anthropic_messages import DEFAULT_MODELS, AnthropicModelProfile, FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat, ModelProfile
from tests.harness import ProxyProcess, plugin_config
from tests.unit.routing.fixtures import recorded

pytestmark = pytest.mark.integration

ALICE = "alice-token-0123456789abcdef0123456789abcdef"
CI = "ci-nightly-token-0123456789abcdef0123456789ab"
OPENAI_KEY = "sk-fake-openai-key"
ANTHROPIC_KEY = "sk-ant-api03-fake-key"
# group -> the fake model id that serves it
OPENAI_GROUPS = {
    "main": "main-model",
    "background": "bg-model",
    "think": "think-model",
    "vision": "vision-model",
    "agents": "agent-model",
    "long": "long-model",
    "ci": "ci-model",
    "acme": "acme-model",
    "rescue": "rescue-model",
    "textonly": "text-model",
    "tiny": "tiny-model",
}
RULES = [
    {"name": "subagents", "when": {"subagent": True}, "to": "agents"},
    {"name": "web-search", "when": {"server_tool": "web_search*"}, "to": "search"},
    {"name": "images", "when": {"images": True, "model": "claude-*"}, "to": "vision"},
    {"name": "long-context", "when": {"input_tokens_above": 25000, "model": "claude-*"}, "to": "long"},
    {"name": "background", "when": {"model": "claude-*haiku*"}, "to": "background"},
    {"name": "think", "when": {"thinking": True, "model": "claude-*"}, "to": "think"},
    {"name": "ci", "when": {"client": "ci-*"}, "to": "ci"},
    {"name": "acme", "when": {"header": {"x-project": "acme-*"}}, "to": "acme"},
    {"name": "flaky", "when": {"header": {"x-project": "flaky"}}, "to": "flaky"},
]
LINE = re.compile(r"litellm_plugins\.request_log - (request: .*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeOpenAIChat, FakeAnthropic]]:
    models = {model: ModelProfile(max_output_tokens=8192) for model in OPENAI_GROUPS.values()}
    models["text-model"] = ModelProfile(max_output_tokens=8192, vision=False)  # answers 400 to an image
    openai_fake = FakeOpenAIChat(api_keys=(OPENAI_KEY,), models=models).start()
    anthropic_fake = FakeAnthropic(
        api_keys=(ANTHROPIC_KEY,),
        models={**DEFAULT_MODELS, "search-model": AnthropicModelProfile(max_output_tokens=32000)},
    ).start()
    yield openai_fake, anthropic_fake
    openai_fake.stop()
    anthropic_fake.stop()


def openai_group(group: str, model: str, api_base: str, **info: Any) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {"model": f"openai/{model}", "api_base": api_base, "api_key": OPENAI_KEY},
        "model_info": {"max_output_tokens": 8192, **info},
    }


@pytest.fixture(scope="module")
def proxy(
    fakes: tuple[FakeOpenAIChat, FakeAnthropic], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    openai_fake, anthropic_fake = fakes
    info: dict[str, dict[str, Any]] = {
        "main": {"supports_vision": False},
        "textonly": {"supports_vision": False},
        "tiny": {"max_input_tokens": 2000},
        "long": {"max_input_tokens": 1_000_000},
    }
    models = [
        openai_group(group, model, openai_fake.api_base, **info.get(group, {}))
        for group, model in OPENAI_GROUPS.items()
    ]
    models += [
        openai_group("flaky", "main-model", "http://127.0.0.1:9/v1"),  # cannot be reached
        {  # an Anthropic-compatible API that declares web search
            "model_name": "search",
            "litellm_params": {
                "model": "anthropic/search-model",
                "api_base": anthropic_fake.url.replace("127.0.0.1", "localhost"),
                "api_key": ANTHROPIC_KEY,
            },
            "model_info": {"max_output_tokens": 32000, "supports_web_search": True},
        },
    ]
    config = plugin_config(
        models,
        aliases={"claude-*": "main"},
        fallbacks=[{"flaky": ["rescue"]}],
        plugins={"routing": {"rules": RULES}},
    )
    env = {"PROXY_STATIC_TOKENS": f"alice:{ALICE}:passthrough,ci-nightly:{CI}:passthrough"}
    process = ProxyProcess(config, tmp_path_factory.mktemp("routing"), env=env).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def _clear(fakes: tuple[FakeOpenAIChat, FakeAnthropic]) -> None:
    for fake in fakes:
        fake.requests.clear()


def served_by(fakes: tuple[FakeOpenAIChat, FakeAnthropic]) -> list[str]:
    """The model ids the fakes received a request for (chat completions and messages)."""
    openai_fake, anthropic_fake = fakes
    return [
        r.body.get("model") for r in openai_fake.requests.all() if r.path.endswith("/chat/completions")
    ] + [r.body.get("model") for r in anthropic_fake.requests.all() if r.path == "/v1/messages"]


def messages(
    proxy: ProxyProcess, body: dict[str, Any], token: str = ALICE, extra: dict[str, str] | None = None
) -> httpx.Response:
    request_headers = {
        "x-litellm-api-key": token,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        **(extra or {}),
    }
    return httpx.post(
        f"{proxy.url}/v1/messages", content=json.dumps(body), headers=request_headers, timeout=60
    )


def claude_code(kind: str, **overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A recorded Claude Code request (non-streaming, so the fakes answer JSON) and its headers."""
    request = recorded(kind)
    keep = {"x-claude-code-session-id", "x-claude-code-agent-id", "x-app", "anthropic-beta", "user-agent"}
    headers = {k: v for k, v in request["headers"].items() if k.lower() in keep}
    return {**request["body"], "stream": False, **overrides}, headers


def route_line(proxy: ProxyProcess, call_id: str) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [line for line in LINE.findall(proxy.log_text()) if f"call_id={call_id!r}" in line]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no request line for {call_id}")


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("haiku", "bg-model"),
        ("thinking", "think-model"),
        ("image", "vision-model"),
        ("subagent", "agent-model"),
        ("web_search", "search-model"),
    ],
)
def test_each_recorded_claude_code_call_lands_on_its_slots_group(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic], kind: str, model: str
) -> None:
    body, headers = claude_code(kind)
    response = messages(proxy, body, extra=headers)
    assert response.status_code == 200, response.text
    assert served_by(fakes) == [model]


def test_the_route_is_on_the_request_log_line(proxy: ProxyProcess) -> None:
    body, headers = claude_code("haiku")
    response = messages(proxy, body, extra=headers)
    assert response.status_code == 200, response.text
    line = route_line(proxy, response.headers["x-litellm-call-id"])
    assert "model='claude-haiku-4-5-20251001' group='background' deployment='openai/bg-model'" in line
    assert "route='background'" in line
    plain = messages(
        proxy,
        {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert plain.status_code == 200, plain.text
    assert "group='main'" in (other := route_line(proxy, plain.headers["x-litellm-call-id"]))
    assert "route=-" in other  # no rule: the alias served it


def test_client_and_header_rules(proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]) -> None:
    body = {"model": "gpt-anything", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    assert messages(proxy, body, token=CI).status_code == 200
    assert messages(proxy, body, extra={"x-project": "acme-web"}).status_code == 200
    assert served_by(fakes) == ["ci-model", "acme-model"]


def test_a_long_prompt_is_routed_by_the_long_context_rule(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "word " * 30000}],
    }
    response = messages(proxy, body)
    assert response.status_code == 200, response.text
    assert served_by(fakes) == ["long-model"]


def test_a_prompt_beyond_the_window_is_refused_before_any_provider(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    body = {"model": "tiny", "max_tokens": 64, "messages": [{"role": "user", "content": "word " * 8000}]}
    response = messages(proxy, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    message = error["error"]["message"]
    # Claude Code's own pattern for this error (it compacts and retries on it):
    found = re.search(r"prompt is too long[^0-9]*(\d+)\s*tokens?\s*>\s*(\d+)", message)
    assert found and int(found.group(1)) > 2000 and found.group(2) == "2000", message
    assert "'tiny'" in message and "model_info.max_input_tokens" in message
    assert served_by(fakes) == []


def test_an_image_for_a_group_without_vision_gets_a_clear_error_and_no_provider_sees_it(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    body, headers = claude_code("image", model="textonly")
    response = messages(proxy, body, extra=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "'textonly' cannot read images" in error["message"]
    assert "model_info.supports_vision" in error["message"] and "images: true" in error["message"]
    assert "Traceback" not in response.text
    assert served_by(fakes) == []


def test_a_rules_group_falls_back_as_its_group_does(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    response = messages(proxy, body, extra={"x-project": "flaky"})
    assert response.status_code == 200, response.text
    assert served_by(fakes) == ["rescue-model"]
    line = route_line(proxy, response.headers["x-litellm-call-id"])
    assert "group='rescue'" in line and "route='flaky'" in line and "fallbacks=[group='flaky'" in line


def chat_client(proxy: ProxyProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=ALICE, max_retries=0, timeout=60)


def test_chat_completions_are_routed(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    completion = chat_client(proxy).chat.completions.create(
        model="claude-sonnet-4-5",
        reasoning_effort="high",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=64,
    )
    assert completion.choices[0].message.content
    assert served_by(fakes) == ["think-model"]


def test_a_chat_completions_client_gets_an_openai_shaped_refusal(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAAAAgABVKJPXQAAAABJRU5ErkJggg=="
    with pytest.raises(openai.BadRequestError) as raised:
        chat_client(proxy).chat.completions.create(
            model="textonly",
            max_tokens=64,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                    ],
                }
            ],
        )
    assert raised.value.status_code == 400
    body = raised.value.response.json()
    assert set(body) == {"error"} and body["error"]["type"] == "invalid_request_error"
    assert "'textonly' cannot read images" in body["error"]["message"]
    assert served_by(fakes) == []


def test_count_tokens_counts_for_the_group_a_rule_chooses(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    body, headers = claude_code("web_search")
    body = {key: body[key] for key in ("model", "messages", "system", "tools")}
    response = httpx.post(
        f"{proxy.url}/v1/messages/count_tokens",
        json=body,
        headers={"x-litellm-api-key": ALICE, "anthropic-version": "2023-06-01", **headers},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["input_tokens"] > 0
    counted = [r for r in fakes[1].requests.all() if r.path == "/v1/messages/count_tokens"]
    assert [r.body.get("model") for r in counted] == ["search-model"]  # the web-search rule's group


def test_max_tokens_is_lowered_so_prompt_and_answer_fit_the_declared_window(
    proxy: ProxyProcess, fakes: tuple[FakeOpenAIChat, FakeAnthropic]
) -> None:
    body = {"model": "tiny", "max_tokens": 1500, "messages": [{"role": "user", "content": "word " * 1200}]}
    response = messages(proxy, body)
    assert response.status_code == 200, response.text
    [sent] = [r.body for r in fakes[0].requests.all() if r.path.endswith("/chat/completions")]
    assert sent["model"] == "tiny-model"
    assert 1 <= sent["max_tokens"] <= 2000 - 1200  # the window (2000) minus at least the prompt's words
