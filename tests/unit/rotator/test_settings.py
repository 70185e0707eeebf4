"""Unit tests for litellm_plugins.rotator.settings: the rotator's environment and config.yaml settings."""

from __future__ import annotations

from typing import Any

import pytest

from litellm_plugins.core.settings import SettingsError, parse_settings
from litellm_plugins.rotator.settings import (
    CLAUDE_POOL,
    NamedPoolSettings,
    RotatorSettings,
    parse_rotator_settings,
    split_tokens,
)

OAUTH_A = "sk-ant-oat01-" + "A1b2C3d4E5" * 6
OAUTH_B = "sk-ant-oat01-" + "F6g7H8i9J0" * 6
API_KEY = "sk-ant-api03-" + "K1l2M3n4O5" * 9
OPENROUTER_A = "sk-or-v1-" + "0123456789abcdef" * 4
OPENROUTER_B = "sk-or-v1-" + "fedcba9876543210" * 4


def parse(environ: dict[str, str] | None = None, **section: Any) -> RotatorSettings:
    return parse_rotator_settings(parse_settings(section), environ or {})


# -- CLAUDE_OAUTH_TOKENS ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        f"{OAUTH_A},{OAUTH_B}",
        f" {OAUTH_A} , {OAUTH_B} ",
        f"{OAUTH_A}\n{OAUTH_B}\n",
        f"{OAUTH_A},\n\t{OAUTH_B},,",
        f"{OAUTH_A} {OAUTH_B} {OAUTH_A}",
        f"{OAUTH_A},{OAUTH_B},{OAUTH_A},{OAUTH_B}",
    ],
)
def test_claude_tokens_split_on_commas_and_whitespace_and_dedupe(raw: str) -> None:
    assert parse({"CLAUDE_OAUTH_TOKENS": raw}).claude_tokens == (OAUTH_A, OAUTH_B)


def test_split_tokens_keeps_declaration_order() -> None:
    assert split_tokens(f"{OAUTH_B},{OAUTH_A},{OAUTH_B}") == (OAUTH_B, OAUTH_A)
    assert split_tokens(None) == ()
    assert split_tokens("  ,\n ") == ()


def test_api_keys_are_accepted_in_the_claude_pool() -> None:
    assert parse({"CLAUDE_OAUTH_TOKENS": f"{OAUTH_A},{API_KEY}"}).claude_tokens == (OAUTH_A, API_KEY)


@pytest.mark.parametrize(
    "stranger",
    [OPENROUTER_A, "Bearer", "ant-oat01-" + "x" * 30, "hunter2-not-a-claude-token", "SK-ANT-OAT01-ABCDEF"],
)
def test_a_non_claude_entry_is_refused_without_echoing_it(stranger: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse({"CLAUDE_OAUTH_TOKENS": f"{OAUTH_A},{stranger},{OAUTH_B}"})
    message = str(error.value)
    assert "CLAUDE_OAUTH_TOKENS" in message
    assert "setup-token" in message  # says how to fix it
    for secret in (stranger, OAUTH_A, OAUTH_B):
        assert secret not in message
        assert secret not in repr(error.value)


# -- CLAUDE_TOKEN_MODE / CLAUDE_POOL_STRATEGY -------------------------------------------------
def test_mode_defaults_to_rotate_with_tokens_and_passthrough_without() -> None:
    assert parse({"CLAUDE_OAUTH_TOKENS": OAUTH_A}).mode == "rotate"
    assert parse({}).mode == "passthrough"
    assert parse({"CLAUDE_OAUTH_TOKENS": " , "}).mode == "passthrough"
    assert parse({"CLAUDE_OAUTH_TOKENS": OAUTH_A, "CLAUDE_TOKEN_MODE": ""}).mode == "rotate"


@pytest.mark.parametrize(
    ("raw", "mode"), [("rotate", "rotate"), (" Passthrough ", "passthrough"), ("ROTATE", "rotate")]
)
def test_mode_is_read_case_insensitively(raw: str, mode: str) -> None:
    assert parse({"CLAUDE_OAUTH_TOKENS": OAUTH_A, "CLAUDE_TOKEN_MODE": raw}).mode == mode


def test_passthrough_can_be_forced_with_a_pool() -> None:
    settings = parse({"CLAUDE_OAUTH_TOKENS": OAUTH_A, "CLAUDE_TOKEN_MODE": "passthrough"})
    assert (settings.mode, settings.claude_tokens) == ("passthrough", (OAUTH_A,))


@pytest.mark.parametrize("raw", ["round-robin", "pool", "on", "rotate,passthrough"])
def test_unknown_mode_is_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(SettingsError, match="CLAUDE_TOKEN_MODE must be rotate or passthrough"):
        parse({"CLAUDE_TOKEN_MODE": raw})


def test_strategy_defaults_to_balanced_and_accepts_sequential() -> None:
    assert parse({}).strategy == "balanced"
    assert parse({"CLAUDE_POOL_STRATEGY": " Sequential "}).strategy == "sequential"


def test_unknown_strategy_is_refused_at_startup_with_the_variable_named() -> None:
    with pytest.raises(SettingsError, match="CLAUDE_POOL_STRATEGY must be balanced or sequential"):
        parse({"CLAUDE_POOL_STRATEGY": "random"})


# -- anthropic_api_bases ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        (None, True),  # LiteLLM's default base for `anthropic/` is Anthropic's own
        ("", True),
        ("https://api.anthropic.com", True),
        ("https://api.anthropic.com/v1", True),
        ("https://API.Anthropic.COM/", True),
        ("https://api.z.ai/api/anthropic", False),
        ("https://api.moonshot.ai/anthropic", False),
        ("https://api.anthropic.com.evil.example/v1", False),
        ("https://evil.example/api.anthropic.com", False),
        ("https://api.anthropic.com@evil.example/", False),
        ("api.anthropic.com", False),  # no scheme, no host: not trusted with a credential
    ],
)
def test_default_anthropic_api_is_only_anthropics_host(api_base: str | None, expected: bool) -> None:
    settings = parse({})
    assert settings.anthropic_hosts == frozenset({"api.anthropic.com"})
    assert settings.is_anthropic_api(api_base) is expected


