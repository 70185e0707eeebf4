"""scripts/bootstrap.sh installs at the lock's versions and re-installs when the lock changes (the
upgrade path of an existing .venv). Run against a copy of the scripts with a stand-in interpreter
that records what it was asked to do, so no package is downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.harness import REPO_ROOT

RECORDER = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../calls.log"
"""


def project_copy(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "scripts" / "bootstrap.sh", root / "scripts")
    shutil.copy(REPO_ROOT / "pyproject.toml", root)
    shutil.copytree(REPO_ROOT / "locks", root / "locks")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(RECORDER)
    python.chmod(0o755)
    return root, venv


def bootstrap(root: Path, venv: Path, **env: str) -> tuple[list[str], str]:
    log = venv / "calls.log"
    log.unlink(missing_ok=True)
    result = subprocess.run(
        ["bash", "-c", f'source "{root}/scripts/bootstrap.sh" test && echo "lock=$LITELLM_PLUGINS_LOCK"'],
        env={**os.environ, "VENV": str(venv), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return [
        call for call in calls if "pip install" in call and "--upgrade pip" not in call
    ], result.stdout + result.stderr


def test_installs_with_the_shipped_lock_as_constraints(tmp_path: Path) -> None:
    root, venv = project_copy(tmp_path)
    [install], output = bootstrap(root, venv)
    assert f"-c {root}/locks/shipped.txt" in install and f"-e {root}[test]" in install
    assert "installing the bundle with litellm==" in output  # says what the minute is spent on
    assert f"lock={root}/locks/shipped.txt" in output


def test_nothing_to_do_until_the_lock_changes_then_it_upgrades(tmp_path: Path) -> None:
    root, venv = project_copy(tmp_path)
    bootstrap(root, venv)
    assert bootstrap(root, venv)[0] == []
    lock = root / "locks" / "shipped.txt"
    lock.write_text(lock.read_text().replace("litellm==", "litellm==9", 1))
    [install], _ = bootstrap(root, venv)
    assert "-c" in install


def test_another_lock_by_name(tmp_path: Path) -> None:
    root, venv = project_copy(tmp_path)
    [install], output = bootstrap(root, venv, LITELLM_LOCK="locks/lowest.txt")
    assert f"-c {root}/locks/lowest.txt" in install
    assert f"lock={root}/locks/lowest.txt" in output


def test_a_missing_lock_is_refused_with_its_name(tmp_path: Path) -> None:
    root, venv = project_copy(tmp_path)
    result = subprocess.run(
        ["bash", "-c", f'source "{root}/scripts/bootstrap.sh" test'],
        env={**os.environ, "VENV": str(venv), "LITELLM_LOCK": "locks/nope.txt"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "locks/nope.txt does not exist" in result.stderr
