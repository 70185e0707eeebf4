"""Unit tests for litellm_plugins.core.redaction: masking, the logging filter, fingerprints, Secret."""

from __future__ import annotations

import logging
import re

import pytest

from litellm_plugins.core.redaction import MASK, RedactingFilter, Secret, fingerprint, redact

ANTHROPIC_API_KEY = "sk-ant-api03-" + "Ab3_dE-fGh" * 9 + "-AAAAAA"
ANTHROPIC_OAUTH = "sk-ant-oat01-" + "zY9-xW8_vU" * 6
OPENAI_PROJECT_KEY = "sk-proj-" + "Q1w2E3r4T5y6" * 8
OPENROUTER_KEY = "sk-or-v1-" + "0123456789abcdef" * 4
LEGACY_OPENAI_KEY = "sk-" + "AbCdEfGhIjKlMnOpQrStUvWx" * 2
BEARER_TOKEN = "ya29.a0AfB_byC" + "x" * 40


@pytest.mark.parametrize(
    ("secret", "kept_prefix"),
    [
        (ANTHROPIC_API_KEY, "sk-ant-api0"),
        (ANTHROPIC_OAUTH, "sk-ant-oat0"),
        (OPENAI_PROJECT_KEY, "sk-proj-Q1"),
        (OPENROUTER_KEY, "sk-or-v1-01"),
        (LEGACY_OPENAI_KEY, "sk-Ab"),
    ],
)
@pytest.mark.parametrize("template", ["{}", "key={} rest", 'api_key="{}"', "{{'x-api-key': '{}'}}", "{}\n"])
def test_redact_masks_key_keeping_short_prefix(secret: str, kept_prefix: str, template: str) -> None:
    text = template.format(secret)
    masked = redact(text)
    assert secret not in masked
    assert secret[len(kept_prefix) :] not in masked
    assert masked == template.format(kept_prefix + MASK)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {BEARER_TOKEN}", "Authorization: Bearer ya***"),
        (f"authorization: bearer {BEARER_TOKEN}", "authorization: bearer ya***"),
        (f'{{"Authorization": "Bearer {BEARER_TOKEN}"}}', '{"Authorization": "Bearer ya***"}'),
        (f"Authorization: Bearer {ANTHROPIC_OAUTH}", "Authorization: Bearer sk***"),
        ("x-api-key: abcdefghijklmnopqrstuvwxyz", "x-api-key: ab***"),
        ("x-litellm-api-key: 'abcdefghijklmnopqrstuvwxyz'", "x-litellm-api-key: 'ab***'"),
    ],
)
def test_redact_masks_bearer_and_header_values(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nothing secret here",
        "Bearer short",
        "sk-fake-openai-key",
        "sk-1234",
        "sk-ant-",
        "model claude-sonnet-4-5 -> group default",
        "fp:1a2b3c4d",
        # Words that merely end in `sk-` are not keys.
        "task-abcdefghijklmnopqrstuvwxyz",
        "/srv/data/disk-usage-monitoring-service.log",
        "openai/risk-assessment-classifier-v2-large",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_masks_every_secret_in_a_dump() -> None:
    text = (
        f"headers: x-api-key: {ANTHROPIC_API_KEY}; Authorization: Bearer {BEARER_TOKEN}; upstream "
        f"{OPENAI_PROJECT_KEY}"
    )
    masked = redact(text)
    for secret in (ANTHROPIC_API_KEY, BEARER_TOKEN, OPENAI_PROJECT_KEY):
        assert secret not in masked
    assert masked.count(MASK) == 3
    assert masked.startswith("headers: x-api-key: sk***; Authorization: Bearer ya***; upstream sk-proj-Q1***")


def test_redact_is_idempotent() -> None:
    once = redact(f"k={ANTHROPIC_API_KEY} Bearer {BEARER_TOKEN}")
    assert redact(once) == once


# --- RedactingFilter ---------------------------------------------------------------------


def make_record(msg: object, args: object = None) -> logging.LogRecord:
    return logging.LogRecord("litellm_plugins.test", logging.INFO, __file__, 1, msg, args, None)


def test_filter_rewrites_record_with_args() -> None:
    record = make_record("calling %s with key %s (attempt %d)", ("deepseek", ANTHROPIC_OAUTH, 2))
    assert RedactingFilter().filter(record) is True
    assert record.args is None
    assert record.getMessage() == "calling deepseek with key sk-ant-oat0*** (attempt 2)"
    assert ANTHROPIC_OAUTH not in record.getMessage()


def test_filter_rewrites_record_with_mapping_args() -> None:
    # As logging.info("auth=%(auth)s", {...}) builds it.
    record = make_record("auth=%(auth)s", ({"auth": f"Bearer {BEARER_TOKEN}"},))
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "auth=Bearer ya***"


def test_filter_rewrites_secret_in_plain_message() -> None:
    record = make_record(f"key {OPENAI_PROJECT_KEY}")
    assert RedactingFilter().filter(record) is True
    assert record.msg == "key sk-proj-Q1***"


def test_filter_leaves_clean_record_untouched() -> None:
    args = ("deepseek", 3)
    record = make_record("calling %s (attempt %d)", args)
    assert RedactingFilter().filter(record) is True
    assert record.msg == "calling %s (attempt %d)"
    assert record.args is args


def test_filter_never_drops_a_record_it_cannot_render() -> None:
    record = make_record("%d items", ("not a number",))
    assert RedactingFilter().filter(record) is True
    assert record.msg == "%d items"
    assert record.args == ("not a number",)


def test_filter_on_a_handler_masks_what_is_emitted() -> None:
    emitted: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            emitted.append(self.format(record))

    logger = logging.getLogger("litellm_plugins.test_redaction")
    handler = ListHandler()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("upstream rejected %s", ANTHROPIC_API_KEY)
        logger.warning("plain %s", "message")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert emitted == ["upstream rejected sk-ant-api0***", "plain message"]


# --- fingerprint and Secret --------------------------------------------------------------


@pytest.mark.parametrize(
    "secret", [ANTHROPIC_API_KEY, ANTHROPIC_OAUTH, OPENAI_PROJECT_KEY, "x", "", "\ud800-lone-surrogate"]
)
def test_fingerprint_is_short_stable_and_hides_the_secret(secret: str) -> None:
    label = fingerprint(secret)
    assert re.fullmatch(r"fp:[0-9a-f]{8}", label)
    assert label == fingerprint(secret)
    if len(secret) > 2:
        assert secret not in label
        assert secret[:8] not in label[3:]


def test_fingerprint_differs_between_secrets() -> None:
    labels = {
        fingerprint(s)
        for s in (ANTHROPIC_API_KEY, ANTHROPIC_OAUTH, OPENAI_PROJECT_KEY, ANTHROPIC_API_KEY + "x")
    }
    assert len(labels) == 4


def test_fingerprint_is_not_redacted_away() -> None:
    label = fingerprint(ANTHROPIC_API_KEY)
    assert redact(f"using credential {label}") == f"using credential {label}"


def test_secret_repr_and_str_hide_the_value() -> None:
    secret = Secret(ANTHROPIC_OAUTH)
    for rendered in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        repr([secret]),
        repr({"k": secret}),
    ):
        assert ANTHROPIC_OAUTH not in rendered
        assert ANTHROPIC_OAUTH[:14] not in rendered
    assert repr(secret) == f"Secret({fingerprint(ANTHROPIC_OAUTH)})"
    assert str(secret) == repr(secret)
    assert secret.fingerprint == fingerprint(ANTHROPIC_OAUTH)


def test_secret_reveal_returns_the_value() -> None:
    assert Secret(ANTHROPIC_API_KEY).reveal() == ANTHROPIC_API_KEY


def test_secret_equality_and_hash() -> None:
    a, b, c = Secret(ANTHROPIC_API_KEY), Secret(ANTHROPIC_API_KEY), Secret(ANTHROPIC_OAUTH)
    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2
    assert a != ANTHROPIC_API_KEY
    assert ANTHROPIC_API_KEY != a
    assert Secret("\ud800") == Secret("\ud800")


def test_secret_has_no_instance_dict() -> None:
    secret = Secret("value")
    assert not hasattr(secret, "__dict__")
    with pytest.raises(AttributeError):
        secret.other = 1  # type: ignore[attr-defined]