def test_extra_anthropic_api_bases_match_host_and_port() -> None:
    settings = parse(
        {}, anthropic_api_bases=["https://Claude-Gateway.corp:8443/anthropic", "http://127.0.0.1:9000"]
    )
    assert settings.anthropic_hosts == frozenset(
        {"api.anthropic.com", "claude-gateway.corp:8443", "127.0.0.1:9000"}
    )
    assert settings.is_anthropic_api("https://claude-gateway.corp:8443")
    assert settings.is_anthropic_api("https://claude-gateway.corp:8443/v1/messages")
    assert settings.is_anthropic_api("http://127.0.0.1:9000")
    assert not settings.is_anthropic_api("https://claude-gateway.corp")
    assert not settings.is_anthropic_api("https://claude-gateway.corp:9443")
    assert not settings.is_anthropic_api("http://127.0.0.1:9001")
    assert not settings.is_anthropic_api("http://127.0.0.1")
    assert settings.is_anthropic_api("https://api.anthropic.com")


def test_anthropic_api_bases_without_port_match_the_host() -> None:
    settings = parse({}, anthropic_api_bases=["https://anthropic-proxy.internal"])
    assert settings.is_anthropic_api("https://anthropic-proxy.internal/v1")
    assert not settings.is_anthropic_api("https://other.internal/v1")


