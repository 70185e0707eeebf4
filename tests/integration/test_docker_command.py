"""The container's command line from docker-compose.yml, run here without a Docker engine: the
mounts become temporary folders, `python` this interpreter, the published port a free one on
127.0.0.1, compose's `redis` service a local redis-server. It proves what `docker compose up`
does: `serve` filters the groups exactly as on the host (only those whose keys are in .env), writes
only under /tmp and starts the proxy with a worker per usable core (at most 4) sharing that Redis."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
import yaml

from litellm_plugins.cli.workers import MAX_AUTO_WORKERS, usable_cpus
from tests.harness import REPO_ROOT, RedisServer, base_environment, free_port

pytestmark = pytest.mark.integration

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]["litellm"]
MASTER = "sk-docker-master-" + "m" * 40
TOKEN = "docker-client-token-" + "t" * 32
COMPOSE_REDIS = "redis://redis:6379"  # the compose service, as the litellm container reaches it
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}")


class Container:
    """The compose service's filesystem and command, mapped onto temporary folders."""

    def __init__(self, root: Path, redis_url: str) -> None:
        self.redis_url = redis_url  # where compose's `redis` service is on this machine
        self.app = root / "app"  # WORKDIR /app in the LiteLLM image, with the mounts in it
        self.tmp = root / "tmpfs"  # the service's tmpfs
        self.app.mkdir()
        self.tmp.mkdir()
        self.port = free_port()
        for volume in COMPOSE["volumes"]:
            source, target, _mode = volume.split(":")
            local = self.local_path(target)
            if source == "./config.yaml":
                local.write_text((REPO_ROOT / "config.yaml.example").read_text())
            else:
                local.symlink_to((REPO_ROOT / source).resolve())

    def local_path(self, container_path: str) -> Path:
        if container_path == "/app" or container_path.startswith("/app/"):
            return self.app / container_path[len("/app/") :]
        if container_path == "/tmp" or container_path.startswith("/tmp/"):
            return self.tmp / container_path[len("/tmp/") :]
        raise AssertionError(f"docker-compose.yml uses a path this test does not map: {container_path}")

    def argv(self) -> list[str]:
        command = [*COMPOSE["entrypoint"], *(str(part) for part in COMPOSE["command"])]
        assert command[0] == "python"
        mapped = [sys.executable]
        for previous, part in itertools.pairwise(command):
            if part.startswith(("/app", "/tmp")):
                part = str(self.local_path(part))
            elif previous == "--host":
                part = "127.0.0.1"  # tests bind loopback only; the container binds 0.0.0.0
            elif previous == "--port":
                part = str(self.port)
            mapped.append(part)
        return mapped

    def environment(self, env_file: Mapping[str, str]) -> dict[str, str]:
        env = base_environment(env_file)
        env.pop("LITELLM_MASTER_KEY", None)  # only what .env says
        env.update(env_file)
        for name, value in COMPOSE["environment"].items():
            # Compose fills `${NAME:-default}` from .env (and the shell, empty in these tests).
            value = INTERPOLATION.sub(lambda m: env_file.get(m.group(1)) or m.group(2), str(value))
            value = value.replace(COMPOSE_REDIS, self.redis_url)
            env[name] = str(self.local_path(value)) if value.startswith(("/app", "/tmp")) else value
        return env

    def run(self, env_file: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = (self.tmp.parent / "container.log").open("wb")
        return subprocess.Popen(
            self.argv(),
            cwd=self.app,
            env=self.environment(env_file),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return (self.tmp.parent / "container.log").read_text(errors="replace")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=5)


@pytest.fixture()
def container(tmp_path: Path) -> Iterator[Container]:
    """The container before it reaches Redis (these tests end first): nothing listens there."""
    yield Container(tmp_path, f"redis://127.0.0.1:{free_port()}/0")


@pytest.fixture()
def container_with_redis(tmp_path: Path) -> Iterator[Container]:
    """The whole default layout: compose's `redis` service is a real redis-server here."""
    redis = RedisServer(tmp_path / "redis").start()
    try:
        yield Container(tmp_path, redis.url)
    finally:
        redis.stop()


def wait_ready(container: Container, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the container command exited with {process.returncode}:\n{container.log()[-3000:]}"
            )
        try:
            if (
                httpx.get(f"http://127.0.0.1:{container.port}/health/liveliness", timeout=1).status_code
                == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"not ready after 120 s:\n{container.log()[-3000:]}")


def test_the_container_command_filters_groups_like_serve_and_writes_only_under_tmp(
    container_with_redis: Container,
) -> None:
    container = container_with_redis
    env_file = {
        "LITELLM_MASTER_KEY": MASTER,
        "PROXY_STATIC_TOKEN": TOKEN,
        "DEEPSEEK_API_KEY": "sk-deepseek-test-key",
    }
    before = sorted(p.name for p in container.app.iterdir())
    workers = min(usable_cpus(), MAX_AUTO_WORKERS)  # compose ships Redis: a worker per usable core
    process = container.run(env_file)
    try:
        wait_ready(container, process)
        deadline = time.monotonic() + 120  # uvicorn answers once the first worker is up
        while container.log().count("Application startup complete.") < workers:
            assert time.monotonic() < deadline, container.log()[-3000:]
            time.sleep(0.25)
        models = httpx.get(
            f"http://127.0.0.1:{container.port}/v1/models", headers={"x-litellm-api-key": TOKEN}, timeout=10
        )
        assert models.status_code == 200, models.text
        live = {model["id"] for model in models.json()["data"]}
    finally:
        stop(process)
    # The groups that need no key, and DeepSeek whose key is set; GLM, Kimi, OpenAI, ... are off.
    assert live == {"anthropic", "anthropic-fast", "deepseek"}, container.log()[-2000:]
    assert f"workers: {workers}\n" in container.log()
    assert "share nothing" not in container.log() and "set REDIS_URL to run" not in container.log()
    # Every worker's pool and usage counters use compose's Redis.
    assert container.log().count("shared state redis") == workers, container.log()[-3000:]
    assert container.log().count("usage: counters redis") == workers
    assert "glm: off (set ZAI_API_KEY in .env)" in container.log()
    assert sorted(p.name for p in container.app.iterdir()) == before  # no .env, no .cache on the mounts
    effective = yaml.safe_load(container.local_path("/tmp/litellm_plugins/config.effective.yaml").read_text())
    assert {d["model_name"] for d in effective["model_list"]} == live


def test_the_container_command_refuses_to_start_without_a_master_key(container: Container) -> None:
    process = container.run({"PROXY_STATIC_TOKEN": TOKEN})
    assert process.wait(timeout=60) == 2
    assert "LITELLM_MASTER_KEY is not set and --no-create does not generate it" in container.log()
    assert not (container.app / ".env").exists()


def test_the_container_command_says_what_to_do_when_config_yaml_is_missing(container: Container) -> None:
    container.local_path("/app/config.yaml").unlink()
    process = container.run({"LITELLM_MASTER_KEY": MASTER})
    assert process.wait(timeout=60) == 2
    assert "cp config.yaml.example config.yaml" in container.log()
    assert not container.local_path("/app/config.yaml").exists()
