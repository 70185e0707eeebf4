"""The public names, pinned (as httpx's tests/test_exported_members.py): a change here is a
change users' configs and imports see."""

from __future__ import annotations

import litellm_plugins
import litellm_plugins.cli
import litellm_plugins.hooks
import litellm_plugins.instances


def test_package_exports() -> None:
    assert litellm_plugins.__all__ == ["__version__"]
    assert isinstance(litellm_plugins.__version__, str)


def test_hooks_exports_what_configs_point_at() -> None:
    assert litellm_plugins.hooks.__all__ == [
        "PLUGIN_ORDER",
        "claude_code_provider",
        "client_limits",
        "request_log",
        "request_transformer",
        "thinking_stripper",
        "token_rotator",
        "upstream_guard",
        "user_api_key_auth",
    ]
    for name in litellm_plugins.hooks.__all__:
        assert getattr(litellm_plugins.hooks, name) is not None


def test_instances_exports() -> None:
    assert litellm_plugins.instances.__all__ == [
        "claude_code_provider",
        "client_limits",
        "request_log",
        "request_transformer",
        "static_token_auth",
        "thinking_stripper",
        "token_rotator",
        "upstream_guard",
        "usage_counter",
        "user_api_key_auth",
    ]
    for name in litellm_plugins.instances.__all__:
        assert getattr(litellm_plugins.instances, name) is getattr(
            litellm_plugins.hooks, name, getattr(litellm_plugins.instances, name)
        )


def test_the_cli_entry_point() -> None:
    assert litellm_plugins.cli.__all__ == ["build_parser", "main"]
    assert callable(litellm_plugins.cli.main)
