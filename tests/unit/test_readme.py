"""The README is one document a newcomer reads once: every variable the bundle reads is in its
settings table, each topic has one section, and nothing internal leaks into it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml

from litellm_plugins.cli.quickstart import env_references
from tests.harness import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
PACKAGE = REPO_ROOT / "litellm_plugins"
NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
# environ.get("X"), environ["X"], environ.setdefault("X", ...), parse_bool(environ, "X")
LITERAL_READS = re.compile(
    rf"""environ(?:\.get|\.setdefault|\.pop)?\(\s*['"]({NAME})['"]|environ\[\s*['"]({NAME})['"]\s*\]"""
    rf"""|\(\s*environ\s*,\s*['"]({NAME})['"]"""
)
# environ.get(SOME_CONSTANT), resolved through `SOME_CONSTANT: Final = "X"` in the same module.
CONSTANT_READS = re.compile(r"environ(?:\.get|\.setdefault|\.pop)?\(\s*([A-Z][A-Z0-9_]+)\s*[,)]")


def variables_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in LITERAL_READS.finditer(text):
            found.add(next(group for group in match.groups() if group))
        for match in CONSTANT_READS.finditer(text):
            definition = re.search(rf"^{match.group(1)}(?:: Final)? = ['\"]({NAME})['\"]", text, re.MULTILINE)
            assert definition, f"{path.name}: cannot resolve the variable behind {match.group(1)}"
            found.add(definition.group(1))
    example = yaml.safe_load((REPO_ROOT / "config.yaml.example").read_text(encoding="utf-8"))
    return found | env_references(example)


def settings_table_variables() -> set[str]:
    section = README.split("## Settings and environment variables", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(rf"`({NAME})`", cell)}


def test_the_scan_finds_the_variables_we_know_the_code_reads() -> None:
    found = variables_read_by_the_code()
    assert {
        "PROXY_STATIC_TOKENS",
        "CLAUDE_OAUTH_TOKENS",
        "REDIS_PORT",
        "PYTHON_GC_THRESHOLD",
        "ZAI_API_KEY",
    } <= found


def test_every_variable_the_bundle_reads_is_in_the_settings_table() -> None:
    missing = sorted(variables_read_by_the_code() - settings_table_variables())
    assert not missing, f"add these to the README's settings table: {missing}"


def test_every_variable_in_env_example_is_documented() -> None:
    listed = re.findall(
        rf"^({NAME})=", (REPO_ROOT / ".env.example").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert set(listed) <= settings_table_variables()


def test_each_topic_has_one_section_and_nothing_internal() -> None:
    headings = Counter(re.findall(r"^## (.+)$", README, re.MULTILINE))
    assert [heading for heading, count in headings.items() if count > 1] == []
    for topic in (
        "Quick start",
        "Use it from Claude Code",
        "Verify",
        "Troubleshooting",
        "Docker",
        "Several workers or replicas",
        "Performance",
        "Settings and environment variables",
        "Tests",
    ):
        assert topic in headings, topic
    assert README.count("`REDIS_URL=redis://127.0.0.1:6379`") == 1  # the replicas paragraph, once
    assert not re.search(r"\bissue \d+", README, re.IGNORECASE)


def test_figures_say_which_litellm_they_were_measured_on() -> None:
    performance = README.split("## Performance", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"LiteLLM \d+\.\d+\.\d+", performance)


def test_client_names_are_not_promised_in_spend_without_a_database() -> None:
    assert "in logs and spend" not in README
    assert "/spend/logs" in README and "database" in README


def test_the_test_command_ci_runs_is_documented() -> None:
    assert "bash scripts/test.sh" in README
    assert Path(REPO_ROOT / "scripts" / "test.sh").is_file()


def test_the_readme_shows_the_settings_instructions_serve_prints() -> None:
    """One source for the settings: the README's block is what `serve`'s banner prints."""
    from litellm_plugins.cli import quickstart

    block = quickstart.settings_instructions("http://127.0.0.1:4000", quickstart.OWN_LOGIN)
    indented = "\n".join("  " + line for line in block.splitlines())
    assert indented in README
