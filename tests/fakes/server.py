"""Run a fake upstream (an ASGI app) on 127.0.0.1 in a background thread.

The fakes are real HTTP servers: the proxy subprocess reaches them over loopback exactly as it
would reach a provider. Every request is recorded (path, headers, parsed body) so tests can
assert what the provider received.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""
    received_at: float = field(default_factory=time.time)
    usage: dict[str, int] | None = None  # the usage the fake reported for it (a served request)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class RequestLog:
    """Thread-safe list of what a fake received."""

    _items: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: RecordedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def all(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def matching(self, predicate: Callable[[RecordedRequest], bool]) -> list[RecordedRequest]:
        return [item for item in self.all() if predicate(item)]

    def last(self, path_suffix: str = "") -> RecordedRequest:
        found = [item for item in self.all() if item.path.endswith(path_suffix)]
        if not found:
            raise AssertionError(f"the fake received no request ending in {path_suffix!r}")
        return found[-1]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.all()
            if len(items) >= count:
                return items
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests, the fake received {len(self.all())}")


def parse_body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


class ThreadedServer:
    """uvicorn in a daemon thread; `url` is known once `start()` returns."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._run, name="fake-upstream", daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


class FakeUpstream:
    """Lifecycle shared by the fakes: `self.app` served on 127.0.0.1 by `start()`."""

    app: Any
    _server: ThreadedServer | None = None

    def start(self) -> Self:
        self._server = ThreadedServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "call start() first"
        return self._server.url
