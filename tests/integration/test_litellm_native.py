"""What LiteLLM does itself now, next to what the bundle does: tested so that a plugin is kept
only where LiteLLM still lacks the behaviour, on every supported LiteLLM version.

- Forwarded Claude credentials: LiteLLM scopes a client's OAuth bearer to the `anthropic`
  provider (1.108.4), but every `anthropic/` deployment is that provider, including third-party
  Anthropic-compatible bases (GLM, Kimi, DeepSeek). Stock LiteLLM still hands them the client's
  Claude login; the rotator's credential isolation is what keeps it on Anthropic's own API.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.anthropic_messages import DEFAULT_MODELS, AnthropicModelProfile, FakeAnthropic
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

CLIENT_OAUTH = "sk-ant-oat01-native-client-" + "n" * 30
THIRD_PARTY_KEY = "zai-native-key-" + "z" * 20


@pytest.fixture(scope="module")
def third_party() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(
        api_keys=(THIRD_PARTY_KEY,),
        oauth_tokens=(CLIENT_OAUTH,),
        models={**DEFAULT_MODELS, "glm-4.6": AnthropicModelProfile()},
    ).start()
    yield fake
    fake.stop()


def glm_deployment(fake: FakeAnthropic) -> dict[str, object]:
    # Another host than Anthropic's (the fake on "localhost", not 127.0.0.1), as z.ai would be.
    return {
        "model_name": "glm",
        "litellm_params": {
            "model": "anthropic/glm-4.6",
            "api_base": fake.url.replace("127.0.0.1", "localhost"),
            "api_key": THIRD_PARTY_KEY,
        },
    }


def ask_with_claude_login(proxy: ProxyProcess) -> httpx.Response:
    return httpx.post(
        f"{proxy.url}/v1/messages",
        json={"model": "glm", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]},
        headers={
            "x-litellm-api-key": MASTER_KEY,
            "authorization": f"Bearer {CLIENT_OAUTH}",
            "anthropic-version": "2023-06-01",
        },
        timeout=60,
    )


def test_stock_litellm_still_forwards_a_claude_login_to_a_third_party_anthropic_base(
    third_party: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = {
        "model_list": [glm_deployment(third_party)],
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }
    with ProxyProcess(config, tmp_path_factory.mktemp("stock-forward"), name="stock-forward") as proxy:
        third_party.requests.clear()
        ask_with_claude_login(proxy)
    forwarded = [r for r in third_party.requests.all() if CLIENT_OAUTH in str(r.headers)]
    assert forwarded, "LiteLLM stopped forwarding the client's Claude login: the rotator's isolation may go"


def test_the_bundle_keeps_the_claude_login_on_anthropics_api(
    third_party: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = plugin_config(
        [glm_deployment(third_party)],
        callbacks=["litellm_plugins.hooks.request_transformer", "litellm_plugins.hooks.token_rotator"],
    )
    with ProxyProcess(config, tmp_path_factory.mktemp("bundle-forward"), name="bundle-forward") as proxy:
        third_party.requests.clear()
        response = ask_with_claude_login(proxy)
    assert response.status_code == 200, response.text
    [request] = third_party.requests.all()
    assert CLIENT_OAUTH not in str(request.headers)
    assert request.credential == THIRD_PARTY_KEY  # the deployment's own key
