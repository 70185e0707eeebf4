"""The `claude-code` custom provider: OpenAI chat requests answered by Claude Code itself.

LiteLLM calls `acompletion` / `astreaming` (a `CustomLLM`, registered through
`litellm_settings.custom_provider_map`) for `/v1/chat/completions`, and for `/v1/messages`
through its Anthropic-to-chat adapter. Each request leases a token from the bundle's Claude pool
(the rotator's, `CLAUDE_OAUTH_TOKENS`), waits for a process slot (:mod:`.process_gate`) and runs
one Claude Code process (:mod:`.runner`) that makes the API call as Claude Code does. A token
the API refuses with 429/529/401/403 before any text was streamed is cooled like any pooled
token and the run is retried at once with the next one; with every token cooling the client
gets a 429 whose `retry-after` says when the first one frees up.

Settings: :mod:`.settings` (`CLAUDE_CODE_PROVIDER_*`), the rotator's pool and its
`litellm_plugins.anthropic_api_bases` (a deployment's `api_base` must be one of them).

    model_list:
      - model_name: claude-code-sonnet
        litellm_params:
          model: claude-code/sonnet          # sonnet | opus | haiku | a full Claude model id
    litellm_settings:
      custom_provider_map:
        - provider: claude-code
          custom_handler: litellm_plugins.hooks.claude_code_provider
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import litellm
from litellm.llms.custom_llm import CustomLLM

from litellm_plugins.claude_code_provider.conversation import (
    ConversationError,
    conversation_from,
    refuse_tools,
)
from litellm_plugins.claude_code_provider.process_gate import (
    BUSY_RETRY_SECONDS,
    GateFull,
    GateTimeout,
    ProcessGate,
)
from litellm_plugins.claude_code_provider.runner import (
    Delta,
    Finished,
    RunFailed,
    RunRequest,
    RunTimedOut,
    run,
)
from litellm_plugins.claude_code_provider.settings import ClaudeCodeSettings, parse_claude_code_settings
from litellm_plugins.claude_code_provider.translation import FAILOVER_STATUSES, finish_reason, openai_usage
from litellm_plugins.core.errors import hint_error_header
from litellm_plugins.core.redaction import redact

logger = logging.getLogger(__name__)

PROVIDER: Final = "claude-code"
LOG_FAILOVER: Final = "claude-code: token %s answered HTTP %s; trying the next pooled token"
NO_SDK: Final = (
    "the claude-code provider needs claude-agent-sdk, which is not installed: pip install "
    "'litellm-plugins[claude-code]' in the proxy's environment and restart it"
)
NO_POOL: Final = (
    "the claude-code provider has no Claude credential: set CLAUDE_OAUTH_TOKENS in the proxy's .env "
    "(tokens from `claude setup-token`)"
)


def _rotator() -> Any:
    from litellm_plugins.instances import token_rotator

    return token_rotator


class ClaudeCodeProvider(CustomLLM):
    def __init__(self, settings: ClaudeCodeSettings | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._gate: ProcessGate | None = None

    def configure(self, environ: Mapping[str, str] | None = None) -> None:
        """Read and validate the settings, once (at proxy startup; raises SettingsError with a fix)."""
        if self._settings is None:
            self._settings = parse_claude_code_settings(environ)

    @property
    def settings(self) -> ClaudeCodeSettings:
        if self._settings is None:
            self.configure()
        assert self._settings is not None
        return self._settings

    @property
    def gate(self) -> ProcessGate:
        if self._gate is None:
            s = self.settings
            self._gate = ProcessGate(s.max_processes, s.max_queue, s.queue_seconds)
        return self._gate

    # -- LiteLLM's entry points ----------------------------------------------------------------
    async def acompletion(self, model: str, messages: list, api_base: str, *args: Any, **kwargs: Any) -> Any:
        optional_params = kwargs.get("optional_params") or {}
        texts: list[str] = []
        finished: Finished | None = None
        async for event in self._events(model, messages, api_base, optional_params):
            if isinstance(event, Delta):
                texts.append(event.text)
            else:
                finished = event
        response = kwargs.get("model_response") or litellm.ModelResponse()
        response.id = f"chatcmpl-{uuid.uuid4().hex}"
        response.created = int(time.time())
        response.model = model
        response.choices = [
            litellm.Choices(
                index=0,
                finish_reason=finish_reason(finished.stop_reason if finished else None),
                message=litellm.Message(role="assistant", content="".join(texts)),
            )
        ]
        response.usage = litellm.Usage(**openai_usage(finished.usage if finished else None))  # type: ignore[attr-defined]
        return response

    async def astreaming(  # type: ignore[override]
        self, model: str, messages: list, api_base: str, *args: Any, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        optional_params = kwargs.get("optional_params") or {}
        async for event in self._events(model, messages, api_base, optional_params):
            if isinstance(event, Delta):
                yield {
                    "text": event.text,
                    "is_finished": False,
                    "finish_reason": "",
                    "usage": None,
                    "index": 0,
                }
            else:
                usage = openai_usage(event.usage)
                yield {
                    "text": "",
                    "is_finished": True,
                    "finish_reason": finish_reason(event.stop_reason),
                    "usage": {
                        key: usage[key] for key in ("prompt_tokens", "completion_tokens", "total_tokens")
                    },
                    "index": 0,
                }

    def completion(self, *args: Any, **kwargs: Any) -> Any:
        raise litellm.BadRequestError(
            message="the claude-code provider is asynchronous only: call it through the proxy",
            model=str(kwargs.get("model")),
            llm_provider=PROVIDER,
        )

    streaming = completion  # type: ignore[assignment]

    # -- one request ---------------------------------------------------------------------------
    async def _events(
        self, model: str, messages: list, api_base: str | None, optional_params: Mapping[str, Any]
    ) -> AsyncIterator[Delta | Finished]:
        try:
            refuse_tools(optional_params)
            conversation = conversation_from(messages)
        except ConversationError as error:
            raise litellm.BadRequestError(message=str(error), model=model, llm_provider=PROVIDER) from error
        if importlib.util.find_spec("claude_agent_sdk") is None:
            raise litellm.APIError(status_code=500, message=NO_SDK, llm_provider=PROVIDER, model=model)
        rotator = _rotator()
        pool = rotator.pool()
        if len(pool) == 0:
            raise litellm.AuthenticationError(message=NO_POOL, llm_provider=PROVIDER, model=model)
        if api_base and not rotator.settings.is_anthropic_api(api_base):
            raise litellm.BadRequestError(
                message=(
                    f"the claude-code deployment's api_base {api_base!r} is not an Anthropic API base: "
                    "pooled Claude credentials go only to litellm_plugins.anthropic_api_bases (add it there)"
                ),
                model=model,
                llm_provider=PROVIDER,
            )
        max_tokens = optional_params.get("max_tokens") or optional_params.get("max_completion_tokens")
        try:
            async with self.gate.slot():
                async for event in self._with_failover(
                    rotator, pool, conversation, model, api_base, max_tokens
                ):
                    yield event
        except GateFull as error:
            hint_error_header("retry-after", str(BUSY_RETRY_SECONDS))
            raise litellm.RateLimitError(message=str(error), llm_provider=PROVIDER, model=model) from error
        except GateTimeout as error:
            hint_error_header("retry-after", str(BUSY_RETRY_SECONDS))
            raise litellm.ServiceUnavailableError(
                message=str(error), llm_provider=PROVIDER, model=model
            ) from error

    async def _with_failover(
        self, rotator: Any, pool: Any, conversation: Any, model: str, api_base: str | None, max_tokens: Any
    ) -> AsyncIterator[Delta | Finished]:
        from litellm_plugins.rotator.failover_client import pool_exhausted_rate_limit_error

        tried: set[str] = set()
        while True:
            lease = await rotator.lease(pool, None, frozenset(tried))
            if lease is None:
                retry_after = pool.seconds_until_available()
                hint_error_header("retry-after", str(max(1, math.ceil(retry_after))))
                raise pool_exhausted_rate_limit_error(pool.name, retry_after, PROVIDER, model)
            request = RunRequest(
                conversation=conversation,
                model=model,
                token=lease.token,
                fingerprint=lease.fingerprint,
                base_url=api_base or None,
                cli_path=self.settings.cli_path,
                max_output_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
                timeout_seconds=self.settings.timeout_seconds,
            )
            streamed = False
            try:
                async for event in run(request):
                    streamed = streamed or isinstance(event, Delta)
                    yield event
            except RunTimedOut as error:
                raise litellm.Timeout(message=str(error), model=model, llm_provider=PROVIDER) from error
            except RunFailed as failed:
                if failed.status in FAILOVER_STATUSES and not streamed:
                    tried.add(lease.fingerprint)
                    logger.info(LOG_FAILOVER, lease.fingerprint, failed.status)
                    await rotator.report_failure(
                        pool, lease.fingerprint, failed.status, _reset_headers(failed)
                    )
                    continue
                raise _client_error(failed, model) from failed
            pool.record_success(lease.fingerprint)
            return


def _reset_headers(failed: RunFailed) -> dict[str, str]:
    """What the rotator's cooldown reads: the reset Claude Code reported for a rejected window."""
    return {"anthropic-ratelimit-unified-reset": str(int(failed.reset_at))} if failed.reset_at else {}


def _client_error(failed: RunFailed, model: str) -> Exception:
    message = redact(f"Claude Code could not answer: {failed}")
    if failed.status == 400:
        return litellm.BadRequestError(message=message, model=model, llm_provider=PROVIDER)
    return litellm.APIError(status_code=502, message=message, llm_provider=PROVIDER, model=model)
