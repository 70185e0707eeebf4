"""Every path a new user takes, with the real Claude Code CLI and EXACTLY the settings
`litellm-plugins claude-settings` prints in the project folder (the `.env` the proxy runs with):

(a) their own Claude login, no pool (the default; the login is `CLAUDE_CODE_OAUTH_TOKEN`, which
    the strict Anthropic fake accepts), and the same settings with no login at all;
(b) the proxy's Claude token pool;
(c) a provider key only, no Claude at all (an OpenAI-compatible group);
(d) named clients with different permissions (`alice:<t>:pool,ci:<t>:passthrough`).

Plus the failure the issue met: a proxy token as Claude Code's only credential with no pool
gets one 401 that says how to fix it (not eleven retries of LiteLLM's "set ANTHROPIC_API_KEY").
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OPENAI_KEY
from tests.e2e.claude_cli import ClaudeRun, run_claude
from tests.fakes.anthropic_messages import FakeAnthropic
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.harness import PLUGIN_CALLBACKS, ProxyProcess, base_environment, plugin_config

pytestmark = pytest.mark.e2e

TOKEN = "user-paths-proxy-token-" + "t" * 30
ALICE = "user-paths-alice-token-" + "a" * 30
CI = "user-paths-ci-token-" + "c" * 32
POOL = tuple(f"sk-ant-oat01-paths-pool-{i}-" + "p" * 40 for i in range(2))
OWN_LOGIN = "sk-ant-oat01-paths-own-login-" + "o" * 40
CI_LOGIN = "sk-ant-oat01-paths-ci-login-" + "i" * 40
CALLBACKS = list(PLUGIN_CALLBACKS)  # the shipped order
CLI = str(Path(sys.executable).parent / "litellm-plugins")


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(
        api_keys=("sk-ant-api03-paths-unused-" + "k" * 20,), oauth_tokens=(*POOL, OWN_LOGIN, CI_LOGIN)
    ).start()
    yield fake
    fake.stop()


def readme_like_config(anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat) -> dict[str, Any]:
    """config.yaml.example's shape: Claude ids onto `anthropic` groups, plus one provider group."""
    claude = {"model": "anthropic/*", "api_base": anthropic_fake.url}
    model_list = [
        {"model_name": "anthropic", "litellm_params": claude, "model_info": {"max_output_tokens": 64000}},
        {
            "model_name": "anthropic-fast",
            "litellm_params": dict(claude),
            "model_info": {"max_output_tokens": 64000},
        },
        {
            "model_name": "openai",
            "litellm_params": {
                "model": "openai/deepseek-chat",
                "api_base": openai_fake.api_base,
                "api_key": OPENAI_KEY,
            },
            "model_info": {"max_output_tokens": 8192, "supports_reasoning": False},
        },
        # An operator's mistake: the provider refuses the key in .env.
        {
            "model_name": "wrong-key",
            "litellm_params": {
                "model": "openai/deepseek-chat",
                "api_base": openai_fake.api_base,
                "api_key": "sk-revoked-key",
            },
            "model_info": {"max_output_tokens": 8192},
        },
    ]
    return plugin_config(
        model_list,
        aliases={"claude-*haiku*": "anthropic-fast", "claude-*": "anthropic"},
        callbacks=CALLBACKS,
        plugins={"anthropic_api_bases": [anthropic_fake.url]},
    )


