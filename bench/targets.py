"""The processes the proxy benchmark starts: the instant upstream and the proxies in front of it.

- `upstream`: `bench/instant_upstream.py`, the floor (requests go to it directly, in OpenAI form);
- `stock`: LiteLLM with a plain config: one `openai/` deployment on the upstream and
  `use_chat_completions_url_for_anthropic_messages: true`, nothing else;
- `bundle`: LiteLLM with `config.yaml.example` as shipped (every `litellm_settings`,
  `router_settings` and `general_settings` key, the performance settings included), its model
  list replaced by one deployment on the upstream, and every plugin of the bundle wired:
  the callbacks of `litellm_plugins.hooks` and its `custom_auth`, with a `PROXY_STATIC_TOKEN`;
- `no-plugins`: the same LiteLLM settings without any plugin (no callbacks, no custom auth, no
  `litellm_plugins` section): bundle / no-plugins is what the plugins cost;
- `bundle-2w`: `bundle` with `--num_workers 2` (multi-worker scaling);
- `stock-native`, `bundle-native`, `no-plugins-native` (with `--native`): the same three
  configurations with the deployment as `anthropic/` on the upstream's `/v1/messages`, the
  route the `anthropic`, `glm` and `kimi` recipes take (no protocol translation);
- `router`: claude-code-router (npm `@musistudio/claude-code-router`, installed into
  `bench/.cache/ccr`), configured in a scratch HOME to route every request to the upstream.

Every LiteLLM target runs with the environment a user of `litellm-plugins serve` has
(`tests/harness.base_environment` without its `LITELLM_LOG=INFO`), so log levels are the
defaults each configuration ships with.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.harness import MASTER_KEY, ProxyProcess, free_port

CACHE: Final = REPO_ROOT / "bench" / ".cache"
EXAMPLE_CONFIG: Final = REPO_ROOT / "config.yaml.example"
UPSTREAM_KEY: Final = "sk-bench-upstream"
UPSTREAM_MODEL: Final = "openai/deepseek-chat"
GROUP: Final = "deepseek"
PROXY_TOKEN: Final = "bench-proxy-token-0123456789abcdef0123456789"
ROUTER_KEY: Final = "bench-router-key-0123456789abcdef0123456789"
ROUTER_PACKAGE: Final = "@musistudio/claude-code-router"
# 3.x needs Node >= 22; 2.0.0 is the last release that runs on Node 20 (and the one issue 7 measured).
ROUTER_VERSION: Final = "2.0.0"
# The shipped order (litellm_plugins.hooks.PLUGIN_ORDER); names a checkout does not have are left out.
PLUGIN_CALLBACKS: Final = (
    "request_transformer",
    "client_limits",
    "token_rotator",
    "upstream_guard",
    "thinking_stripper",
    "request_log",
)
PLUGIN_AUTH: Final = "litellm_plugins.hooks.user_api_key_auth"
NATIVE_MODEL: Final = "anthropic/deepseek-chat"
DEPLOYMENT_INFO: Final = {"max_output_tokens": 8192, "supports_reasoning": False, "reasoning_input": "drop"}
NATIVE_INFO: Final = {"max_output_tokens": 32768, "supports_reasoning": True}


@dataclass
class Target:
    """One running thing to measure: where to send requests, and which process tree to watch."""

    name: str
    url: str  # full URL requests go to
    headers: dict[str, str]
    pids: list[int]
    dialect: str  # "anthropic" (/v1/messages) or "openai" (the upstream itself)
    stop: Any = field(repr=False, default=None)
    log_path: Path | None = None
    note: str = ""


def run_folder(given: Path | None, prefix: str = "") -> Path:
    """Where one run's configs and logs go: `given`, or `bench/.cache/runs/<prefix><time>`, created."""
    folder = Path(given or CACHE / "runs" / f"{prefix}{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stop_all(started: Any) -> None:
    """Stop every target in `started` (an iterable of them), whatever one of them raises."""
    for target in started:
        try:
            target.stop()
        except (OSError, subprocess.SubprocessError) as error:  # keep stopping the others
            print(f"[bench] stopping {target.name}: {error}", file=sys.stderr, flush=True)


# -- the instant upstream ----------------------------------------------------------------------
def start_upstream(chunks: int, workdir: Path) -> Target:
    log = (workdir / "upstream.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "instant_upstream.py"),
            "--port",
            "0",
            "--chunks",
            str(chunks),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(
            f"the instant upstream did not start (said {line!r}); see {workdir / 'upstream.log'}"
        )
    port = int(line.split()[1])

    def stop() -> None:
        _terminate(process)

    return Target(
        "upstream",
        f"http://127.0.0.1:{port}/v1/chat/completions",
        {"content-type": "application/json", "authorization": f"Bearer {UPSTREAM_KEY}"},
        [process.pid],
        "openai",
        stop,
        workdir / "upstream.log",
    )


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


# -- LiteLLM configurations (pure) ---------------------------------------------------------------
def deployment(upstream_base: str, group: str, native: bool = False) -> dict[str, Any]:
    """One deployment on the upstream: `openai/` on its chat route (`upstream_base` ends in
    `/v1`), or with `native` `anthropic/` on its Messages route (LiteLLM adds `/v1/messages`)."""
    if native:
        params = {
            "model": NATIVE_MODEL,
            "api_base": upstream_base.removesuffix("/v1"),
            "api_key": UPSTREAM_KEY,
        }
        return {"model_name": group, "litellm_params": params, "model_info": dict(NATIVE_INFO)}
    params = {"model": UPSTREAM_MODEL, "api_base": upstream_base, "api_key": UPSTREAM_KEY}
    return {"model_name": group, "litellm_params": params, "model_info": dict(DEPLOYMENT_INFO)}


def stock_config(upstream_base: str, group: str, native: bool = False) -> dict[str, Any]:
    """What a LiteLLM user writes for Claude Code on an OpenAI-compatible server, and no more."""
    model = deployment(upstream_base, group, native)
    model.pop("model_info")
    return {
        "model_list": [model],
        "litellm_settings": {"use_chat_completions_url_for_anthropic_messages": True},
    }


def hooks_names() -> set[str]:
    """The names `litellm_plugins/hooks.py` binds, read without importing it (importing it
    would import LiteLLM and build the plugins in the benchmark's own process)."""
    spec = importlib.util.find_spec("litellm_plugins")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("litellm_plugins is not installed: pip install -e . from the repository root")
    hooks = Path(next(iter(spec.submodule_search_locations))) / "hooks.py"
    names: set[str] = set()
    for node in ast.parse(hooks.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    names.add(target.id)
    return names


def available_plugin_callbacks() -> list[str]:
    bound = hooks_names()
    return [f"litellm_plugins.hooks.{name}" for name in PLUGIN_CALLBACKS if name in bound]


def bundle_config(
    upstream_base: str, example: dict[str, Any] | None = None, native: bool = False
) -> dict[str, Any]:
    """`config.yaml.example` with one deployment on the upstream and every plugin wired."""
    document = dict(
        example if example is not None else yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    )
    litellm_settings = dict(document.get("litellm_settings") or {})
    callbacks = [c for c in litellm_settings.get("callbacks") or [] if isinstance(c, str)]
    callbacks += [c for c in available_plugin_callbacks() if c not in callbacks]
    litellm_settings["callbacks"] = callbacks
    router_settings = dict(document.get("router_settings") or {})
    router_settings["fallbacks"] = []  # they name groups that are not in the benchmark's model list
    general_settings = dict(document.get("general_settings") or {})
    general_settings["custom_auth"] = PLUGIN_AUTH
    plugins = dict(document.get("litellm_plugins") or {})
    plugins["model_aliases"] = {"claude-*": GROUP}
    plugins.pop("pools", None)
    return {
        "model_list": [deployment(upstream_base, GROUP, native)],
        "litellm_plugins": plugins,
        "litellm_settings": litellm_settings,
        "router_settings": router_settings,
        "general_settings": general_settings,
    }


def with_default_gc(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle without its garbage-collection settings: the plugins' own cost, nothing more."""
    config = copy.deepcopy(bundle)
    config["litellm_plugins"].pop("garbage_collection", None)
    return config


def without_plugins(bundle: dict[str, Any], group: str) -> dict[str, Any]:
    """The bundle's LiteLLM settings with no plugin: no callbacks, no custom auth, no aliases."""
    litellm_settings = dict(bundle["litellm_settings"])
    litellm_settings["callbacks"] = [
        c for c in litellm_settings.get("callbacks", []) if not c.startswith("litellm_plugins.")
    ]
    if not litellm_settings["callbacks"]:
        litellm_settings.pop("callbacks")
    general_settings = {k: v for k, v in bundle["general_settings"].items() if k != "custom_auth"}
    model = copy.deepcopy(bundle["model_list"][0])
    model["model_name"] = group
    return {
        "model_list": [model],
        "litellm_settings": litellm_settings,
        "router_settings": dict(bundle["router_settings"]),
        "general_settings": general_settings,
    }


# -- LiteLLM processes ---------------------------------------------------------------------------
@dataclass
class PendingProxy:
    name: str
    proxy: ProxyProcess
    headers: dict[str, str]


def litellm_proxy(
    name: str,
    config: dict[str, Any],
    workdir: Path,
    *,
    plugins: bool,
    env: dict[str, str] | None = None,
    workers: int = 1,
    extra_args: tuple[str, ...] = (),
) -> PendingProxy:
    """A LiteLLM target: with `plugins`, clients send the bundle's proxy token (its custom auth
    is in `config`); without, the master key."""
    environment = {**(env or {}), **(plugin_environment() if plugins else {})}
    extra = (("--num_workers", str(workers)) if workers > 1 else ()) + extra_args
    proxy = ProxyProcess(config, workdir / name, env=environment, extra_args=extra, name=name)
    proxy.env.pop("LITELLM_LOG", None)  # the default a user gets; the harness's tests want INFO
    return PendingProxy(name, proxy, plugin_headers() if plugins else master_key_headers())


def start_litellm(pending: PendingProxy) -> Target:
    pending.proxy.start()
    process = pending.proxy.process
    assert process is not None
    return Target(
        pending.name,
        f"{pending.proxy.url}/v1/messages",
        pending.headers,
        [process.pid],
        "anthropic",
        pending.proxy.stop,
        pending.proxy.log_path,
    )


def master_key_headers() -> dict[str, str]:
    return {"x-litellm-api-key": MASTER_KEY}


def plugin_headers() -> dict[str, str]:
    return {"x-litellm-api-key": PROXY_TOKEN}


def plugin_environment() -> dict[str, str]:
    return {"PROXY_STATIC_TOKEN": PROXY_TOKEN}


# -- claude-code-router ----------------------------------------------------------------------------
def router_entry(version: str = ROUTER_VERSION) -> Path:
    return CACHE / "ccr" / "node_modules" / "@musistudio" / "claude-code-router" / "dist" / "cli.js"


def install_router(version: str = ROUTER_VERSION) -> tuple[Path | None, str]:
    """(path of the router's cli.js, "") when it is installed or could be, else (None, why not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, "Node.js/npm not found on PATH"
    entry = router_entry(version)
    folder = CACHE / "ccr"
    package_json = entry.parent.parent / "package.json"
    if (
        entry.exists()
        and package_json.exists()
        and json.loads(package_json.read_text()).get("version") == version
    ):
        return entry, ""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "package.json").exists():
        (folder / "package.json").write_text('{"name": "ccr-bench", "private": true}\n')
    try:
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel", "error", f"{ROUTER_PACKAGE}@{version}"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"npm install {ROUTER_PACKAGE}@{version} failed: {error}"
    if result.returncode != 0 or not entry.exists():
        return (
            None,
            (
                f"npm install {ROUTER_PACKAGE}@{version} failed: "
                f"{(result.stderr or result.stdout).strip()[-400:]}"
            ),
        )
    return entry, ""


def router_config(upstream_chat_url: str, port: int) -> dict[str, Any]:
    return {
        "HOST": "127.0.0.1",
        "PORT": port,
        "APIKEY": ROUTER_KEY,
        "LOG": False,
        "NON_INTERACTIVE_MODE": True,
        "API_TIMEOUT_MS": 600000,
        "Providers": [
            {
                "name": "bench",
                "api_base_url": upstream_chat_url,
                "api_key": UPSTREAM_KEY,
                "models": ["deepseek-chat"],
            }
        ],
        "Router": {"default": "bench,deepseek-chat"},
    }


def start_router(entry: Path, upstream_chat_url: str, workdir: Path, timeout: float = 60) -> Target:
    home = workdir / "router-home"
    (home / ".claude-code-router").mkdir(parents=True, exist_ok=True)
    port = free_port()
    (home / ".claude-code-router" / "config.json").write_text(
        json.dumps(router_config(upstream_chat_url, port), indent=2)
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANTHROPIC_", "OPENAI_"))}
    env.update(
        {
            "HOME": str(home),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "CI": "true",
        }
    )
    log_path = workdir / "router.log"
    log = log_path.open("wb")
    node = shutil.which("node") or "node"
    process = subprocess.Popen(
        [node, str(entry), "start"],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"claude-code-router exited with {process.returncode}: "
                f"{log_path.read_text(errors='replace')[-600:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.25)
    else:
        _terminate(process)
        raise RuntimeError(f"claude-code-router did not answer on port {port} within {timeout:.0f}s")

    def stop() -> None:
        _terminate(process)

    package = json.loads((entry.parent.parent / "package.json").read_text())
    return Target(
        "router",
        f"http://127.0.0.1:{port}/v1/messages",
        {"x-api-key": ROUTER_KEY},
        [process.pid],
        "anthropic",
        stop,
        log_path,
        note=f"claude-code-router {package.get('version')} on Node {node_version()}",
    )


def node_version() -> str:
    try:
        return subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
