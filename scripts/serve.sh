#!/usr/bin/env bash
# Quick start: install the bundle into .venv and start the proxy on 127.0.0.1:4000.
# Creates .env (master key, proxy token) and config.yaml (from config.yaml.example) when missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" ""
cd "$ROOT"
exec "$VENV/bin/litellm-plugins" serve "$@"