def start_proxy(env: dict[str, str], config: dict[str, Any], workdir: Path, name: str) -> ProxyProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    # The project folder: the same .env the proxy runs with, where the user runs claude-settings.
    (workdir / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    return ProxyProcess(config, workdir / "proxy", env=env, name=name).start()


@pytest.fixture(scope="module")
def own_login_proxy(
    anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    proxy = start_proxy(
        {"PROXY_STATIC_TOKEN": TOKEN},
        readme_like_config(anthropic_fake, openai_fake),
        tmp_path_factory.mktemp("own"),
        "own",
    )
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def pool_proxy(
    anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    env = {
        "PROXY_STATIC_TOKEN": TOKEN,
        "PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool,ci:{CI}:passthrough",
        "CLAUDE_OAUTH_TOKENS": ",".join(POOL),
    }
    proxy = start_proxy(
        env, readme_like_config(anthropic_fake, openai_fake), tmp_path_factory.mktemp("pool"), "pool"
    )
    yield proxy
    proxy.stop()


@pytest.fixture(autouse=True)
def _clear(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.requests.clear()


def printed_settings(proxy: ProxyProcess, *args: str) -> dict[str, str]:
    """What `litellm-plugins claude-settings` prints in the project folder, as a user runs it."""
    printed = subprocess.run(
        [CLI, "claude-settings", "--url", proxy.url, *args],
        cwd=proxy.workdir.parent,
        env=base_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(printed.stdout)["env"])


def claude(settings: dict[str, str], workdir: Path, prompt: str, **login: str) -> ClaudeRun:
    env = dict(settings)
    base_url = env.pop("ANTHROPIC_BASE_URL")
    return run_claude(prompt, base_url=base_url, workdir=workdir, env={**env, **login})


def messages_seen(fake: FakeAnthropic) -> list[Any]:
    return [r for r in fake.requests.all() if r.path.startswith("/v1/messages")]


def rejected(proxy: ProxyProcess) -> int:
    return len(re.findall(r'"POST /v1/messages[^"]*" 401', proxy.log_text()))


def test_a_own_login_is_the_default_and_reaches_anthropic_with_the_users_login(
    own_login_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, tmp_path: Path
) -> None:
    settings = printed_settings(own_login_proxy)
    assert "ANTHROPIC_AUTH_TOKEN" not in settings  # it would replace the user's login
    marker = f"own-{uuid.uuid4().hex[:6]}"
    run = claude(settings, tmp_path, f"Reply with {marker}", CLAUDE_CODE_OAUTH_TOKEN=OWN_LOGIN)
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert "fake-anthropic claude-" in run.stdout and marker in run.stdout
    seen = messages_seen(anthropic_fake)
    assert seen and all(r.credential == OWN_LOGIN for r in seen)
    assert TOKEN not in own_login_proxy.log_text()


def test_a_the_same_settings_without_a_login_fail_at_once_saying_log_in(
    own_login_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, tmp_path: Path
) -> None:
    before = rejected(own_login_proxy)
    run = claude(printed_settings(own_login_proxy), tmp_path, "Reply with nope")
    assert run.returncode != 0
    assert "/login" in run.stdout + run.stderr  # Claude Code's own "Not logged in · Please run /login"
    assert rejected(own_login_proxy) == before and messages_seen(anthropic_fake) == []


def test_a_proxy_token_as_the_only_credential_without_a_pool_gets_one_401_with_the_fix(
    own_login_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, tmp_path: Path
) -> None:
    # What `claude-settings` printed before the fix (the proxy token replacing the login).
    settings = {**printed_settings(own_login_proxy), "ANTHROPIC_AUTH_TOKEN": TOKEN}
    settings["ANTHROPIC_CUSTOM_HEADERS"] = f"x-litellm-api-key: {TOKEN}"
    before, log_before = rejected(own_login_proxy), len(own_login_proxy.log_text())
    run = claude(settings, tmp_path, "Reply with nope")
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "No Claude credential" in output and "/login" in output and "claude setup-token" in output, output
    assert "ANTHROPIC_API_KEY" not in output
    assert rejected(own_login_proxy) - before == 1  # x-should-retry: false: one attempt, not eleven
    assert messages_seen(anthropic_fake) == []  # refused before any provider call or fallback
    new_log = own_login_proxy.log_text()[log_before:]
    assert "Traceback" not in new_log and "Missing Anthropic API Key" not in new_log
    assert len(re.findall(r"No Claude credential|claude credential: refused", new_log)) == 1


def test_b_the_pool_serves_claude_code_without_a_login(
    pool_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, tmp_path: Path
) -> None:
    settings = printed_settings(pool_proxy, "--client", "default")
    assert settings["ANTHROPIC_AUTH_TOKEN"] == TOKEN
    marker = f"pool-{uuid.uuid4().hex[:6]}"
    run = claude(settings, tmp_path, f"Reply with {marker}")
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert "fake-anthropic claude-" in run.stdout and marker in run.stdout
    seen = messages_seen(anthropic_fake)
    assert seen and all(r.credential in POOL for r in seen)


def test_c_a_provider_key_only_no_claude_at_all(
    own_login_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    settings = printed_settings(own_login_proxy, "--model", "openai")
    marker = f"provider-{uuid.uuid4().hex[:6]}"
    run = claude(settings, tmp_path, f"Reply with {marker}")
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert "fake-openai deepseek-chat says:" in run.stdout and marker in run.stdout
    assert messages_seen(anthropic_fake) == []  # background calls too: nothing reached Claude
    assert openai_fake.requests.all()


def test_d_named_clients_get_the_settings_their_permission_allows(
    pool_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, tmp_path: Path
) -> None:
    alice = printed_settings(pool_proxy, "--client", "alice")
    run = claude(alice, tmp_path / "alice", f"Reply with alice-{uuid.uuid4().hex[:6]}")
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert {r.credential for r in messages_seen(anthropic_fake)} <= set(POOL)

    anthropic_fake.requests.clear()
    ci = printed_settings(pool_proxy, "--client", "ci")
    assert "ANTHROPIC_AUTH_TOKEN" not in ci  # a passthrough client keeps its own login
    marker = f"ci-{uuid.uuid4().hex[:6]}"
    run = claude(ci, tmp_path / "ci", f"Reply with {marker}", CLAUDE_CODE_OAUTH_TOKEN=CI_LOGIN)
    assert run.returncode == 0, f"stdout={run.stdout!r} stderr={run.stderr[-2000:]!r}"
    assert marker in run.stdout
    seen = messages_seen(anthropic_fake)
    assert seen and all(r.credential == CI_LOGIN for r in seen)  # never the pool

    # ci with a proxy token as its only credential: refused with its own fix, once.
    before = rejected(pool_proxy)
    anthropic_fake.requests.clear()
    run = claude({**ci, "ANTHROPIC_AUTH_TOKEN": CI}, tmp_path / "ci-none", "Reply with nope")
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "may not use the proxy's Claude pool" in output, output
    assert rejected(pool_proxy) - before == 1 and messages_seen(anthropic_fake) == []


def test_a_an_expired_login_refused_by_anthropic_fails_once_with_the_fix_and_one_log_line(
    own_login_proxy: ProxyProcess, anthropic_fake: FakeAnthropic, tmp_path: Path
) -> None:
    expired = "sk-ant-oat01-paths-expired-login-" + "e" * 40
    before, log_before = rejected(own_login_proxy), len(own_login_proxy.log_text())
    run = claude(
        printed_settings(own_login_proxy), tmp_path, "Reply with nope", CLAUDE_CODE_OAUTH_TOKEN=expired
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "Anthropic refused the Claude credential this client sent" in output and "/login" in output, output
    # x-should-retry: false; Claude Code itself tries an OAuth login a second time after a 401.
    assert 1 <= rejected(own_login_proxy) - before <= 2
    seen = [
        r.header("authorization") for r in messages_seen(anthropic_fake)
    ]  # refused: no accepted credential
    assert 1 <= len(seen) <= 2 and set(seen) == {f"Bearer {expired}"}
    new_log = own_login_proxy.log_text()[log_before:]
    assert "Traceback" not in new_log and new_log.count("refused the credential") == len(seen)


def test_c_a_provider_refusing_the_operators_key_fails_once_saying_which_setting_to_fix(
    own_login_proxy: ProxyProcess, openai_fake: FakeOpenAIChat, tmp_path: Path
) -> None:
    before, log_before = rejected(own_login_proxy), len(own_login_proxy.log_text())
    run = claude(printed_settings(own_login_proxy, "--model", "wrong-key"), tmp_path, "Reply with nope")
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "The provider refused the proxy's key for this model group" in output and ".env" in output, output
    assert rejected(own_login_proxy) - before == 1  # x-should-retry: false
    new_log = own_login_proxy.log_text()[log_before:]
    assert "Traceback" not in new_log and new_log.count("refused the credential") == 1
    assert "sk-revoked-key" not in output
