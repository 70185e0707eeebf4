"""The request log: one INFO line per client request, saying what happened to it.

Hooks:
- `async_pre_call_hook` (once per client request): notes when the request arrived, in the
  request's metadata (`litellm_plugins_request_log`), where the later hooks find it.
- `async_log_failure_event` (LiteLLM's failure logging, once per failed attempt): records the
  attempt's group, deployment and error class/status from LiteLLM's `standard_logging_object`.
- `async_log_success_event` (once per request that succeeded; after the last chunk of a
  stream): logs the line, with the attempts that failed before as `fallbacks` / `retries`.
- `async_post_call_failure_hook` (once per request the proxy answered with an error): logs the
  line with the status the client got.

The line (:mod:`litellm_plugins.request_log_line`) names the client (its proxy token's name),
the model id it asked for (before aliases), the group and deployment that served, each failed
attempt with its reason, pooled-token failovers (fingerprints), status, input/output tokens and
latency. No credential, prompt or answer is logged. Each request's record also goes to the usage
counter (:mod:`litellm_plugins.usage.counter`) given to the constructor. Settings: none
(`LITELLM_PLUGINS_LOG_LEVEL=WARNING` silences it). Wire it last, after `upstream_guard`, so it
logs the status the client got:

    litellm_settings:
      callbacks: [..., "litellm_plugins.hooks.upstream_guard", "litellm_plugins.hooks.request_log"]
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger

from litellm_plugins.core.request_metadata import request_metadata
from litellm_plugins.request_log.line import (
    Attempt,
    RequestOutcome,
    attempt_from_logging_object,
    failure_outcome,
    format_line,
    success_outcome,
)
from litellm_plugins.usage.counter import UsageCounter
from litellm_plugins.usage.record import usage_record

logger = logging.getLogger("litellm_plugins.request_log")  # the name operators filter on

STATE_KEY: Final = "litellm_plugins_request_log"
MAX_ATTEMPTS: Final = 20  # LiteLLM caps retries and fallbacks far below this; a bound all the same


def _call_metadata(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The metadata of one LLM call as LiteLLM's logging events carry it."""
    params = kwargs.get("litellm_params")
    metadata = params.get("metadata") if isinstance(params, Mapping) else None
    if isinstance(metadata, dict):
        return metadata
    return request_metadata(kwargs)


def _state(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    state = metadata.get(STATE_KEY) if isinstance(metadata, Mapping) else None
    return state if isinstance(state, dict) else None


def recorded_attempts(state: Mapping[str, Any] | None) -> list[Attempt]:
    attempts = state.get("attempts") if state else None
    return [
        Attempt(group=a.get("group"), deployment=a.get("deployment"), reason=a.get("reason"))
        for a in attempts or []
        if isinstance(a, Mapping)
    ]


class RequestLog(CustomLogger):
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, usage: UsageCounter | None = None
    ) -> None:
        super().__init__()
        self._clock = clock
        self._usage = usage

    async def _count(
        self, outcome: RequestOutcome, metadata: Mapping[str, Any] | None, payload: Mapping[str, Any] | None
    ) -> None:
        """The request's usage record to the usage counter; counting never fails a request."""
        if self._usage is None:
            return
        record = usage_record(
            client=outcome.client,
            group=outcome.group,
            deployment=outcome.deployment,
            status=outcome.status,
            metadata=metadata,
            payload=payload,
        )
        fallbacks = [a.group or "-" for a in outcome.failed_attempts if a.group != outcome.group]
        try:
            await self._usage.record(record, outcome.failovers, fallbacks)
        except Exception as error:  # noqa: BLE001 - usage is counted best effort, never in the way
            logger.warning("usage: a request was not counted (%s)", type(error).__name__)

    def _latency_ms(
        self, state: Mapping[str, Any] | None, payload: Mapping[str, Any] | None = None
    ) -> float | None:
        started = state.get("started") if state else None
        if isinstance(started, float):
            return (self._clock() - started) * 1000
        if payload is not None:  # the request began before this plugin saw it: this attempt only
            start, end = payload.get("startTime"), payload.get("endTime")
            if isinstance(start, (int, float)) and isinstance(end, (int, float)):
                return (end - start) * 1000
        return None

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any
    ) -> dict:
        metadata = request_metadata(data)
        if metadata is not None:
            metadata[STATE_KEY] = {"started": self._clock(), "attempts": [], "logged": False}
        return data

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        payload = kwargs.get("standard_logging_object") if isinstance(kwargs, Mapping) else None
        state = _state(_call_metadata(kwargs)) if isinstance(kwargs, Mapping) else None
        if not isinstance(payload, Mapping) or state is None or state.get("logged"):
            return
        attempts = state.get("attempts")
        if isinstance(attempts, list) and len(attempts) < MAX_ATTEMPTS:
            attempts.append(
                vars(attempt_from_logging_object(payload))
            )  # plain data: metadata gets copied and serialized

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        payload = kwargs.get("standard_logging_object") if isinstance(kwargs, Mapping) else None
        if not isinstance(payload, Mapping):
            return
        metadata = _call_metadata(kwargs)
        state = _state(metadata)
        if state is not None:
            if state.get("logged"):
                return
            state["logged"] = True
        outcome = success_outcome(
            payload, metadata, recorded_attempts(state), self._latency_ms(state, payload)
        )
        logger.info("%s", format_line(outcome))
        await self._count(outcome, metadata, payload)

    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
        **kwargs: Any,
    ) -> None:
        # LiteLLM logs the last attempt's failure in a task of its own: let it run first, so the
        # line names the group and deployment the error came from.
        await asyncio.sleep(0)
        metadata = request_metadata(request_data) if isinstance(request_data, dict) else None
        state = _state(metadata)
        if state is not None:
            if state.get("logged"):
                return
            state["logged"] = True
        auth_metadata = getattr(user_api_key_dict, "metadata", None)
        outcome = failure_outcome(
            request_data if isinstance(request_data, dict) else {},
            metadata,
            original_exception,
            recorded_attempts(state),
            self._latency_ms(state),
            auth_metadata if isinstance(auth_metadata, Mapping) else None,
        )
        logger.info("%s", format_line(outcome))
        await self._count(outcome, metadata, None)
