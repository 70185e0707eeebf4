from __future__ import annotations

from litellm_plugins.core.request_metadata import metadata_value, request_metadata


def test_the_messages_route_metadata_comes_first() -> None:
    messages, chat = {"a": 1}, {"a": 2}
    assert request_metadata({"litellm_metadata": messages, "metadata": chat}) is messages
    assert request_metadata({"litellm_metadata": None, "metadata": chat}) is chat
    assert request_metadata({"metadata": "not a dict"}) is None


def test_a_value_is_found_in_whichever_metadata_holds_it_with_the_right_type() -> None:
    state: dict[str, object] = {}
    request = {"litellm_metadata": {"model_group": 7}, "metadata": {"model_group": "glm", "state": state}}
    assert metadata_value(request, "model_group", str) == "glm"
    assert metadata_value(request, "state", dict) is state  # the same dict, to write into
    assert metadata_value(request, "missing", str) is None
