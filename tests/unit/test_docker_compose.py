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


def test_the_container_runs_serve_so_only_groups_with_keys_are_live() -> None:
    """The same filtering as `litellm-plugins serve` on the host, on read-only mounts."""
    assert LITELLM["entrypoint"] == ["python", "-m", "litellm_plugins.cli"]
    command = [str(part) for part in LITELLM["command"]]
    assert command[0] == "serve" and "--no-create" in command
    mounted = {volume.split(":")[1] for volume in LITELLM["volumes"]}
    assert command[command.index("--config") + 1] in mounted
    effective = command[command.index("--effective-config") + 1]
    assert any(
        effective.startswith(tmpfs.rstrip("/") + "/") for tmpfs in LITELLM["tmpfs"]
    )  # the only writable place
    assert LITELLM["read_only"] is True
    container_port = LITELLM["ports"][0].rsplit(":", 1)[1]
    assert command[command.index("--port") + 1] == container_port
    assert command[command.index("--host") + 1] == "0.0.0.0"  # inside the container; published on loopback


def test_a_server_on_the_host_is_reachable_as_documented() -> None:
    assert "host.docker.internal:host-gateway" in LITELLM["extra_hosts"]
    docker_base = "OLLAMA_API_BASE=http://host.docker.internal:11434/v1"
    assert docker_base in (REPO_ROOT / ".env.example").read_text()
    assert docker_base in (REPO_ROOT / "README.md").read_text()


def test_redis_is_in_the_default_layout_and_the_proxy_points_at_it() -> None:
    """`docker compose up -d` starts Redis, so `serve --workers auto` runs a worker per core that
    share the pool, limits and usage; REDIS_URL from .env or the shell still points elsewhere."""
    redis = COMPOSE["services"]["redis"]
    assert "profiles" not in redis
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+-alpine", redis["image"])
    assert redis["command"] == ["redis-server", "--save", "", "--appendonly", "no"]  # no persistence
    assert redis["read_only"] is True and not str(redis["user"]).startswith("0")
    assert "ports" not in redis  # only the proxy reaches it
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert LITELLM["environment"]["REDIS_URL"] == "${REDIS_URL:-redis://redis:6379}"
    assert LITELLM["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert "--workers" not in LITELLM["command"]  # auto: every usable core, since Redis is there


def compose_command() -> list[str]:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise AssertionError("no Docker compose: install Debian's docker-compose package (scripts/test.sh does)")


def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    """`config` validates and renders the file; it needs no engine."""
    shutil.copyfile(REPO_ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copyfile(REPO_ROOT / "config.yaml.example", tmp_path / "config.yaml")
    (tmp_path / "litellm_plugins").mkdir()
    for redis_line, redis_url in (
        ("", "redis://redis:6379"),
        ("REDIS_URL=\n", "redis://redis:6379"),  # .env.example's empty line
        ("REDIS_URL=redis://cache.internal:6380/1\n", "redis://cache.internal:6380/1"),
    ):
        (tmp_path / ".env").write_text("LITELLM_MASTER_KEY=sk-" + "x" * 40 + "\n" + redis_line)
        result = subprocess.run(
            [*compose_command(), "config"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        rendered = yaml.safe_load(result.stdout)["services"]
        assert rendered["litellm"]["image"] == LITELLM["image"]
        assert rendered["litellm"]["entrypoint"] == LITELLM["entrypoint"]
        assert [str(part) for part in rendered["litellm"]["command"]] == [
            str(part) for part in LITELLM["command"]
        ]
        assert "host.docker.internal:host-gateway" in rendered["litellm"]["extra_hosts"]
        volumes = [
            str(v)
            if isinstance(v, str)
            else f"{v['source']}:{v['target']}:{'ro' if v.get('read_only') else 'rw'}"
            for v in rendered["litellm"]["volumes"]
        ]
        assert len(volumes) == len(LITELLM["volumes"]) and all(v.endswith(":ro") for v in volumes), volumes
        assert (
            rendered["litellm"]["environment"]["LITELLM_MASTER_KEY"] == "sk-" + "x" * 40
        )  # env_file is read
        assert rendered["litellm"]["environment"]["REDIS_URL"] == redis_url
        assert rendered["redis"]["image"] == COMPOSE["services"]["redis"]["image"]
        assert "profiles" not in rendered["redis"]
