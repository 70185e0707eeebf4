#!/usr/bin/env bash
# The whole test suite: unit, integration (real proxy + fakes), e2e (real Claude Code CLI).
# Installs what it needs: the bundle with its test and claude-code extras into .venv at the versions of
# locks/shipped.txt, and the Claude Code CLI from npm into .cache/claude-code. Extra arguments go
# to pytest. The lowest supported LiteLLM in its own virtualenv (what CI runs second):
#   LITELLM_LOCK=locks/lowest.txt VENV=.venv-lowest bash scripts/test.sh tests/integration tests/e2e
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" "test,claude-code"
cd "$ROOT"
# The Claude Code release the e2e tests are known to pass with (bump it like the LiteLLM lock).
CLAUDE_CODE_VERSION="2.1.332"
CLAUDE_DIR="$ROOT/.cache/claude-code"
if ! grep -qs "\"version\": \"$CLAUDE_CODE_VERSION\"" "$CLAUDE_DIR/node_modules/@anthropic-ai/claude-code/package.json"; then
  mkdir -p "$CLAUDE_DIR"
  npm install --prefix "$CLAUDE_DIR" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null
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
