"""`worker_count`: how many LiteLLM workers `serve` starts, and what it warns about."""

from __future__ import annotations

import os

import pytest

from litellm_plugins.cli import quickstart
from litellm_plugins.cli.workers import (
    WorkersError,
    litellm_workers_option,
    usable_cpus,
    worker_count,
)

REDIS = {"REDIS_URL": "redis://127.0.0.1:6379"}


@pytest.mark.parametrize(
    ("option", "environ", "cpus", "expected"),
    [
        (None, REDIS, 2, 2),  # auto by default: every core with Redis
        ("auto", REDIS, 16, 4),  # at most 4
        ("AUTO", REDIS, 1, 1),
        (None, {}, 8, 1),  # no Redis: one worker
        (None, {"REDIS_URL": ""}, 8, 1),  # .env.example's empty line is no Redis
        (None, {"REDIS_HOST": "cache"}, 3, 3),  # LiteLLM's variables name the same Redis
        (None, {**REDIS, "PROXY_WORKERS": "3"}, 8, 3),
        (None, {**REDIS, "PROXY_WORKERS": "auto"}, 8, 4),
        ("2", {**REDIS, "PROXY_WORKERS": "3"}, 8, 2),  # the option wins over the variable
        ("1", REDIS, 8, 1),
        ("6", REDIS, 2, 6),  # an explicit count is not capped
    ],
)
def test_the_worker_count(option: str | None, environ: dict[str, str], cpus: int, expected: int) -> None:
    choice = worker_count(option, environ, cpus)
    assert choice.count == expected
    assert choice.warning is None


def test_several_workers_without_redis_are_allowed_with_a_warning_that_says_what_is_not_shared() -> None:
    count, warning, _idle = worker_count("3", {}, 4)
    assert count == 3
    assert warning is not None
    for unshared in ("pool cooldowns and sessions", "client limits", "max_concurrent", "usage counts"):
        assert unshared in warning
    assert "Set REDIS_URL" in warning
    assert worker_count(None, {"PROXY_WORKERS": "2"}, 4).warning == warning.replace("3 workers", "2 workers")


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", ""])
def test_a_count_that_is_not_a_positive_integer_is_refused_with_the_fix(value: str) -> None:
    with pytest.raises(WorkersError, match="must be a positive integer or auto") as error:
        worker_count(value, REDIS, 2)
    assert "--workers 2" in str(error.value)
    with pytest.raises(WorkersError):
        worker_count(None, {"PROXY_WORKERS": value or "x"}, 2)


def test_auto_without_redis_on_several_cores_says_how_to_use_them() -> None:
    hint = worker_count(None, {}, 2).idle_cores
    assert hint is not None and "2 usable CPUs" in hint
    assert "set REDIS_URL" in hint and "docker compose" in hint
    assert worker_count(None, {}, 1).idle_cores is None  # nothing idle
    assert worker_count("1", {}, 4).idle_cores is None  # one worker was asked for
    assert worker_count(None, REDIS, 4).idle_cores is None


def test_the_banner_shows_the_worker_count_and_the_hint() -> None:
    choice = worker_count(None, {}, 2)
    text = quickstart.banner(["anthropic"], [], "http://127.0.0.1:4000", "", choice.count, choice.idle_cores)
    lines = text.splitlines()
    assert lines[1] == "workers: 1"
    assert lines[2] == f"  {choice.idle_cores}"
    assert "workers:" not in quickstart.banner(["anthropic"], [], "http://127.0.0.1:4000", "")


@pytest.mark.parametrize(
    ("litellm_args", "expected"),
    [
        ([], None),
        (["--detailed_debug"], None),
        (["--num_workers", "3"], "3"),
        (["--detailed_debug", "--num_workers=2"], "2"),
        (["--num_workers"], ""),
    ],
)
def test_litellm_s_own_option_is_found(litellm_args: list[str], expected: str | None) -> None:
    assert litellm_workers_option(litellm_args) == expected


def test_usable_cpus_are_the_ones_this_process_may_run_on() -> None:
    assert usable_cpus() == len(os.sched_getaffinity(0))
