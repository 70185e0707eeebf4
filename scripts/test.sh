#!/usr/bin/env bash
# The whole test suite: unit, integration (real proxy + fakes), e2e (real Claude Code CLI).
# Installs what it needs: the bundle with test extras into .venv, and the Claude Code CLI from
# npm into .cache/claude-code. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" "test"
cd "$ROOT"
CLAUDE_DIR="$ROOT/.cache/claude-code"
if [ ! -x "$CLAUDE_DIR/node_modules/.bin/claude" ]; then
  mkdir -p "$CLAUDE_DIR"
  npm install --prefix "$CLAUDE_DIR" --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code >/dev/null
fi
# redis-server (Debian's package) for the tests of state shared between proxy processes.
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null
  else
    echo "redis-server is missing: install Debian's redis-server package (the shared-state tests need it)" >&2
    exit 1
  fi
fi
# Docker compose's `config` (no engine needed) for the compose file's test.
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose) >/dev/null
  else
    echo "docker compose is missing: install Debian's docker-compose package (the compose test needs it)" >&2
    exit 1
  fi
fi
export CLAUDE_BIN="$CLAUDE_DIR/node_modules/.bin/claude"
export LITELLM_LOCAL_MODEL_COST_MAP=True
exec "$VENV/bin/python" -m pytest "$@"
