#!/usr/bin/env bash
# Lint and format check (ruff, the version pinned in the lock), as CI runs it. `--fix` to apply.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" "test"
cd "$ROOT"
if [ "${1:-}" = "--fix" ]; then
  "$VENV/bin/ruff" check --fix .
  "$VENV/bin/ruff" format .
else
  "$VENV/bin/ruff" check .
  "$VENV/bin/ruff" format --check .
fi
