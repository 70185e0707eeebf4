# Sourced by scripts/serve.sh and scripts/test.sh: a project virtualenv with the bundle installed
# at the versions of a lock file (locks/shipped.txt unless LITELLM_LOCK names another, such as
# locks/lowest.txt). The install is redone whenever pyproject.toml or the lock changes, so a
# `git pull` that moves the lock upgrades an existing .venv on the next start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
LOCK="${LITELLM_LOCK:-$ROOT/locks/shipped.txt}"
case "$LOCK" in /*) ;; *) LOCK="$ROOT/$LOCK" ;; esac
if [ ! -f "$LOCK" ]; then
  echo "litellm_plugins: the lock file $LOCK does not exist (see locks/ for the supported versions)" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
EXTRAS="${1:-}"
STAMP="$VENV/.installed${EXTRAS:+-$EXTRAS}"
WANTED="$(cat "$ROOT/pyproject.toml" "$LOCK" | cksum)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANTED" ]; then
  LITELLM_PIN="$(grep -m1 '^litellm==' "$LOCK" || echo 'litellm')"
  echo "litellm_plugins: installing the bundle with $LITELLM_PIN into $VENV (about a minute the first time)" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install --quiet -c "$LOCK" -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  echo "$WANTED" > "$STAMP"
fi
export LITELLM_PLUGINS_LOCK="$LOCK"
