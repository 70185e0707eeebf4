"""The reliability suite's own counts: requests sent, 5xx answers, credential leaks, hangs.

Every reliability test records what it sent and what came back; the suite prints the totals at
the end of the run (`pytest_terminal_summary` in this folder's conftest), so a closing note can
quote the suite itself instead of a hand count.

    from tests.reliability.ledger import LEDGER
    response = httpx.post(...)
    LEDGER.record_response(response, "hardening: refused api_base")
    LEDGER.record(None, "slow loris", hung=True)   # no answer within the test's bound
    LEDGER.record_response(response, "upstream 529", passed_on=True)   # an upstream's own 5xx, as intended
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

SECRET_MARKERS: Final = ("sk-ant-oat", "sk-ant-api")


@dataclass
class Ledger:
    requests: int = 0
    server_errors: int = 0
    passed_on: int = 0
    admin_server_errors: int = 0
    leaks: int = 0
    hangs: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self,
        status: int | None,
        label: str = "",
        *,
        hung: bool = False,
        leaked: bool = False,
        count: int = 1,
        passed_on: bool = False,
        admin: bool = False,
    ) -> None:
        """`count` requests that ended with `status` (None: no HTTP answer). `passed_on`: a 5xx
        that reports a faulty upstream (the fault tests' intended answer), not the proxy's own;
        `admin`: sent with the master key (LiteLLM's admin routes answer 500 without a database)."""
        with self._lock:
            self.requests += count
            self.by_status[str(status) if status is not None else "none"] += count
            if status is not None and status >= 500 and passed_on:
                self.passed_on += count
            elif status is not None and status >= 500 and admin:
                self.admin_server_errors += count
            elif status is not None and status >= 500:
                self.server_errors += count
                self.notes.append(f"{status} {label}".strip())
            if hung:
                self.hangs += count
                self.notes.append(f"hang {label}".strip())
            if leaked:
                self.leaks += count
                self.notes.append(f"leak {label}".strip())

    def record_response(
        self, response: Any, label: str = "", secrets: tuple[str, ...] = (), passed_on: bool = False
    ) -> None:
        """An httpx (or SDK raw) response: its status, and whether its body shows a credential."""
        try:
            text = response.text
        except Exception:  # noqa: BLE001 - a streamed body not read: nothing to scan
            text = ""
        leaked = any(marker in text for marker in (*SECRET_MARKERS, *secrets) if marker)
        self.record(int(response.status_code), label, leaked=leaked, passed_on=passed_on)

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.by_status.items()))
        lines = [
            (
                f"reliability ledger: {self.requests} requests, {self.server_errors} 5xx, "
                f"{self.leaks} leaks, {self.hangs} hangs"
            ),
            (
                f"  not counted as the proxy's 5xx: {self.passed_on} passed on from a faulty upstream "
                f"(as intended), {self.admin_server_errors} from LiteLLM's admin routes with the master key "
                "(no database)"
            ),
            f"  by status: {statuses or 'none'}",
        ]
        lines += [f"  - {note}" for note in self.notes[:20]]
        return "\n".join(lines)


LEDGER: Final = Ledger()
