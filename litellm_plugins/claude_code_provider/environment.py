"""The environment one Claude Code process gets: nothing of the proxy's but what it needs (pure).

claude-agent-sdk starts the CLI with the parent's environment merged under `options.env`, so a
variable can only be taken away by overriding it: every variable of the proxy's environment
that is not on :data:`KEPT` is passed as an empty string (its value never reaches the
process: not the pool in `CLAUDE_OAUTH_TOKENS`, not `LITELLM_MASTER_KEY`, not a provider key).
`HOME` and `CLAUDE_CONFIG_DIR` point into the request's scratch directory, and the one
credential the run may use is set last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# Needed to start a process and reach the network the way the proxy does; none holds a secret.
KEPT: Final = frozenset(
    {
        "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM",
        "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS",
    }
)  # fmt: skip
# Set by claude-agent-sdk itself for the process (blanking them would undo its values).
SDK_OWNED: Final = ("CLAUDE_AGENT_SDK_", "CLAUDE_CODE_ENTRYPOINT")
# Claude Code's own switches: one attempt per process (the provider fails over between pooled
# tokens itself), no telemetry, no updater, no per-turn attachments.
FIXED: Final = {
    "CLAUDE_CODE_MAX_RETRIES": "0",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_ATTACHMENTS": "1",
    "CLAUDE_CODE_DISABLE_CLAUDE_MDS": "1",
    "CLAUDE_CODE_DISABLE_AUTO_MEMORY": "1",
}


def credential_variables(token: str) -> dict[str, str]:
    """An OAuth token (`sk-ant-oat...`) logs Claude Code in as a subscription; a key as the API."""
    if token.startswith("sk-ant-oat"):
        return {"CLAUDE_CODE_OAUTH_TOKEN": token}
    return {"ANTHROPIC_API_KEY": token}


def process_environment(
    parent: Mapping[str, str],
    home: str,
    token: str,
    base_url: str | None,
    max_output_tokens: int | None = None,
) -> dict[str, str]:
    """`options.env` for one run: blanks over every inherited variable not kept, then ours."""
    env = {name: "" for name in parent if name not in KEPT and not name.startswith(SDK_OWNED)}
    env.update(FIXED)
    env.update({"HOME": home, "CLAUDE_CONFIG_DIR": f"{home}/.claude"})
    if base_url:
        env["ANTHROPIC_BASE_URL"] = base_url
    if max_output_tokens:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(max_output_tokens)
    env.update(credential_variables(token))
    return env
