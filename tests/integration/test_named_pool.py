"""A named pool of OpenAI-compatible API keys bound to a model group: a key that answers 429
rests, and LiteLLM's retry is served by the next key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.openai_chat import FakeOpenAIChat, Fault
from tests.harness import MASTER_KEY, ProxyProcess, plugin_config

pytestmark = pytest.mark.integration

KEYS = ("sk-router-key-one-" + "1" * 30, "sk-router-key-two-" + "2" * 30)


@pytest.fixture(scope="module")
def keyed_fake() -> Iterator[FakeOpenAIChat]:
    fake = FakeOpenAIChat(api_keys=KEYS).start()
    yield fake
    fake.stop()


def test_a_rate_limited_key_rests_and_the_retry_uses_the_next(
    keyed_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    config = plugin_config(
        [
            {
                "model_name": "router",
                "litellm_params": {
                    "model": "openai/deepseek-chat",
                    "api_base": keyed_fake.api_base,
                    "api_key": KEYS[0],
                },
                "model_info": {"max_output_tokens": 8192},
            }
        ],
        callbacks=["litellm_plugins.hooks.request_transformer", "litellm_plugins.hooks.token_rotator"],
        plugins={
            "pools": {
                "router-keys": {
                    "tokens": "os.environ/ROUTER_KEYS",
                    "strategy": "sequential",
                    "model_groups": ["router"],
                }
            }
        },
    )
    config["router_settings"]["num_retries"] = 2
    config["router_settings"]["retry_after"] = 0
    with ProxyProcess(config, tmp_path, env={"ROUTER_KEYS": ",".join(KEYS)}) as proxy:
        keyed_fake.add_fault(
            Fault(kind="status", status=429, api_key=KEYS[0], headers={"retry-after": "120"})
        )
        for _ in range(3):
            response = httpx.post(
                f"{proxy.url}/v1/chat/completions",
                json={"model": "router", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
                headers={"Authorization": f"Bearer {MASTER_KEY}"},
                timeout=60,
            )
            assert response.status_code == 200, response.text
        used = [
            r.header("authorization").removeprefix("Bearer ")
            for r in keyed_fake.requests.all()
            if r.path.endswith("/chat/completions")
        ]
        # sequential: key one first; after its 429 it rests and key two serves everything.
        assert used == [KEYS[0], KEYS[1], KEYS[1], KEYS[1]]
        assert "pool router-keys token" in proxy.log_text() and "cooling 120s" in proxy.log_text()
        assert KEYS[0] not in proxy.log_text() and KEYS[1] not in proxy.log_text()