@pytest.mark.parametrize(
    ("bases", "message"),
    [
        ("https://api.anthropic.com", "must be a list of URLs"),
        ({"url": "https://api.anthropic.com"}, "must be a list of URLs"),
        (["api.anthropic.com"], "is not a URL"),
        (["https://"], "is not a URL"),
    ],
)
def test_bad_anthropic_api_bases_are_refused(bases: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse({}, anthropic_api_bases=bases)


# -- named pools ------------------------------------------------------------------------------
def test_named_pool_reads_tokens_from_an_environment_reference() -> None:
    environ = {"OPENROUTER_API_KEYS": f"{OPENROUTER_A},\n{OPENROUTER_B},{OPENROUTER_A}"}
    pools = {
        "openrouter": {
            "tokens": "os.environ/OPENROUTER_API_KEYS",
            "strategy": "Sequential",
            "model_groups": ["openrouter", "cheap"],
        }
    }
    settings = parse(environ, pools=pools)
    assert settings.named_pools == (
        NamedPoolSettings(
            name="openrouter",
            tokens=(OPENROUTER_A, OPENROUTER_B),
            strategy="sequential",
            model_groups=frozenset({"openrouter", "cheap"}),
        ),
    )


def test_named_pool_tokens_may_be_listed_inline_or_as_one_string() -> None:
    pools = {
        "listed": {"tokens": [OPENROUTER_A, OPENROUTER_B], "model_groups": ["a"]},
        "string": {"tokens": f"{OPENROUTER_B} {OPENROUTER_A}", "model_groups": ["b"]},
    }
    listed, string = parse({}, pools=pools).named_pools
    assert (listed.name, listed.tokens, listed.strategy) == (
        "listed",
        (OPENROUTER_A, OPENROUTER_B),
        "balanced",
    )
    assert (string.name, string.tokens) == ("string", (OPENROUTER_B, OPENROUTER_A))


def test_named_pool_with_an_unset_variable_is_empty() -> None:
    pools = {"openrouter": {"tokens": "os.environ/NOT_SET", "model_groups": ["openrouter"]}}
    assert parse({}, pools=pools).named_pools[0].tokens == ()


def test_named_pools_do_not_touch_the_claude_pool() -> None:
    settings = parse(
        {"CLAUDE_OAUTH_TOKENS": OAUTH_A}, pools={"x": {"tokens": [OPENROUTER_A], "model_groups": ["x"]}}
    )
    assert settings.claude_tokens == (OAUTH_A,)
    assert [pool.name for pool in settings.named_pools] == ["x"]
    assert CLAUDE_POOL == "claude"


@pytest.mark.parametrize(
    ("pools", "message"),
    [
        (["openrouter"], r"litellm_plugins\.pools in config\.yaml must be a mapping"),
        ({"openrouter": "os.environ/KEYS"}, r"pools\.openrouter must be a mapping"),
        ({"openrouter": {"tokens": "os.environ/KEYS"}}, r"pools\.openrouter\.model_groups must list"),
        ({"openrouter": {"tokens": "x", "model_groups": []}}, r"pools\.openrouter\.model_groups must list"),
        (
            {"openrouter": {"tokens": "x", "model_groups": "openrouter"}},
            r"pools\.openrouter\.model_groups must list",
        ),
        (
            {"openrouter": {"tokens": "x", "model_groups": ["g"], "strategy": "fastest"}},
            r"pools\.openrouter\.strategy must be balanced or sequential",
        ),
    ],
)
def test_bad_named_pools_are_refused_with_the_setting_named(pools: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse({"OPENROUTER_KEYS": OPENROUTER_A}, pools=pools)


# -- Redis ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, None),
        ({"REDIS_URL": "redis://cache:6380/2"}, "redis://cache:6380/2"),
        ({"REDIS_URL": "rediss://cache:6380/0", "REDIS_HOST": "ignored"}, "rediss://cache:6380/0"),
        ({"REDIS_HOST": "cache"}, "redis://cache:6379/0"),
        ({"REDIS_HOST": "cache", "REDIS_PORT": "6390"}, "redis://cache:6390/0"),
        ({"REDIS_HOST": "cache", "REDIS_PASSWORD": "s3cret"}, "redis://:s3cret@cache:6379/0"),
        (
            {"REDIS_HOST": "cache", "REDIS_PASSWORD": "p@ss/w:rd#1"},
            "redis://:p%40ss%2Fw%3Ard%231@cache:6379/0",
        ),
        ({"REDIS_PASSWORD": "s3cret"}, None),
    ],
)
def test_redis_url_comes_from_redis_url_or_litellms_redis_host(
    environ: dict[str, str], url: str | None
) -> None:
    assert parse(environ).redis_url == url


def test_redis_password_with_url_characters_survives_the_round_trip() -> None:
    redis = pytest.importorskip("redis")
    url = parse({"REDIS_HOST": "cache", "REDIS_PASSWORD": "p@ss/w:rd#1"}).redis_url
    assert url is not None
    kwargs = redis.connection.parse_url(url)
    assert (kwargs["host"], kwargs["port"], kwargs["password"]) == ("cache", 6379, "p@ss/w:rd#1")


# -- where settings come from -----------------------------------------------------------------
def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLAUDE_TOKEN_MODE", "CLAUDE_POOL_STRATEGY", "REDIS_URL", "REDIS_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAUDE_OAUTH_TOKENS", f"{OAUTH_A},{OAUTH_B}")
    settings = parse_rotator_settings(parse_settings(None))
    assert (settings.claude_tokens, settings.mode) == ((OAUTH_A, OAUTH_B), "rotate")


def test_default_settings_are_passthrough_with_anthropics_host_only() -> None:
    settings = RotatorSettings()
    assert (settings.claude_tokens, settings.mode, settings.redis_url) == ((), "passthrough", None)
    assert settings.is_anthropic_api("https://api.anthropic.com")
    assert not settings.is_anthropic_api("https://api.z.ai/api/anthropic")
