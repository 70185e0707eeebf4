"""The one log line per request: what it asked for, who served it, what failed on the way (pure).

Built from what LiteLLM already records: its `standard_logging_object` (model group, deployment,
tokens, error class and code of each attempt) and the request's metadata (the proxy token's name
from the bundle's auth, the model id before aliasing and the routing rule that chose the group,
`route`, from the request transformer). The hook
that calls these functions is :mod:`litellm_plugins.request_log`.

Example (a request for `claude-sonnet-4-5` whose group `flaky` failed, served by `default`):

    request: client='alice' model='claude-sonnet-4-5' group='default' deployment='openai/deepseek-chat'
      status=200 tokens_in=42 tokens_out=9 latency_ms=431 stream=false route=-
      fallbacks=[group='flaky' deployment='openai/deepseek-chat' reason='InternalServerError 500']
      call_id='bba4b4c6-...'          (one line in the log; wrapped here)

Every string that a client or an upstream can influence is quoted repr-style and capped, so a
model id carrying CR/LF or terminal escapes cannot forge or hide log lines. No credential is
ever read: the client is named by its proxy token's name, a pooled Claude token by fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

MAX_FIELD_CHARS: Final = 120
PREFIX: Final = "request:"
AUTH_METADATA_KEYS: Final = ("user_api_key_auth_metadata", "user_api_key_metadata")
REQUESTED_MODEL_KEY: Final = "litellm_plugins_requested_model"
ROUTE_KEY: Final = "litellm_plugins_route"  # the routing rule that chose the group
ROTATOR_KEY: Final = "litellm_plugins_rotator"


def quote(value: object, limit: int = MAX_FIELD_CHARS) -> str:
    """`value` as a single-line, repr-quoted token; None is `-`; longer than `limit` is cut."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"...(+{len(text) - limit} chars)"


@dataclass(frozen=True)
class Attempt:
    """One attempt that failed: its group, deployment and why."""

    group: str | None
    deployment: str | None
    reason: str | None

    def render(self) -> str:
        return f"group={quote(self.group)} deployment={quote(self.deployment)} reason={quote(self.reason)}"


@dataclass(frozen=True)
class RequestOutcome:
    client: str | None
    requested_model: str | None
    group: str | None
    deployment: str | None
    status: int | None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    stream: bool | None = None
    failed_attempts: tuple[Attempt, ...] = ()
    failovers: tuple[str, ...] = ()
    error: str | None = None
    call_id: str | None = None
    route: str | None = None  # the name of the routing rule that chose the group; None: no rule


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return str(round(value))


def format_line(outcome: RequestOutcome) -> str:
    """The line itself. Failed attempts in the final group are `retries`, in other groups `fallbacks`."""
    retries = [a for a in outcome.failed_attempts if a.group == outcome.group]
    fallbacks = [a for a in outcome.failed_attempts if a.group != outcome.group]
    parts = [
        PREFIX,
        f"client={quote(outcome.client)}",
        f"model={quote(outcome.requested_model)}",
        f"group={quote(outcome.group)}",
        f"deployment={quote(outcome.deployment)}",
        f"status={_number(outcome.status)}",
        f"tokens_in={_number(outcome.input_tokens)}",
        f"tokens_out={_number(outcome.output_tokens)}",
        f"latency_ms={_number(outcome.latency_ms)}",
        f"stream={'-' if outcome.stream is None else str(outcome.stream).lower()}",
        f"route={quote(outcome.route)}",
    ]
    if fallbacks:
        parts.append("fallbacks=[" + "; ".join(a.render() for a in fallbacks) + "]")
    if retries:
        parts.append("retries=[" + "; ".join(a.render() for a in retries) + "]")
    if outcome.failovers:
        parts.append("failovers=[" + "; ".join(quote(f) for f in outcome.failovers) + "]")
    if outcome.error is not None:
        parts.append(f"error={quote(outcome.error)}")
    parts.append(f"call_id={quote(outcome.call_id, 64)}")
    return " ".join(parts)


# -- reading LiteLLM's records ------------------------------------------------------------------


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def client_name(*metadata: Mapping[str, Any] | None) -> str | None:
    """The proxy token's name (`proxy_token_name`, set by the bundle's auth), else LiteLLM's alias."""
    for source in metadata:
        if not isinstance(source, Mapping):
            continue
        for key in AUTH_METADATA_KEYS:
            auth = source.get(key)
            if isinstance(auth, Mapping) and _str(auth.get("proxy_token_name")):
                return str(auth["proxy_token_name"])
    for source in metadata:
        if isinstance(source, Mapping):
            for key in ("user_api_key_alias", "user_api_key_user_id"):
                if _str(source.get(key)):
                    return str(source[key])
    return None


