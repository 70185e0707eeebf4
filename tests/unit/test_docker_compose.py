"""docker-compose.yml, checked without a Docker engine (none runs in this project's CI; the
Python path is the one tested end to end). `docker compose config` runs too when available."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.harness import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
LITELLM = COMPOSE["services"]["litellm"]


def test_every_mounted_path_exists_and_is_read_only() -> None:
    for volume in LITELLM["volumes"]:
        source, target, mode = volume.split(":")
        assert mode == "ro", volume
        if source == "./config.yaml":
            assert (REPO_ROOT / "config.yaml.example").exists()  # users copy it to config.yaml
        else:
            assert (REPO_ROOT / source).exists(), volume
        assert target.startswith("/app/")


def test_published_on_loopback_with_health_check_env_file_and_no_root() -> None:
    assert all(port.startswith("127.0.0.1:") for port in LITELLM["ports"])
    assert "/health/liveliness" in " ".join(LITELLM["healthcheck"]["test"])
    assert LITELLM["env_file"] == ".env"
    assert not str(LITELLM["user"]).startswith("0")
    assert LITELLM["environment"]["PYTHONPATH"] == "/app"


def test_redis_is_an_optional_profile() -> None:
    redis = COMPOSE["services"]["redis"]
    assert redis["profiles"] == ["redis"]
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+-alpine", redis["image"])


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise AssertionError("no Docker compose: install Debian's docker-compose package (scripts/test.sh does)")


def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    """`config` validates and renders the file; it needs no engine."""
    shutil.copyfile(REPO_ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copyfile(REPO_ROOT / "config.yaml.example", tmp_path / "config.yaml")
    (tmp_path / ".env").write_text("LITELLM_MASTER_KEY=sk-" + "x" * 40 + "\n")
    (tmp_path / "litellm_plugins").mkdir()
    for profile in ([], ["--profile", "redis"]):
        result = subprocess.run(
            [*compose_command(), *profile, "config"], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        rendered = yaml.safe_load(result.stdout)["services"]
        assert rendered["litellm"]["image"] == LITELLM["image"]
        # Compose v2 leaves inactive profiles out; v1 renders them with their profile.
        assert "redis" in rendered if profile else rendered.get("redis", {"profiles": ["redis"]})["profiles"] == ["redis"]
