"""One Claude Code process for one request, through claude-agent-sdk.

The process runs with no tools (`tools=[]`), no settings files, no session persistence, prompts
delivered verbatim (no `@file` expansion, no slash commands), partial messages on (each token
arrives as it is generated), in a fresh scratch directory that is both its working directory
and its `HOME`, removed afterwards. The conversation's history is written there as a session
transcript that the run resumes. The environment is :func:`process_environment`'s.

`run` is an async generator of :class:`Delta` / :class:`Finished`; a failed run raises
:class:`RunFailed` with the API status Claude Code reported. However the generator ends
(finished, failed, timed out, cancelled, or closed because the client went away), the process
is killed if still running and waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from litellm_plugins.claude_code_provider.conversation import Conversation, transcript_lines
from litellm_plugins.claude_code_provider.environment import process_environment
from litellm_plugins.claude_code_provider.translation import text_delta

logger = logging.getLogger(__name__)

SCRATCH_PREFIX: Final = "litellm-claude-code-"
LOG_STARTED: Final = "claude-code: process %s started for model %s with token %s"
LOG_ENDED: Final = "claude-code: process %s ended (%s)"
STDERR_LINES: Final = 20


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Finished:
    usage: dict[str, Any]
    stop_reason: str | None


class RunFailed(Exception):
    """Claude Code could not answer; `status` is the API's HTTP status when it reported one."""

    def __init__(self, message: str, status: int | None = None, reset_at: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reset_at = reset_at


class RunTimedOut(RunFailed):
    """The run took longer than its timeout; the process was killed."""


@dataclass
class RunRequest:
    conversation: Conversation
    model: str
    token: str
    fingerprint: str
    base_url: str | None = None
    cli_path: str | None = None
    max_output_tokens: int | None = None
    timeout_seconds: float = 300.0
    parent_environment: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def _write_history(request: RunRequest, home: str, cwd: str) -> str | None:
    if not request.conversation.history:
        return None
    from claude_agent_sdk import project_key_for_directory

    session_id = str(uuid.uuid4())
    project = os.path.join(home, ".claude", "projects", project_key_for_directory(cwd))
    os.makedirs(project, mode=0o700)
    lines = transcript_lines(request.conversation.history, session_id, cwd, request.model)
    with open(os.path.join(project, f"{session_id}.jsonl"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return session_id


def _pid(transport: Any) -> int | None:
    """The CLI's pid (the SDK keeps its process object private: read defensively)."""
    pid = getattr(getattr(transport, "_process", None), "pid", None)
    return pid if isinstance(pid, int) else None


def _kill(transport: Any) -> None:
    """SIGKILL the CLI if it still runs."""
    process = getattr(transport, "_process", None)
    pid = _pid(transport)
    if process is not None and getattr(process, "returncode", 0) is None and pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def run(request: RunRequest) -> AsyncIterator[Delta | Finished]:
    from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, StreamEvent, query
    from claude_agent_sdk.types import AssistantMessage, RateLimitEvent

    scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    home, cwd = os.path.join(scratch, "home"), os.path.join(scratch, "work")
    os.makedirs(os.path.join(home, ".claude"), mode=0o700)
    os.makedirs(cwd, mode=0o700)
    stderr: list[str] = []
    timed_out: list[bool] = []
    watchdog: asyncio.TimerHandle | None = None
    reset_at: float | None = None
    transport: Any = None
    pid: int | None = None
    outcome = "closed"
    try:
        options = ClaudeAgentOptions(
            tools=[],
            system_prompt=request.conversation.system or "",
            model=request.model,
            include_partial_messages=True,
            verbatim_prompts=True,
            setting_sources=[],
            strict_mcp_config=True,
            max_turns=1,
            thinking={"type": "disabled"},
            cwd=cwd,
            cli_path=request.cli_path,
            resume=_write_history(request, home, cwd),
            env=process_environment(
                request.parent_environment, home, request.token, request.base_url, request.max_output_tokens
            ),
            extra_args={"no-session-persistence": None},
            stderr=lambda line: stderr.append(line) if len(stderr) < STDERR_LINES else None,
        )
        transport = _transport(request.conversation.prompt, options)
        messages = query(prompt=request.conversation.prompt, options=options, transport=transport)
        # A watchdog, not a cancel scope around the yields: it kills the process at the deadline,
        # and the SDK then ends the stream like any process exit.
        watchdog = asyncio.get_running_loop().call_later(
            request.timeout_seconds, _time_out, transport, timed_out
        )
        failure_text = ""
        try:
            async for message in messages:
                if pid is None:
                    pid = _pid(transport)
                    if pid is not None:
                        logger.info(LOG_STARTED, pid, request.model, request.fingerprint)
                if isinstance(message, StreamEvent):
                    text = text_delta(message.event)
                    if text:
                        yield Delta(text)
                elif isinstance(message, RateLimitEvent):
                    info = message.rate_limit_info
                    if info.status == "rejected" and info.resets_at:
                        reset_at = float(info.resets_at)
                elif isinstance(message, AssistantMessage) and message.error:
                    failure_text = _first_text(message) or f"Claude Code reported {message.error}"
                elif isinstance(message, ResultMessage):
                    if message.is_error:
                        status = message.api_error_status
                        raise RunFailed(failure_text or message.result or message.subtype, status, reset_at)
                    outcome = "finished"
                    yield Finished(dict(message.usage or {}), message.stop_reason)
                    return
        finally:
            if outcome != "finished":
                _kill(transport)  # before the SDK's graceful close, which would wait for the process
            with contextlib.suppress(Exception):
                await messages.aclose()
        raise RunFailed("Claude Code ended without a result: " + " | ".join(stderr[-3:]))
    except Exception as error:  # the SDK's errors (process, JSON, CLI not found) become RunFailed
        from claude_agent_sdk import ResultError

        if timed_out:
            outcome = "timed out: killed"
            raise RunTimedOut(
                f"Claude Code did not finish within {request.timeout_seconds:g}s "
                "(CLAUDE_CODE_PROVIDER_TIMEOUT_SECONDS); the process was killed"
            ) from error
        if isinstance(error, RunFailed):
            outcome = f"failed: HTTP {error.status}" if error.status else "failed"
            raise
        if isinstance(error, ResultError):
            outcome = "failed"
            raise RunFailed(str(error), getattr(error, "api_error_status", None), reset_at) from error
        outcome = f"error: {type(error).__name__}"
        raise RunFailed(f"Claude Code could not run: {type(error).__name__}: {error}") from error
    except BaseException:
        outcome = "cancelled"
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        _kill(transport)  # the SDK closes its transport when `messages` is closed: not twice
        shutil.rmtree(scratch, ignore_errors=True)
        if pid is not None:
            logger.info(LOG_ENDED, pid, outcome)


def _time_out(transport: Any, timed_out: list[bool]) -> None:
    timed_out.append(True)
    _kill(transport)


def _transport(prompt: str, options: Any) -> Any:
    """The SDK's own subprocess transport, held here so the process can be killed at once."""
    try:
        from claude_agent_sdk._internal.transport.subprocess_cli import SubprocessCLITransport
    except ImportError:  # a later SDK moved it: its own transport (closed gracefully) is used
        return None
    return SubprocessCLITransport(prompt=prompt, options=options)


def _first_text(message: Any) -> str:
    for block in getattr(message, "content", None) or []:
        text = getattr(block, "text", None)
        if isinstance(text, str) and text:
            return text
    return ""
