"""`litellm-plugins`: the bundle's command line.

    litellm-plugins serve [--config config.yaml] [--env-file .env] [--host 127.0.0.1] [--port 4000]
    litellm-plugins pool [--url http://127.0.0.1:4000] [--env-file .env] [--json]

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

from . import quickstart

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "litellm_args", None) and args.litellm_args[:1] == ["--"]:
        args.litellm_args = args.litellm_args[1:]
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
