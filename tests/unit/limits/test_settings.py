from __future__ import annotations

import pytest

from litellm_plugins.core.settings import KNOWN_KEYS, PluginSettings, SettingsError
from litellm_plugins.limits.settings import ClientLimits, parse_limit_settings


def parse(clients: object) -> object:
    return parse_limit_settings(PluginSettings(raw={"clients": clients}))


def test_clients_is_a_known_key() -> None:
    assert "clients" in KNOWN_KEYS


def test_a_full_entry_and_the_default() -> None:
    settings = parse(
        {
            "alice": {
                "requests_per_minute": 60,
                "tokens_per_day": 2_000_000,
                "max_concurrent": 4,
                "model_groups": ["anthropic", "glm*"],
            },
            "*": {"requests_per_minute": 600},
        }
    )
    assert settings.for_client("alice") == ClientLimits(60, 2_000_000, 4, ("anthropic", "glm*"))
    assert settings.for_client("bob") == ClientLimits(requests_per_minute=600)
    assert settings.unknown_names({"alice"}) == []
    assert settings.unknown_names({"bob"}) == ["alice"]


def test_no_section_limits_no_one() -> None:
    settings = parse_limit_settings(PluginSettings(raw={}))
    assert not settings
    assert settings.for_client("alice") is None


def test_model_groups_are_globs_on_the_serving_group() -> None:
    limits = ClientLimits(model_groups=("anthropic", "glm*"))
    assert limits.allows_group("anthropic")
    assert limits.allows_group("glm-4.6")
    assert not limits.allows_group("anthropic-api")
    assert ClientLimits().allows_group("anything")


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"requests_per_minute": "60"}, "clients.alice.requests_per_minute must be a whole number"),
        ({"tokens_per_day": 0}, "tokens_per_day must be a whole number of at least 1"),
        ({"max_concurrent": True}, "max_concurrent must be a whole number"),
        ({"max_concurrent": 1.5}, "max_concurrent must be a whole number"),
        ({"model_groups": [1]}, "model_groups must be a list of model group names"),
        ({"model_groups": []}, "model_groups must be a list"),
        ({"request_per_minute": 5}, "unknown limit 'request_per_minute'"),
        ("60", "clients.alice must be a mapping of limits"),
    ],
)
def test_wrong_types_stop_with_a_fix(entry: object, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment.replace("(", r"\(").replace("*", r"\*")) as caught:
        parse({"alice": entry})
    message = str(caught.value)
    assert any(fix in message for fix in ("remove the line", "known:", "for example")), message


def test_the_section_must_be_a_mapping() -> None:
    with pytest.raises(SettingsError, match="clients in config.yaml must be a mapping"):
        parse(["alice"])
