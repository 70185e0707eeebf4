"""Unit tests for litellm_plugins.rotator.credential_isolation: client credentials never leave for the
wrong host."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from litellm_plugins.rotator.credential_isolation import strip_client_credentials

OAUTH = "sk-ant-oat01-" + "Zy9_xW8-vU" * 6
API_KEY = "sk-ant-api03-" + "Ab3_dE-fGh" * 9
PROXY_KEY = "sk-litellm-" + "q" * 24


def anthropic_scope(**headers: str) -> dict[str, Any]:
    """The shape LiteLLM gives a client header it forwards only to the anthropic provider."""
    return {"custom_llm_provider": "anthropic", "extra_headers": dict(headers)}


def everywhere(request: Any) -> str:
    return repr(request)


# -- strip_client_credentials -----------------------------------------------------------------
def test_scoped_authorization_as_a_single_dict_is_removed() -> None:
    request = {
        "model": "anthropic/claude-sonnet-4-5",
        "provider_specific_header": anthropic_scope(
            Authorization=f"Bearer {OAUTH}", **{"anthropic-beta": "x"}
        ),
    }
    out, removed = strip_client_credentials(request)
    assert removed == 1
    assert out["provider_specific_header"] == {
        "custom_llm_provider": "anthropic",
        "extra_headers": {"anthropic-beta": "x"},
    }
    assert out["model"] == request["model"]
    assert OAUTH not in everywhere(out)


def test_scoped_headers_as_a_list_are_each_cleaned() -> None:
    request = {
        "provider_specific_header": [
            anthropic_scope(Authorization=f"Bearer {OAUTH}"),
            {"custom_llm_provider": "openai", "extra_headers": {"X-Api-Key": API_KEY, "x-trace": "t1"}},
            {"custom_llm_provider": "bedrock", "extra_headers": {"x-trace": "t2"}},
            "not-a-mapping",
        ]
    }
    out, removed = strip_client_credentials(request)
    assert removed == 2
    assert out["provider_specific_header"] == [
        {"custom_llm_provider": "anthropic", "extra_headers": {}},
        {"custom_llm_provider": "openai", "extra_headers": {"x-trace": "t1"}},
        {"custom_llm_provider": "bedrock", "extra_headers": {"x-trace": "t2"}},
        "not-a-mapping",
    ]
    assert OAUTH not in everywhere(out) and API_KEY not in everywhere(out)


@pytest.mark.parametrize("container", ["headers", "extra_headers"])
@pytest.mark.parametrize(
    "name",
    ["authorization", "Authorization", "AUTHORIZATION", "x-api-key", "X-Api-Key", "X-API-KEY", "api-key"],
)
def test_credential_headers_are_removed_in_any_case(container: str, name: str) -> None:
    request = {container: {name: f"Bearer {OAUTH}", "anthropic-version": "2023-06-01"}}
    out, removed = strip_client_credentials(request)
    assert removed == 1
    assert out[container] == {"anthropic-version": "2023-06-01"}


def test_every_credential_header_everywhere_is_counted() -> None:
    request = {
        "headers": {"Authorization": f"Bearer {PROXY_KEY}", "x-api-key": API_KEY, "user-agent": "claude-cli"},
        "extra_headers": {"Proxy-Authorization": "Basic abc", "X-API-Key": API_KEY},
        "provider_specific_header": [
            anthropic_scope(authorization=f"Bearer {OAUTH}"),
            anthropic_scope(**{"x-api-key": API_KEY}),
        ],
    }
    out, removed = strip_client_credentials(request)
    assert removed == 6
    assert out["headers"] == {"user-agent": "claude-cli"}
    assert out["extra_headers"] == {}
    for secret in (OAUTH, API_KEY, PROXY_KEY):
        assert secret not in everywhere(out)


def test_input_is_never_mutated() -> None:
    request = {
        "headers": {"authorization": f"Bearer {OAUTH}", "x-keep": "1"},
        "extra_headers": {"x-api-key": API_KEY},
        "provider_specific_header": [anthropic_scope(Authorization=f"Bearer {OAUTH}")],
        "metadata": {"user_id": "u"},
    }
    before = copy.deepcopy(request)
    nested = (request["headers"], request["provider_specific_header"], request["provider_specific_header"][0])
    out, removed = strip_client_credentials(request)
    assert removed == 3
    assert request == before
    assert (
        request["headers"],
        request["provider_specific_header"],
        request["provider_specific_header"][0],
    ) == nested
    assert out is not request
    assert out["metadata"] is request["metadata"]  # untouched parts are shared, not copied


def test_request_without_credentials_is_an_equal_copy() -> None:
    request = {
        "model": "anthropic/claude",
        "headers": {"anthropic-beta": "x"},
        "provider_specific_header": anthropic_scope(**{"anthropic-beta": "y"}),
    }
    out, removed = strip_client_credentials(request)
    assert removed == 0
    assert out == request
    assert out is not request
    assert out["provider_specific_header"] is request["provider_specific_header"]


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"headers": None, "extra_headers": None, "provider_specific_header": None},
        {"headers": ["authorization"], "extra_headers": "authorization", "provider_specific_header": 7},
        {"provider_specific_header": {"custom_llm_provider": "anthropic"}},
        {"provider_specific_header": {"extra_headers": None}},
        {"provider_specific_header": [{"extra_headers": ["authorization"]}]},
    ],
)
def test_odd_shapes_are_left_alone(request_: dict[str, Any]) -> None:
    out, removed = strip_client_credentials(request_)
    assert (out, removed) == (request_, 0)


def test_values_mentioning_credentials_in_other_headers_are_kept() -> None:
    # Only the credential-bearing header names are dropped; names decide, not values.
    request = {
        "headers": {"x-authorization-hint": "none", "x-api-key-id": "key-7", "authorization-mode": "oauth"}
    }
    assert strip_client_credentials(request) == (request, 0)
