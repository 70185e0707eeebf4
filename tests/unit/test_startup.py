"""The explicit startup (litellm_plugins.startup): one read of the config, every plugin validated
before the first request, no side effects on import, and the plugin order as a contract."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from litellm.proxy._types import ProxyException

from litellm_plugins.auth.hook import StaticTokenAuth
from litellm_plugins.core.settings import NotStartedError, SettingsError
from litellm_plugins.guards.upstream_guard import UpstreamGuard
from litellm_plugins.rotator.hook import TokenRotator
from litellm_plugins.startup import STARTED_MARKER, start
from litellm_plugins.thinking.hook import ThinkingStripper
from litellm_plugins.transformer.hook import RequestTransformer
from tests.harness import PLUGIN_CALLBACKS, REPO_ROOT

TOKEN = "startup-unit-test-token-" + "t" * 30


def fresh_plugins() -> SimpleNamespace:
    return SimpleNamespace(
        request_transformer=RequestTransformer(group_names=lambda: ()),
        static_token_auth=StaticTokenAuth(),
        token_rotator=TokenRotator(),
        thinking_stripper=ThinkingStripper(),
        upstream_guard=UpstreamGuard(),
    )


def write_config(tmp_path: Path, section: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": [], "litellm_plugins": section}), encoding="utf-8")
    return path


def test_start_configures_every_plugin_from_one_read_of_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from litellm_plugins import startup

    reads: list[Any] = []
    real_load = startup.load_document
    monkeypatch.setattr(startup, "load_document", lambda *args: reads.append(args) or real_load(*args))
    config = write_config(
        tmp_path, {"model_aliases": {"claude-*": "default"}, "thinking": {"strip_response_groups": ["x"]}}
    )
    proxy_server, plugins = SimpleNamespace(app=None), fresh_plugins()
    assert start(proxy_server, environ={"PROXY_STATIC_TOKEN": TOKEN}, config=config, plugins=plugins)
    assert len(reads) == 1
    assert plugins.request_transformer.settings.model_aliases == (("claude-*", "default"),)
    assert plugins.static_token_auth.settings.mode == "tokens"
    assert plugins.token_rotator.settings.mode == "passthrough"
    assert plugins.thinking_stripper.settings.strip_response_groups == ("x",)
    assert getattr(proxy_server, STARTED_MARKER) is True
    # Once per proxy: LiteLLM executes hooks.py for every config entry that names it.
    assert not start(proxy_server, environ={}, config=config, plugins=fresh_plugins())
    assert len(reads) == 1


@pytest.mark.parametrize(
    ("section", "environ", "message"),
    [
        ({"model_aliases": [{"pattern": "claude-*"}]}, {}, "model_aliases"),
        ({"model_aliases": {"claude-*": ""}}, {}, "model_aliases"),
        ({"thinking": {"strip_groups": ["x"]}}, {}, "litellm_plugins.thinking"),
        ({"garbage_collection": {"thresholds": [1]}}, {}, "garbage_collection"),
        ({"anthropic_api_bases": "https://x"}, {}, "anthropic_api_bases"),
        (
            {"routing": {"rules": [{"when": {"thinking": True}, "to": "glm"}]}},
            {},
            "'glm' is not a model group",
        ),
        ({"routing": {"rules": [{"when": {"thinkng": True}, "to": "x"}]}}, {}, "unknown condition 'thinkng'"),
        ({}, {"PROXY_STATIC_TOKEN": "short"}, "PROXY_STATIC_TOKEN"),
        ({}, {"CLAUDE_TOKEN_MODE": "sometimes"}, "CLAUDE_TOKEN_MODE"),
    ],
)
def test_a_bad_setting_stops_the_start_not_a_request(
    tmp_path: Path, section: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    proxy_server = SimpleNamespace(app=None)
    with pytest.raises(SettingsError, match=message):
        start(proxy_server, environ=environ, config=write_config(tmp_path, section), plugins=fresh_plugins())
    assert not getattr(proxy_server, STARTED_MARKER, False)


def test_plugins_that_were_not_started_refuse_to_work() -> None:
    with pytest.raises(NotStartedError, match="request transformer"):
        RequestTransformer().settings  # noqa: B018
    with pytest.raises(NotStartedError, match="token rotator"):
        TokenRotator().pool()
    with pytest.raises(NotStartedError, match="thinking stripper"):
        ThinkingStripper().settings  # noqa: B018
    request = SimpleNamespace(
        client=None, headers={"x-litellm-api-key": TOKEN}, url=SimpleNamespace(path="/v1/messages")
    )
    with pytest.raises(ProxyException) as raised:  # fails closed: no one gets in
        asyncio.run(StaticTokenAuth().user_api_key_auth(request, TOKEN))
    assert str(raised.value.code) == "401"


def test_importing_the_package_has_no_side_effects() -> None:
    script = textwrap.dedent(
        """
        import logging, os
        os.environ["PROXY_STATIC_TOKEN"] = "short"  # would fail validation if anything read it
        import litellm.proxy.proxy_server  # even inside a proxy process, importing is not starting
        import litellm_plugins, litellm_plugins.instances, litellm_plugins.startup, litellm_plugins.cli
        from litellm_plugins.instances import request_transformer, static_token_auth, token_rotator
        assert not logging.getLogger("litellm_plugins").handlers
        assert not any(f for h in logging.getLogger().handlers for f in h.filters)
        assert request_transformer._settings is None and static_token_auth._settings is None
        assert token_rotator._pools is None
        print("clean")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("clean")


def test_the_plugin_order_is_the_shipped_one_everywhere() -> None:
    from litellm_plugins.hooks import PLUGIN_ORDER
    from tests.reliability.conftest import ALL_PLUGINS

    shipped = [f"litellm_plugins.hooks.{name}" for name in PLUGIN_ORDER]
    example = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text(encoding="utf-8"))
    assert example["litellm_settings"]["callbacks"] == shipped
    assert PLUGIN_CALLBACKS == shipped
    assert ALL_PLUGINS == shipped
    # Stream hooks chain in `callbacks` order: the upstream guard reads LiteLLM's own stream before
    # the thinking stripper rewrites it; the transformer runs before the rotator so the rotator
    # leases for the group the alias chose; the request log sees the outcome last.
    assert PLUGIN_ORDER == (
        "request_transformer",
        "token_rotator",
        "upstream_guard",
        "thinking_stripper",
        "request_log",
    )


def test_the_benchmark_measures_the_shipped_order() -> None:
    from bench.targets import PLUGIN_CALLBACKS as BENCH_CALLBACKS
    from litellm_plugins.hooks import PLUGIN_ORDER

    assert BENCH_CALLBACKS == PLUGIN_ORDER
