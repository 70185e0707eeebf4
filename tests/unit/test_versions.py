"""One LiteLLM version everywhere: the shipped lock, the Docker image tag, the README and what the
tests run against; and a supported range in pyproject.toml that holds both locks and never the
compromised 1.107.* releases."""

from __future__ import annotations

import os
import re
from importlib.metadata import version
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from tests.harness import REPO_ROOT

LOCKS = REPO_ROOT / "locks"


def locked_version(lock: Path, package: str = "litellm") -> str:
    for line in lock.read_text(encoding="utf-8").splitlines():
        name, _, pinned = line.partition("==")
        if name.strip().lower() == package:
            return pinned.strip()
    raise AssertionError(f"{lock.name} pins no {package}")


def supported_range() -> Requirement:
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    spec = re.search(r'"(litellm\[proxy\][^"]+)"', text)
    assert spec, "pyproject.toml must depend on litellm[proxy]"
    return Requirement(spec.group(1))


def image() -> str:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return str(compose["services"]["litellm"]["image"])


def test_the_supported_range_holds_both_locks_and_never_the_compromised_release() -> None:
    specifier = supported_range().specifier
    for lock in ("shipped", "lowest"):
        assert specifier.contains(locked_version(LOCKS / f"{lock}.txt")), lock
    assert not specifier.contains("1.107.0") and not specifier.contains("1.107.3")
    assert locked_version(LOCKS / "lowest.txt") == str(
        min(s.version for s in specifier if s.operator == ">=")
    )


def test_every_lock_pins_every_line_exactly() -> None:
    for lock in LOCKS.glob("*.txt"):
        for line in lock.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line), f"{lock.name}: {line!r}"


def test_the_docker_image_is_the_shipped_version_on_a_tag_litellm_publishes() -> None:
    # LiteLLM publishes plain vX.Y.Z tags since 1.84 (the old `-stable` suffix no longer exists).
    match = re.fullmatch(r"ghcr\.io/berriai/litellm-non_root:v(\d+\.\d+\.\d+)", image())
    assert match, f"pin LiteLLM's non-root image by its exact vX.Y.Z tag, got {image()!r}"
    assert match.group(1) == locked_version(LOCKS / "shipped.txt")


def test_the_readme_names_the_shipped_and_lowest_versions() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    shipped, lowest = locked_version(LOCKS / "shipped.txt"), locked_version(LOCKS / "lowest.txt")
    assert f"Shipped lock: LiteLLM {shipped}" in readme
    assert f"Lowest supported: LiteLLM {lowest}" in readme


def test_the_tests_run_against_the_lock_in_use() -> None:
    """scripts/bootstrap.sh installs with a lock as constraints and exports which one."""
    lock = Path(os.environ.get("LITELLM_PLUGINS_LOCK") or LOCKS / "shipped.txt")
    assert version("litellm") == locked_version(lock)
    assert version("anthropic") == locked_version(lock, "anthropic")


def test_every_benchmark_result_says_which_litellm_it_was_measured_on() -> None:
    text = (REPO_ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    results = [section for section in sections if section.lower().startswith(("results", "earlier results"))]
    assert results
    for section in results:
        assert re.search(r"LiteLLM 1\.\d+\.\d+", section), section.splitlines()[0]
    newest = results[0]
    assert f"LiteLLM {locked_version(LOCKS / 'shipped.txt')}" in newest.splitlines()[0]