def failure_reason(error_class: object, status: object, normalized: object = None) -> str | None:
    """`InternalServerError 500` (plus LiteLLM's normalized error when it has one)."""
    status_text = str(status) if _str(status) or _int(status) is not None else None
    words = [word for word in (_str(error_class), status_text, _str(normalized)) if word]
    return " ".join(words) or None


def client_status(exception: BaseException) -> int:
    """The HTTP status the client got for `exception`: its `status_code` (after the upstream
    guard's mapping), a ProxyException's `code`, else LiteLLM's catch-all 500."""
    for value in (getattr(exception, "status_code", None), getattr(exception, "code", None)):
        if _int(value) is not None:
            return int(value)
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return 500


def attempt_from_logging_object(payload: Mapping[str, Any]) -> Attempt:
    """A failed attempt from LiteLLM's `standard_logging_object` of its failure event."""
    info = payload.get("error_information")
    info = info if isinstance(info, Mapping) else {}
    return Attempt(
        group=_str(payload.get("model_group")),
        deployment=_str(payload.get("model")),
        reason=failure_reason(info.get("error_class"), info.get("error_code"), info.get("normalized_error")),
    )


def rotator_failovers(metadata: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The pooled-token failovers the rotator recorded (`fp:... HTTP 429`), fingerprints only."""
    state = metadata.get(ROTATOR_KEY) if isinstance(metadata, Mapping) else None
    failovers = state.get("failovers") if isinstance(state, Mapping) else None
    return (
        tuple(str(f) for f in failovers)
        if isinstance(failovers, Sequence) and not isinstance(failovers, str)
        else ()
    )


def requested_model(metadata: Mapping[str, Any] | None, fallback: object) -> str | None:
    """The model id the client sent, before the bundle's aliases mapped it onto a group."""
    if isinstance(metadata, Mapping) and _str(metadata.get(REQUESTED_MODEL_KEY)):
        return str(metadata[REQUESTED_MODEL_KEY])
    if isinstance(metadata, Mapping) and _str(metadata.get("original_model_group")):
        return str(metadata["original_model_group"])
    return _str(fallback)


def route_name(metadata: Mapping[str, Any] | None) -> str | None:
    """The routing rule that chose the group (`litellm_plugins_route`), or None."""
    route = metadata.get(ROUTE_KEY) if isinstance(metadata, Mapping) else None
    return _str(route.get("rule")) if isinstance(route, Mapping) else None


def success_outcome(
    payload: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
    failed_attempts: Sequence[Attempt],
    latency_ms: float | None,
) -> RequestOutcome:
    """The outcome of a request whose last attempt succeeded (LiteLLM's success event)."""
    logged_metadata = payload.get("metadata") if isinstance(payload.get("metadata"), Mapping) else None
    return RequestOutcome(
        client=client_name(logged_metadata, metadata),
        requested_model=requested_model(metadata, payload.get("model_group")),
        group=_str(payload.get("model_group")),
        deployment=_str(payload.get("model")),
        status=200,
        input_tokens=_int(payload.get("prompt_tokens")),
        output_tokens=_int(payload.get("completion_tokens")),
        latency_ms=latency_ms,
        stream=payload.get("stream") is True,
        failed_attempts=tuple(failed_attempts),
        failovers=rotator_failovers(metadata),
        call_id=_str(payload.get("litellm_call_id")) or _str(payload.get("id")),
        route=route_name(metadata),
    )


def failure_outcome(
    request_data: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
    exception: BaseException,
    failed_attempts: Sequence[Attempt],
    latency_ms: float | None,
    auth_metadata: Mapping[str, Any] | None = None,
) -> RequestOutcome:
    """The outcome of a request the proxy answered with an error (its post-call failure hook).

    The last failed attempt is the one the client's error comes from: it names the group and
    deployment; the ones before it are retries or fallbacks."""
    attempts = list(failed_attempts)
    final = attempts.pop() if attempts else None
    metadata = metadata or {}
    group = (
        (final.group if final else None)
        or _str(metadata.get("model_group"))
        or _str(request_data.get("model"))
    )
    deployment = (final.deployment if final else None) or _str(metadata.get("deployment"))
    return RequestOutcome(
        client=client_name(metadata, {"user_api_key_auth_metadata": auth_metadata}),
        requested_model=requested_model(metadata, request_data.get("model")),
        group=group,
        deployment=deployment,
        status=client_status(exception),
        latency_ms=latency_ms,
        stream=request_data.get("stream") is True if "stream" in request_data else None,
        failed_attempts=tuple(attempts),
        failovers=rotator_failovers(metadata),
        error=type(exception).__name__,
        call_id=_str(request_data.get("litellm_call_id")),
        route=route_name(metadata),
    )
