"""Parsing and validation of proxy tokens, constant-time matching, the loopback decision."""

from __future__ import annotations

import hmac

import pytest

from litellm_plugins.auth import proxy_tokens
from litellm_plugins.auth.proxy_tokens import TokenRegistry, is_loopback, load_auth_settings, parse_token_list
from litellm_plugins.core.settings import SettingsError

ALICE = "a" * 24 + "0123456789abcdef"
BOB = "b" * 24 + "0123456789abcdef"
CAROL = "c" * 24 + "0123456789abcdef"


def test_single_token_is_named_default_and_may_use_the_pool() -> None:
    settings = load_auth_settings({"PROXY_STATIC_TOKEN": ALICE})
    [token] = settings.registry.tokens
    assert token.name == "default" and token.may_use_pool is True
    assert settings.mode == "tokens"
    assert ALICE not in repr(token)


def test_named_tokens_with_permissions() -> None:
    settings = load_auth_settings(
        {"PROXY_STATIC_TOKENS": f"alice:{ALICE}:pool, ci:{BOB}:passthrough,bob:{CAROL}"}
    )
    by_name = {token.name: token for token in settings.registry.tokens}
    assert by_name["alice"].may_use_pool is True
    assert by_name["ci"].may_use_pool is False
    assert by_name["bob"].may_use_pool is True  # the default permission


def test_default_permission_is_configurable() -> None:
    settings = load_auth_settings(
        {
            "PROXY_STATIC_TOKENS": f"alice:{ALICE},bob:{BOB}:pool",
            "PROXY_TOKEN_DEFAULT_PERMISSION": "passthrough",
        }
    )
    by_name = {token.name: token for token in settings.registry.tokens}
    assert by_name["alice"].may_use_pool is False and by_name["bob"].may_use_pool is True
    assert settings.default_may_use_pool is False


def test_both_variables_combine() -> None:
    settings = load_auth_settings({"PROXY_STATIC_TOKEN": ALICE, "PROXY_STATIC_TOKENS": f"bob:{BOB}"})
    assert [token.name for token in settings.registry.tokens] == ["default", "bob"]


def test_weak_token_refused_with_a_fix_and_without_the_token() -> None:
    with pytest.raises(SettingsError) as caught:
        load_auth_settings({"PROXY_STATIC_TOKENS": "alice:short-secret-value"})
    message = str(caught.value)
    assert "PROXY_STATIC_TOKENS" in message and "'alice'" in message
    assert "openssl rand -hex 24" in message and "PROXY_ALLOW_WEAK_TOKENS" in message
    assert "short-secret-value" not in message


def test_weak_token_allowed_explicitly() -> None:
    settings = load_auth_settings({"PROXY_STATIC_TOKEN": "short", "PROXY_ALLOW_WEAK_TOKENS": "true"})
    assert settings.registry.match("short") is not None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PROXY_STATIC_TOKENS": f"alice:{ALICE},alice:{BOB}"}, "used twice"),
        ({"PROXY_STATIC_TOKEN": ALICE, "PROXY_STATIC_TOKENS": f"default:{BOB}"}, "used twice"),
        ({"PROXY_STATIC_TOKENS": f"alice:{ALICE},bob:{ALICE}"}, "share one token"),
        ({"PROXY_STATIC_TOKENS": f"alice:{ALICE}:admin"}, "`pool` or `passthrough`"),
        ({"PROXY_STATIC_TOKENS": ALICE}, "name:token"),
        ({"PROXY_STATIC_TOKENS": f"al ice:{ALICE}"}, "name:token"),
        ({"PROXY_STATIC_TOKENS": "alice:"}, "empty"),
        ({"PROXY_STATIC_TOKEN": "sk-ant-oat01-" + "x" * 40}, "Claude credential"),
        ({"PROXY_AUTH_OPEN": "maybe"}, "PROXY_AUTH_OPEN must be true or false"),
        ({"PROXY_TOKEN_DEFAULT_PERMISSION": "all"}, "PROXY_TOKEN_DEFAULT_PERMISSION"),
    ],
)
def test_invalid_settings_refused(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError, match=expected) as caught:
        load_auth_settings(environ)
    assert ALICE not in str(caught.value) and BOB not in str(caught.value)


def test_modes() -> None:
    assert load_auth_settings({}).mode == "loopback"
    assert load_auth_settings({"PROXY_AUTH_OPEN": "true"}).mode == "open"
    assert load_auth_settings({"PROXY_AUTH_OPEN": "true", "PROXY_STATIC_TOKEN": ALICE}).mode == "tokens"


def test_parse_token_list_skips_empty_entries() -> None:
    assert parse_token_list(f" ,alice:{ALICE},,", True) == [("alice", ALICE, True)]


def test_match_finds_the_right_token_and_nothing_else() -> None:
    registry = load_auth_settings({"PROXY_STATIC_TOKENS": f"alice:{ALICE},bob:{BOB}"}).registry
    assert registry.match(ALICE).name == "alice"  # type: ignore[union-attr]
    assert registry.match(BOB).name == "bob"  # type: ignore[union-attr]
    assert registry.match(ALICE[:-1]) is None
    assert registry.match("") is None
    assert registry.match("é" + ALICE) is None


def test_match_compares_against_every_token(monkeypatch: pytest.MonkeyPatch) -> None:
    registry: TokenRegistry = load_auth_settings(
        {"PROXY_STATIC_TOKENS": f"alice:{ALICE},bob:{BOB},carol:{CAROL}"}
    ).registry
    calls: list[bytes] = []
    real_compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real_compare(a, b)

    monkeypatch.setattr(proxy_tokens.hmac, "compare_digest", counting)
    assert registry.match(ALICE).name == "alice"  # type: ignore[union-attr]
    assert len(calls) == 3  # no early exit on the first match
    calls.clear()
    assert registry.match("nope") is None
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("0.0.0.0", False),
        ("::ffff:10.0.0.1", False),
        ("2001:db8::1", False),
        ("localhost", False),  # a name, not a peer address: never trusted
        ("", False),
        (None, False),
        ("testclient", False),
    ],
)
def test_is_loopback(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected
