"""`litellm-plugins`: the bundle's command line (`--help` on each command lists its options and defaults).

    litellm-plugins serve [--config config.yaml] [--env-file .env] [--host 127.0.0.1] [--port 4000]
                          [--workers N|auto] [--no-create] [--effective-config PATH]
                          (Docker: docker-compose.yml)
    litellm-plugins pool [--url http://127.0.0.1:4000] [--env-file .env] [--json]
    litellm-plugins usage [--url ...] [--env-file .env] [--json] [--window hour|today|total]
    litellm-plugins check [--config config.yaml] [--env-file .env]
    litellm-plugins claude-settings [--url ...] [--config config.yaml] [--client NAME] [--model M]
                                    [--passthrough] [--write PATH]
    litellm-plugins --version

`serve` is the quick start: it creates `.env` secrets and `config.yaml` when missing, loads `.env`
with python-dotenv, keeps the deployments whose keys are present, picks the worker count
(:mod:`litellm_plugins.cli.workers`: one per core with REDIS_URL, else one), refuses a port that
is already taken (LiteLLM would silently move to another), prints the live model groups and the
commands that print the Claude Code settings, and runs `litellm --config` on the result.

`claude-settings` prints the settings for the user's path (:func:`quickstart.settings_path`): their
own Claude login by default, the proxy's pool when CLAUDE_OAUTH_TOKENS is set and the client may
use it, a provider group with `--model <group>`, plus the `/model` rows and context windows of
the config's live groups (:mod:`litellm_plugins.cli.claude_picker`). With no proxy token to print
it exits 2 and says where it looked; `--write` keeps the previous file as `<name>.bak`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import yaml
from dotenv import load_dotenv

from litellm_plugins import __version__
from litellm_plugins.cli import quickstart, workers

EXAMPLE_CONFIG = "config.yaml.example"


def _litellm_command() -> str:
    beside = Path(sys.executable).parent / "litellm"
    return str(beside) if beside.exists() else "litellm"


def _self_command() -> str:
    """`litellm-plugins` when that is what the shell finds, else the full path of this one."""
    beside = Path(sys.executable).parent / "litellm-plugins"
    found = shutil.which("litellm-plugins")
    if not beside.exists() or (found and Path(found).resolve() == beside.resolve()):
        return "litellm-plugins"
    return str(beside)


def pool_configured(environ: Mapping[str, str]) -> bool:
    """The proxy serves Claude from CLAUDE_OAUTH_TOKENS or OAuth pairs (CLAUDE_OAUTH_CREDENTIALS,
    CLAUDE_OAUTH_PAIRS), unless CLAUDE_TOKEN_MODE=passthrough."""
    mode = (environ.get("CLAUDE_TOKEN_MODE") or "rotate").strip().lower()
    pooled = ("CLAUDE_OAUTH_TOKENS", "CLAUDE_OAUTH_CREDENTIALS", "CLAUDE_OAUTH_PAIRS")
    return any((environ.get(name) or "").strip() for name in pooled) and mode != "passthrough"


def port_in_use(host: str, port: int) -> str | None:
    """Why `host:port` cannot be bound, or None when it is free (LiteLLM would silently move
    to a random port when 4000 is taken, while every printed URL still said 4000)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.strerror or type(error).__name__
    return None


def serve(args: argparse.Namespace) -> int:
    config_path = Path(args.config).resolve()
    env_path = Path(args.env_file).resolve()
    if args.no_create:  # Docker: config.yaml is a read-only mount, the variables come from env_file
        if not config_path.is_file():
            print(
                f"litellm-plugins serve: {config_path} not found and --no-create does not create it "
                f"(Docker: `cp {EXAMPLE_CONFIG} config.yaml` next to docker-compose.yml)",
                file=sys.stderr,
            )
            return 2
    else:
        added = quickstart.ensure_env_file(env_path)
        if added:
            print(f"litellm_plugins: generated {', '.join(added)} in {env_path}", file=sys.stderr)
        if quickstart.ensure_config_file(config_path, config_path.parent / EXAMPLE_CONFIG):
            print(f"litellm_plugins: created {config_path} from {EXAMPLE_CONFIG}", file=sys.stderr)
    load_dotenv(env_path, override=False)
    if args.no_create and not os.environ.get("LITELLM_MASTER_KEY"):
        print(
            "litellm-plugins serve: LITELLM_MASTER_KEY is not set and --no-create does not generate it "
            "(Docker: set it in .env, or run `litellm-plugins serve` once on the host to generate it)",
            file=sys.stderr,
        )
        return 2
    given = workers.litellm_workers_option(args.litellm_args or [])  # LiteLLM's own option wins
    if given is not None and args.workers is not None:
        print(
            f"litellm_plugins: --workers {args.workers} is ignored: --num_workers {given} after -- wins",
            file=sys.stderr,
        )
    try:
        choice = workers.worker_count(
            args.workers if given is None else given, os.environ, workers.usable_cpus()
        )
    except workers.WorkersError as error:
        if given is None:
            print(f"litellm-plugins serve: {error}", file=sys.stderr)
            return 2
        choice = None  # `litellm` reports its own option's error
    if choice and choice.warning:
        print(f"litellm-plugins serve: warning: {choice.warning}", file=sys.stderr)
    document = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    effective, notes = quickstart.live_config(document, os.environ)
    effective_path = quickstart.write_effective_config(
        effective,
        Path(args.effective_config)
        if args.effective_config
        else config_path.parent / ".cache" / f"{config_path.stem}.effective.yaml",
    )
    busy = port_in_use(args.host, args.port)
    if busy:
        print(
            f"litellm-plugins serve: port {args.port} on {args.host} is already in use ({busy}): stop what "
            f"holds it, or pick another port with --port {args.port + 1} (or PROXY_PORT={args.port + 1} in "
            "the environment)",
            file=sys.stderr,
        )
        return 1
    base_url = f"http://{args.host}:{args.port}"
    path = quickstart.settings_path(pool_configured(os.environ), True, None)
    env_option = None if env_path == Path(".env").resolve() else str(env_path)
    instructions = quickstart.settings_instructions(base_url, path, _self_command(), env_option)
    print(
        quickstart.banner(
            quickstart.live_groups(effective),
            notes,
            base_url,
            instructions,
            choice.count if choice else None,
            choice.idle_cores if choice else None,
        ),
        file=sys.stderr,
    )
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["LITELLM_PLUGINS_CONFIG"] = str(effective_path)
    command = [
        _litellm_command(),
        "--config",
        str(effective_path),
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    if given is None and choice and choice.count > 1:
        command += [workers.LITELLM_OPTION, str(choice.count)]
    command += list(args.litellm_args or [])
    sys.stderr.flush()
    os.execvp(command[0], command)
    return 0  # pragma: no cover - execvp does not return


def local_reset(epoch: object) -> str:
    """An epoch-seconds reset time as the operator's local time (`Tue 01 Dec 15:00`)."""
    try:
        seconds = float(epoch)  # type: ignore[arg-type]
        return datetime.fromtimestamp(seconds).astimezone().strftime("%a %d %b %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return "-"


def _window_cell(window: object) -> str:
    if not isinstance(window, dict) or window.get("utilization") is None:
        return "-"
    flag = "!" if window.get("status") in ("allowed_warning", "rejected") else " "
    return f"{100 * float(window['utilization']):>3.0f}%{flag} {local_reset(window.get('reset'))}"


def _limits_notes(row: dict) -> str:
    notes = []
    if row.get("warning"):
        notes.append(f"warning ({row.get('representative_claim') or 'a window'})")
    elif row.get("unified_status") == "rejected":
        notes.append(f"rejected ({row.get('representative_claim') or 'a window'})")
    for family, until in sorted((row.get("family_cooling") or {}).items()):
        notes.append(f"{family} resting until {local_reset(until)}")
    return ", ".join(notes)


def format_pool_status(report: dict, now: float) -> str:
    zone = datetime.fromtimestamp(now).astimezone().strftime("%Z")
    lines = [
        (
            f"mode {report.get('mode')}, strategy {report.get('strategy')}, shared state "
            f"{report.get('shared_state')}; windows: share used (! warning), reset ({zone} time)"
        ),
        (
            f"{'pool':<14} {'token':<12} {'state':<22} {'requests':>8} {'ok':>6} {'429s':>6}  "
            f"{'5h used  resets':<22} {'7d used  resets':<22} notes"
        ),
    ]
    for row in report.get("tokens") or []:
        if row.get("healthy"):
            state = "healthy"
        else:
            remaining = max(0, int(float(row.get("cooling_until") or now) - now))
            state = f"{row.get('reason') or 'cooling'} {remaining}s"
        windows = row.get("windows") or {}
        five_hour, seven_day = _window_cell(windows.get("5h")), _window_cell(windows.get("7d"))
        lines.append(
            (
                f"{row.get('pool', ''):<14} {row.get('fingerprint', ''):<12} {state:<22} "
                f"{row.get('requests', 0):>8} {row.get('successes', 0):>6} {row.get('rate_limits', 0):>6}  "
                f"{five_hour:<22} {seven_day:<22} {_limits_notes(row)}"
            ).rstrip()
        )
    if not report.get("tokens"):
        lines.append("(no pooled tokens: set CLAUDE_OAUTH_TOKENS)")
    return "\n".join(lines)


def fetch_report(command: str, args: argparse.Namespace, path: str, params: dict[str, str]) -> dict | None:
    """GET one of the bundle's operator routes with the master key; None after saying why not."""
    import httpx

    load_dotenv(Path(args.env_file), override=False)
    key = os.environ.get("LITELLM_MASTER_KEY")
    if not key:
        print(
            f"litellm-plugins {command}: LITELLM_MASTER_KEY is not set (in the environment or .env)",
            file=sys.stderr,
        )
        return None
    try:
        response = httpx.get(
            f"{args.url.rstrip('/')}{path}",
            params=params,
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
    except httpx.HTTPError as error:
        print(
            f"litellm-plugins {command}: cannot reach the proxy at {args.url}: {type(error).__name__}",
            file=sys.stderr,
        )
        return None
    if response.status_code != 200:
        print(
            f"litellm-plugins {command}: the proxy answered {response.status_code}: {response.text[:300]}",
            file=sys.stderr,
        )
        return None
    return response.json()


def pool(args: argparse.Namespace) -> int:
    import json
    import time

    report = fetch_report("pool", args, "/litellm_plugins/pool", {})
    if report is None:
        return 2
    print(json.dumps(report, indent=2) if args.json else format_pool_status(report, time.time()))
    return 0


def usage(args: argparse.Namespace) -> int:
    """The usage report (`GET /litellm_plugins/usage`) as a table, or its JSON."""
    import json

    from litellm_plugins.usage.report import format_usage

    report = fetch_report("usage", args, "/litellm_plugins/usage", {"window": args.window})
    if report is None:
        return 2
    print(json.dumps(report, indent=2) if args.json else format_usage(report))
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
    warnings = sum(1 for p in problems if p.severity == "warning")
    off = sum(1 for p in problems if p.severity == "off")
    summary = f"{errors} error(s), {warnings} warning(s)" if errors or warnings else "no problems found"
    if off:
        summary += f"; {off} deployment(s) off until their key is in .env"
    print(f"{config_path}: {summary}")
    return 1 if errors else 0


NO_TOKEN: Final = (
    "litellm-plugins claude-settings: no proxy token: PROXY_STATIC_TOKEN and PROXY_STATIC_TOKENS are not "
    "set in the environment or in {env_file}{missing}. Run this in the folder where you ran "
    "`litellm-plugins serve` (it generates the token in .env), or pass --env-file /path/to/that/.env"
)


def backup_path(target: Path) -> Path:
    return target.with_name(target.name + ".bak")


def is_user_settings(target: Path, environ: Mapping[str, str]) -> bool:
    """`~/.claude/settings.json` (or `$CLAUDE_CONFIG_DIR/settings.json`): the one settings file of
    the user's own that Claude Code honours `modelPicker` from (not a project's)."""
    folder = environ.get("CLAUDE_CONFIG_DIR") or str(Path.home() / ".claude")
    return target.resolve() == (Path(folder).expanduser() / "settings.json").resolve()


def live_groups_config(config_path: Path) -> dict | None:
    """The config with only the live groups, read as `serve` reads it (None: there is no config)."""
    if not config_path.is_file():
        return None
    document = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, Mapping):
        raise yaml.YAMLError("not a YAML mapping (model_list, litellm_settings, ...)")
    return quickstart.live_config(document, os.environ)[0]


def claude_settings(args: argparse.Namespace) -> int:
    import json

    from litellm_plugins.auth.proxy_tokens import load_auth_settings
    from litellm_plugins.cli import claude_picker
    from litellm_plugins.core.settings import SettingsError

    env_file = Path(args.env_file).resolve()
    load_dotenv(env_file, override=False)
    try:
        auth = load_auth_settings(os.environ)
    except SettingsError as error:
        print(f"litellm-plugins claude-settings: {error}", file=sys.stderr)
        return 2
    tokens = {token.name: token for token in auth.registry.tokens}
    if not tokens:
        print(
            NO_TOKEN.format(env_file=env_file, missing="" if env_file.exists() else " (not found)"),
            file=sys.stderr,
        )
        return 2
    token = (
        tokens.get(args.client)
        if args.client
        else (next(iter(tokens.values())) if len(tokens) == 1 else None)
    )
    if token is None:
        names = ", ".join(sorted(tokens))
        print(f"litellm-plugins claude-settings: choose a client with --client ({names})", file=sys.stderr)
        return 2
    config_path = Path(args.config)
    try:
        config = live_groups_config(config_path)
        rows = claude_picker.picker_rows(config) if config is not None else []
    except (yaml.YAMLError, SettingsError) as error:
        print(f"litellm-plugins claude-settings: {config_path}: {error}", file=sys.stderr)
        return 2
    if config is None:
        print(
            f"litellm-plugins claude-settings: {config_path} not found, so no /model rows or context "
            "windows (pass --config)",
            file=sys.stderr,
        )
    path = quickstart.settings_path(
        pool_configured(os.environ), token.may_use_pool, args.model, args.passthrough
    )
    env = quickstart.claude_code_env(args.url.rstrip("/"), token.secret.reveal(), path, args.model)
    for variable, value in (
        ("ANTHROPIC_DEFAULT_HAIKU_MODEL", args.haiku_model),
        ("ANTHROPIC_DEFAULT_SONNET_MODEL", args.sonnet_model),
        ("ANTHROPIC_DEFAULT_OPUS_MODEL", args.opus_model),
    ):
        if value:
            env[variable] = value
    if config is not None:
        # Path 3: every Claude Code model is one of these groups (no Claude at all).
        only_groups = [env[name] for name in ("ANTHROPIC_MODEL", *quickstart.MODEL_DEFAULTS) if name in env]
        env.update(claude_picker.context_env(config, only_groups if path == quickstart.PROVIDER else None))
    print(
        f"litellm-plugins claude-settings: client {token.name}, {quickstart.PATH_DESCRIPTIONS[path]}",
        file=sys.stderr,
    )
    if not args.write:
        block: dict = {"env": env}
        if rows:
            block["modelPicker"] = {"options": rows}  # for ~/.claude/settings.json only
        print(json.dumps(block, indent=2))
        return 0
    target = Path(args.write).expanduser()
    if target.is_dir() or not target.suffix:
        target = target / ".claude" / "settings.json"
    settings: dict = {}
    if target.exists():
        try:
            settings = json.loads(target.read_text(encoding="utf-8") or "{}")
        except ValueError:
            print(
                f"litellm-plugins claude-settings: {target} is not valid JSON; not touching it",
                file=sys.stderr,
            )
            return 2
    merged_env = dict(settings.get("env") or {})
    earlier = merged_env.get("ANTHROPIC_AUTH_TOKEN")
    if path == quickstart.OWN_LOGIN and isinstance(earlier, str) and not earlier.startswith("sk-ant-"):
        del merged_env["ANTHROPIC_AUTH_TOKEN"]  # a proxy token from earlier settings would replace the login
        print(
            "litellm-plugins claude-settings: removed ANTHROPIC_AUTH_TOKEN (it replaced your Claude login)",
            file=sys.stderr,
        )
    settings["env"] = {**merged_env, **env}
    if rows and is_user_settings(target, os.environ):
        settings["modelPicker"] = claude_picker.merged_picker(settings.get("modelPicker"), rows)
    elif rows:
        print(
            f"litellm-plugins claude-settings: the /model rows are not written into {target}: Claude Code "
            "reads modelPicker only from your user settings (`--write ~`)",
            file=sys.stderr,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        backup = backup_path(target)
        shutil.copy2(target, backup)
        backup.chmod(0o600)
        print(
            f"litellm-plugins claude-settings: the previous {target.name} is saved as {backup}",
            file=sys.stderr,
        )
    target.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    target.chmod(0o600)  # it holds the proxy token
    print(f"wrote the proxy settings into {target}", file=sys.stderr)
    return 0


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action) or ""


def build_parser() -> argparse.ArgumentParser:
    formatter = HelpFormatter
    parser = argparse.ArgumentParser(
        prog="litellm-plugins", description=__doc__.split("\n\n")[0], formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=help_text, formatter_class=formatter)

    def env_file(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--env-file", default=".env", help="the .env file with the secrets (the environment wins over it)"
        )

    def url(sub: argparse.ArgumentParser) -> None:
        default = os.environ.get("PROXY_URL", "http://127.0.0.1:4000")
        sub.add_argument("--url", default=default, help="the proxy's base URL; PROXY_URL sets the default")

    serve_parser = command("serve", "start the proxy with this bundle (the quick start)")
    serve_parser.add_argument(
        "--config",
        default="config.yaml",
        help="the proxy config; created from config.yaml.example when missing",
    )
    env_file(serve_parser)
    serve_parser.add_argument(
        "--host",
        default=os.environ.get("PROXY_HOST", "127.0.0.1"),
        help="address to listen on; PROXY_HOST sets the default",
    )
    serve_parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PROXY_PORT", "4000")),
        help="port to listen on (a busy port is refused); PROXY_PORT sets the default",
    )
    serve_parser.add_argument(
        "--no-create",
        action="store_true",
        help=(
            "never create .env or config.yaml; fail when config.yaml or LITELLM_MASTER_KEY is missing "
            "(Docker)"
        ),
    )
    serve_parser.add_argument(
        "--workers",
        metavar="N|auto",
        help=(
            "LiteLLM worker processes; auto (the default; PROXY_WORKERS sets it): every usable core, at "
            "most 4, when REDIS_URL is set, else 1"
        ),
    )
    serve_parser.add_argument(
        "--effective-config",
        help="where to write the config with only the live groups (default: .cache/ beside the config)",
    )
    serve_parser.add_argument(
        "litellm_args", nargs=argparse.REMAINDER, help="more `litellm` options, after --"
    )
    serve_parser.set_defaults(handler=serve)
    pool_parser = command("pool", "the token rotator's pool status (master key from .env)")
    url(pool_parser)
    env_file(pool_parser)
    pool_parser.add_argument("--json", action="store_true", help="print the raw JSON")
    pool_parser.set_defaults(handler=pool)
    usage_parser = command(
        "usage", "requests and tokens per client, group and pooled token (master key from .env)"
    )
    url(usage_parser)
    env_file(usage_parser)
    usage_parser.add_argument("--json", action="store_true", help="print the raw JSON")
    usage_parser.add_argument(
        "--window", choices=("hour", "today", "total"), default="today", help="last hour, UTC day or total"
    )
    usage_parser.set_defaults(handler=usage)
    check_parser = command("check", "report every problem in config.yaml and .env")
    check_parser.add_argument(
        "--config", default="config.yaml", help="the config to check (raw or serve's effective one)"
    )
    env_file(check_parser)
    check_parser.set_defaults(handler=check)
    settings_parser = command(
        "claude-settings",
        "print (or write) Claude Code's settings.json env block: your own Claude login by default, the pool "
        "when CLAUDE_OAUTH_TOKENS is set and the client may use it, a provider group with --model <group>",
    )
    url(settings_parser)
    env_file(settings_parser)
    settings_parser.add_argument(
        "--config",
        default="config.yaml",
        help="the proxy config (raw or serve's effective one): its live groups become /model rows",
    )
    settings_parser.add_argument(
        "--client", help="which PROXY_STATIC_TOKENS client's token to use (needed with several)"
    )
    settings_parser.add_argument(
        "--model",
        help=(
            "ANTHROPIC_MODEL: a model group or Claude model id; a non-Claude group also sets the "
            "haiku/sonnet/opus defaults"
        ),
    )
    settings_parser.add_argument("--haiku-model", help="ANTHROPIC_DEFAULT_HAIKU_MODEL")
    settings_parser.add_argument("--sonnet-model", help="ANTHROPIC_DEFAULT_SONNET_MODEL")
    settings_parser.add_argument("--opus-model", help="ANTHROPIC_DEFAULT_OPUS_MODEL")
    settings_parser.add_argument(
        "--passthrough", action="store_true", help="use your own Claude login even when a pool is set"
    )
    settings_parser.add_argument(
        "--write",
        help=(
            "a settings.json path or a folder (~ is ~/.claude/settings.json); merged, the old file kept as "
            ".bak"
        ),
    )
    settings_parser.set_defaults(handler=claude_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "litellm_args", None) and args.litellm_args[:1] == ["--"]:
        args.litellm_args = args.litellm_args[1:]
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
