"""LiteLLM executes `<config dir>/litellm_plugins/hooks.py` afresh when the config sits next to the
package (repo checkout, Docker mount). Both ways of loading must yield the one shared instance."""

from __future__ import annotations

import importlib.util

from litellm.proxy.types_utils.utils import get_instance_fn

import litellm_plugins.hooks
from litellm_plugins import instances
from tests.harness import REPO_ROOT


def test_fresh_execution_of_hooks_file_shares_the_instances() -> None:
    spec = importlib.util.spec_from_file_location(
        "litellm_plugins.hooks", REPO_ROOT / "litellm_plugins" / "hooks.py"
    )
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    assert fresh is not litellm_plugins.hooks
    assert fresh.request_transformer is instances.request_transformer


def test_litellm_loader_from_repo_root_and_from_elsewhere_gives_the_same_object(tmp_path) -> None:
    from_repo = get_instance_fn("litellm_plugins.hooks.request_transformer", str(REPO_ROOT / "config.yaml"))
    from_elsewhere = get_instance_fn(
        "litellm_plugins.hooks.request_transformer", str(tmp_path / "config.yaml")
    )
    assert from_repo is from_elsewhere is instances.request_transformer
