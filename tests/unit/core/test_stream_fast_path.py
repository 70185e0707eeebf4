"""Unit tests for litellm_plugins.core.stream_fast_path: LiteLLM stays on its fast stream path."""

from __future__ import annotations

from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy.hooks.responses_id_security import ResponsesIDSecurity

from litellm_plugins import instances
from litellm_plugins.core.stream_fast_path import drop_responses_id_security


def test_litellms_responses_id_hook_is_the_only_one_removed() -> None:
    other = CustomLogger()
    callbacks = [other, ResponsesIDSecurity(), "prometheus"]
    assert drop_responses_id_security(callbacks) == 1
    assert callbacks == [other, "prometheus"]
    assert drop_responses_id_security(callbacks) == 0  # once is enough


def test_no_plugin_overrides_the_streaming_iterator_hook() -> None:
    # One override puts every stream on LiteLLM's slow path (a layer per chunk, every chunk kept,
    # the reply parsed again at its end): the stream layer does this work instead.
    for name in ("request_transformer", "client_limits", "token_rotator", "upstream_guard",
                 "thinking_stripper", "request_log"):  # fmt: skip
        plugin = getattr(instances, name)
        for klass in type(plugin).__mro__:
            if klass is CustomLogger:
                break
            assert "async_post_call_streaming_iterator_hook" not in klass.__dict__, name
            assert "async_post_call_streaming_hook" not in klass.__dict__, name
