"""Start the real `litellm --config ...` proxy as a subprocess, with our plugins loaded from config.

Used by the integration, e2e and reliability suites and by `bench/`. The proxy binds 127.0.0.1
only; its combined output goes to a log file that tests can scan (credential hygiene).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY = "sk-master-test-0123456789abcdef0123456789abcdef"
STARTUP_TIMEOUT = float(os.environ.get("PROXY_STARTUP_TIMEOUT", "120"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def litellm_executable() -> str:
    beside = Path(sys.executable).parent / "litellm"
    if beside.exists():
        return str(beside)
    found = shutil.which("litellm")
    if not found:
        raise RuntimeError("the `litellm` command is not installed: pip install -e '.[test]'")
    return found


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # A developer's own provider keys or proxy settings must not leak into the proxy under test.
        if not key.startswith(("ANTHROPIC_", "OPENAI_", "CLAUDE_", "LITELLM_", "PROXY_", "REDIS_"))
    }
    env.update(
        {
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "INFO",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    env.update(extra or {})
    return env


# Every proxy a test session started, for the session-wide credential scan (tests/conftest.py).
STARTED_PROXIES: list[ProxyProcess] = []


class ProxyProcess:
    """One running proxy. `url` is its base URL; `log_text()` is everything it printed."""

    def __init__(
        self,
        config: Mapping[str, Any] | str,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        name: str = "proxy",
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"{name}.yaml"
        text = config if isinstance(config, str) else yaml.safe_dump(dict(config), sort_keys=False)
        self.config_path.write_text(text, encoding="utf-8")
        self.log_path = workdir / f"{name}.log"
        self.port = port or free_port()
        self.env = base_environment(env)
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ProxyProcess:
        command = [
            litellm_executable(),
            "--config",
            str(self.config_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.extra_args,
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        STARTED_PROXIES.append(self)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"proxy exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"proxy not ready after {STARTUP_TIMEOUT}s:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=5)

    def __enter__(self) -> ProxyProcess:  # noqa: PYI034 - start() returns self; subclasses none
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# The shipped order (config.yaml.example, litellm_plugins.hooks.PLUGIN_ORDER): stream hooks chain
# in `callbacks` order, so every test that loads several plugins loads them in this order.
PLUGIN_CALLBACKS = [
    "litellm_plugins.hooks.request_transformer",
    "litellm_plugins.hooks.client_limits",
    "litellm_plugins.hooks.token_rotator",
    "litellm_plugins.hooks.upstream_guard",
    "litellm_plugins.hooks.thinking_stripper",
    "litellm_plugins.hooks.request_log",
]


def in_shipped_order(callbacks: list[str]) -> list[str]:
    """`callbacks`, refused unless the bundle's own are in the shipped relative order."""
    ours = [c for c in callbacks if c in PLUGIN_CALLBACKS]
    if ours != sorted(ours, key=PLUGIN_CALLBACKS.index):
        raise ValueError(f"plugins out of the shipped order {PLUGIN_CALLBACKS}: {callbacks}")
    return list(callbacks)


PLUGIN_CUSTOM_AUTH = "litellm_plugins.hooks.user_api_key_auth"


def plugin_config(
    model_list: list[dict[str, Any]],
    *,
    aliases: Mapping[str, str] | None = None,
    fallbacks: list[dict[str, list[str]]] | None = None,
    callbacks: list[str] | None = None,
    extra_litellm_settings: Mapping[str, Any] | None = None,
    extra_general_settings: Mapping[str, Any] | None = None,
    plugins: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A proxy config with the bundle's plugins wired as `config.yaml.example` wires them."""
    litellm_settings: dict[str, Any] = {
        "use_chat_completions_url_for_anthropic_messages": True,
        "drop_params": True,
        "callbacks": in_shipped_order(PLUGIN_CALLBACKS if callbacks is None else callbacks),
        "num_retries": 0,
        "request_timeout": 60,
    }
    litellm_settings.update(extra_litellm_settings or {})
    config: dict[str, Any] = {
        "model_list": model_list,
        "litellm_settings": litellm_settings,
        "general_settings": {
            "master_key": "os.environ/LITELLM_MASTER_KEY",
            "custom_auth": PLUGIN_CUSTOM_AUTH,
            **(extra_general_settings or {}),
        },
        # As config.yaml.example: credential health is the rotator's job, so one client's bad
        # credential must not take a whole deployment out for everyone.
        "router_settings": {"fallbacks": fallbacks or [], "num_retries": 0, "disable_cooldowns": True},
    }
    section: dict[str, Any] = dict(plugins or {})
    if aliases:
        section["model_aliases"] = dict(aliases)
    if section:
        config["litellm_plugins"] = section
    return config


class RedisServer:
    """A throwaway `redis-server` (Debian's package) on 127.0.0.1, no persistence."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: apt-get install redis-server (scripts/test.sh does)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
