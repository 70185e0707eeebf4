"""`litellm-plugins`: the bundle's command line.

    litellm-plugins serve [--config config.yaml] [--env-file .env] [--host 127.0.0.1] [--port 4000]
    litellm-plugins pool [--url http://127.0.0.1:4000] [--env-file .env] [--json]
    litellm-plugins check [--config config.yaml] [--env-file .env]
    litellm-plugins claude-settings [--url ...] [--model M] [--passthrough] [--write PATH]

`serve` is the quick start: it creates `.env` secrets and `config.yaml` when missing, loads `.env`
with python-dotenv, keeps the deployments whose keys are present, prints the live model groups
and the Claude Code settings, and runs `litellm --config` on the result.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from dotenv import load_dotenv

from litellm_plugins.cli import quickstart
EXAMPLE_CONFIG = "config.yaml.example"


def _litellm_command() -> str:
    beside = Path(sys.executable).parent / "litellm"
    return str(beside) if beside.exists() else "litellm"


def serve(args: argparse.Namespace) -> int:
    config_path = Path(args.config).resolve()
    env_path = Path(args.env_file).resolve()
    added = quickstart.ensure_env_file(env_path)
    if added:
        print(f"litellm_plugins: generated {', '.join(added)} in {env_path}", file=sys.stderr)
    if quickstart.ensure_config_file(config_path, config_path.parent / EXAMPLE_CONFIG):
        print(f"litellm_plugins: created {config_path} from {EXAMPLE_CONFIG}", file=sys.stderr)
    load_dotenv(env_path, override=False)
    document = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    effective, notes = quickstart.live_config(document, os.environ)
    effective_path = quickstart.write_effective_config(
        effective, config_path.parent / ".cache" / f"{config_path.stem}.effective.yaml"
    )
    base_url = f"http://{args.host}:{args.port}"
    print(
        quickstart.banner(quickstart.live_groups(effective), notes, base_url, "<PROXY_STATIC_TOKEN>"), file=sys.stderr
    )
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["LITELLM_PLUGINS_CONFIG"] = str(effective_path)
    command = [_litellm_command(), "--config", str(effective_path), "--host", args.host, "--port", str(args.port)]
    command += list(args.litellm_args or [])
    sys.stderr.flush()
    os.execvp(command[0], command)
    return 0  # pragma: no cover - execvp does not return


def format_pool_status(report: dict, now: float) -> str:
    lines = [
        f"mode {report.get('mode')}, strategy {report.get('strategy')}, shared state {report.get('shared_state')}",
        f"{'pool':<14} {'token':<12} {'state':<22} {'requests':>8} {'ok':>6} {'429s':>6}",
    ]
    for row in report.get("tokens") or []:
        if row.get("healthy"):
            state = "healthy"
        else:
            remaining = max(0, int(float(row.get("cooling_until") or now) - now))
            state = f"{row.get('reason') or 'cooling'} {remaining}s"
        lines.append(
            f"{row.get('pool', ''):<14} {row.get('fingerprint', ''):<12} {state:<22} "
            f"{row.get('requests', 0):>8} {row.get('successes', 0):>6} {row.get('rate_limits', 0):>6}"
        )
    if not report.get("tokens"):
        lines.append("(no pooled tokens: set CLAUDE_OAUTH_TOKENS)")
    return "\n".join(lines)


def pool(args: argparse.Namespace) -> int:
    import json
    import time

    import httpx

    load_dotenv(Path(args.env_file), override=False)
    key = os.environ.get("LITELLM_MASTER_KEY")
    if not key:
        print("litellm-plugins pool: LITELLM_MASTER_KEY is not set (in the environment or .env)", file=sys.stderr)
        return 2
    try:
        response = httpx.get(f"{args.url.rstrip('/')}/litellm_plugins/pool", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    except httpx.HTTPError as error:
        print(f"litellm-plugins pool: cannot reach the proxy at {args.url}: {type(error).__name__}", file=sys.stderr)
        return 2
    if response.status_code != 200:
        print(f"litellm-plugins pool: the proxy answered {response.status_code}: {response.text[:300]}", file=sys.stderr)
        return 2
    report = response.json()
    print(json.dumps(report, indent=2) if args.json else format_pool_status(report, time.time()))
    return 0


def check(args: argparse.Namespace) -> int:
    from litellm_plugins.cli import config_check
    config_path = Path(args.config)
    if not config_path.is_file():
        print(f"error: {config_path}: not found (copy config.yaml.example, or run `litellm-plugins serve`)")
        return 1
    load_dotenv(Path(args.env_file), override=False)  # as `serve` does: the environment wins
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_PLUGINS_LOG_LEVEL", "WARNING")  # the report is the output
    try:
        document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        print(f"error: {config_path}: not valid YAML: {error}")
        return 1

    def load(value: str, path: str) -> object:
        from litellm.proxy.types_utils.utils import get_instance_fn

        return get_instance_fn(value=value, config_file_path=path)

    problems = config_check.check_config(document, os.environ, str(config_path.resolve()), load)
    for problem in problems:
        print(problem.render())
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    print(f"{config_path}: {errors} error(s), {warnings} warning(s)" if problems else f"{config_path}: no problems found")
    return 1 if errors else 0


def claude_settings(args: argparse.Namespace) -> int:
    import json

    from litellm_plugins.auth.proxy_tokens import load_auth_settings
    from litellm_plugins.core.settings import SettingsError

    load_dotenv(Path(args.env_file), override=False)
    try:
        auth = load_auth_settings(os.environ)
    except SettingsError as error:
        print(f"litellm-plugins claude-settings: {error}", file=sys.stderr)
        return 2
    tokens = {token.name: token for token in auth.registry.tokens}
    token = tokens.get(args.client) if args.client else (next(iter(tokens.values())) if len(tokens) == 1 else None)
    if tokens and token is None:
        names = ", ".join(sorted(tokens))
        print(f"litellm-plugins claude-settings: choose a client with --client ({names})", file=sys.stderr)
        return 2
    env = quickstart.claude_code_env(args.url.rstrip("/"), token.secret.reveal() if token else None, args.model)
    if args.passthrough:
        header = env.get("ANTHROPIC_CUSTOM_HEADERS")
        env["ANTHROPIC_CUSTOM_HEADERS"] = "\n".join(filter(None, [header, "x-claude-token-mode: passthrough"]))
    elif token is not None:
        # Rotate mode needs no Claude login: Claude Code still wants a credential to start.
        env["ANTHROPIC_AUTH_TOKEN"] = token.secret.reveal()
    for variable, value in (
        ("ANTHROPIC_DEFAULT_HAIKU_MODEL", args.haiku_model),
        ("ANTHROPIC_DEFAULT_SONNET_MODEL", args.sonnet_model),
        ("ANTHROPIC_DEFAULT_OPUS_MODEL", args.opus_model),
    ):
        if value:
            env[variable] = value
    if not args.write:
        print(json.dumps({"env": env}, indent=2))
        return 0
    target = Path(args.write)
    if target.is_dir() or not target.suffix:
        target = target / ".claude" / "settings.json"
    settings: dict = {}
    if target.exists():
        try:
            settings = json.loads(target.read_text(encoding="utf-8") or "{}")
        except ValueError:
            print(f"litellm-plugins claude-settings: {target} is not valid JSON; not touching it", file=sys.stderr)
            return 2
    settings["env"] = {**(settings.get("env") or {}), **env}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    target.chmod(0o600)  # it holds the proxy token
    print(f"wrote the proxy settings into {target}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="litellm-plugins", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="start the proxy with this bundle (the quick start)")
    serve_parser.add_argument("--config", default="config.yaml")
    serve_parser.add_argument("--env-file", default=".env")
    serve_parser.add_argument("--host", default=os.environ.get("PROXY_HOST", "127.0.0.1"))
    serve_parser.add_argument("--port", type=int, default=int(os.environ.get("PROXY_PORT", "4000")))
    serve_parser.add_argument("litellm_args", nargs=argparse.REMAINDER, help="passed to litellm after --")
    serve_parser.set_defaults(handler=serve)
    pool_parser = commands.add_parser("pool", help="the token rotator's pool status (master key from .env)")
    pool_parser.add_argument("--url", default=os.environ.get("PROXY_URL", "http://127.0.0.1:4000"))
    pool_parser.add_argument("--env-file", default=".env")
    pool_parser.add_argument("--json", action="store_true", help="print the raw JSON")
    pool_parser.set_defaults(handler=pool)
    check_parser = commands.add_parser("check", help="report every problem in config.yaml and .env")
    check_parser.add_argument("--config", default="config.yaml")
    check_parser.add_argument("--env-file", default=".env")
    check_parser.set_defaults(handler=check)
    settings_parser = commands.add_parser("claude-settings", help="print (or write) Claude Code's settings.json env block")
    settings_parser.add_argument("--url", default=os.environ.get("PROXY_URL", "http://127.0.0.1:4000"))
    settings_parser.add_argument("--env-file", default=".env")
    settings_parser.add_argument("--client", help="which PROXY_STATIC_TOKENS client's token to use")
    settings_parser.add_argument("--model", help="ANTHROPIC_MODEL: a model group or Claude model id")
    settings_parser.add_argument("--haiku-model", help="ANTHROPIC_DEFAULT_HAIKU_MODEL")
    settings_parser.add_argument("--sonnet-model", help="ANTHROPIC_DEFAULT_SONNET_MODEL")
    settings_parser.add_argument("--opus-model", help="ANTHROPIC_DEFAULT_OPUS_MODEL")
    settings_parser.add_argument("--passthrough", action="store_true", help="use your own Claude login instead of the pool")
    settings_parser.add_argument("--write", help="a settings.json path or a project folder (merged with what is there)")
    settings_parser.set_defaults(handler=claude_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "litellm_args", None) and args.litellm_args[:1] == ["--"]:
        args.litellm_args = args.litellm_args[1:]
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
