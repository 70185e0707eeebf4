"""Every hook a plugin overrides keeps LiteLLM's exact parameters and takes extra keywords, so an
argument a later LiteLLM adds cannot disable the hook (STYLE.md, rule of thumb 3)."""

from __future__ import annotations

import inspect

import pytest
from litellm.integrations.custom_logger import CustomLogger

from litellm_plugins.guards.upstream_guard import UpstreamGuard
from litellm_plugins.rotator.hook import TokenRotator
from litellm_plugins.thinking.hook import ThinkingStripper
from litellm_plugins.transformer.hook import RequestTransformer

PLUGINS = [RequestTransformer, TokenRotator, ThinkingStripper, UpstreamGuard]


def overridden_hooks() -> list[tuple[type, str]]:
    return [
        (plugin, name)
        for plugin in PLUGINS
        for name, value in vars(plugin).items()
        if name.startswith("async_")
        and name.endswith("_hook")
        and callable(value)
        and hasattr(CustomLogger, name)
    ]


def test_every_plugin_overrides_some_hook() -> None:
    assert {plugin for plugin, _ in overridden_hooks()} == set(PLUGINS)


@pytest.mark.parametrize(("plugin", "name"), overridden_hooks(), ids=lambda v: getattr(v, "__name__", v))
def test_hook_keeps_litellms_parameters_and_takes_extra_keywords(plugin: type, name: str) -> None:
    ours = inspect.signature(getattr(plugin, name)).parameters
    theirs = inspect.signature(getattr(CustomLogger, name)).parameters
    named = [p for p in ours if ours[p].kind is not inspect.Parameter.VAR_KEYWORD]
    # A prefix: parameters LiteLLM added later (1.108's litellm_call_info) arrive in **kwargs.
    assert named == list(theirs)[: len(named)], (
        f"{plugin.__name__}.{name}: LiteLLM's parameters are {list(theirs)}"
    )
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ours.values()), (
        f"{plugin.__name__}.{name} lacks **kwargs"
    )
