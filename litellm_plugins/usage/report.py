"""The usage report the route serves and `litellm-plugins usage` prints (pure).

Rows are per client, group, deployment and pooled token, with the request count, the errors
(any status but 2xx), the count per status and the four token counts; `clients` sums them per
client. The table (`litellm-plugins usage --window today`; the README shows a whole one):

    usage today (since 2026-12-01 00:00 UTC), shared state redis
    client group  deployment                   token       requests errors input output cache_read ...
    alice  sonnet anthropic/claude-sonnet-4-5  fp:1a2b3c4d        3      0   126     27        512 ...
    total                                                         3      0   126     27        512 ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from litellm_plugins.usage.record import COUNTERS
from litellm_plugins.usage.store import Totals

TOKEN_COUNTERS: Final = COUNTERS[1:]
COLUMNS: Final = (
    ("requests", "requests"),
    ("errors", "errors"),
    ("input_tokens", "input"),
    ("output_tokens", "output"),
    ("cache_read_tokens", "cache_read"),
    ("cache_write_tokens", "cache_write"),
)


def build_report(totals: Totals, window: str, start: float | None, shared_state: str) -> dict[str, Any]:
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for (client, group, deployment, token, status), counts in totals.items():
        row = rows.setdefault(
            (client, group, deployment, token),
            {
                "client": client,
                "group": group,
                "deployment": deployment,
                "token": token,
                "errors": 0,
                "statuses": {},
                **dict.fromkeys(COUNTERS, 0),
            },
        )
        for counter in COUNTERS:
            row[counter] += counts.get(counter, 0)
        requests = counts.get("requests", 0)
        row["statuses"][str(status)] = row["statuses"].get(str(status), 0) + requests
        if not 200 <= status < 300:
            row["errors"] += requests
    ordered = [rows[key] for key in sorted(rows)]
    clients: dict[str, dict[str, int]] = {}
    for row in ordered:
        summary = clients.setdefault(row["client"], {"errors": 0, **dict.fromkeys(COUNTERS, 0)})
        for counter in (*COUNTERS, "errors"):
            summary[counter] += row[counter]
    return {
        "window": window,
        "since": start,
        "shared_state": shared_state,
        "rows": ordered,
        "clients": clients,
    }


def _since(report: Mapping[str, Any]) -> str:
    start = report.get("since")
    if not isinstance(start, (int, float)):
        return "since the counters started"
    return "since " + datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_usage(report: Mapping[str, Any]) -> str:
    """The report as a table, one line per row plus a total."""
    rows: Sequence[Mapping[str, Any]] = report.get("rows") or []
    names = [("client", "client"), ("group", "group"), ("deployment", "deployment"), ("token", "token")]
    widths = {
        key: max([len(title), *(len(str(row.get(key, ""))) for row in rows), 5 if key == "client" else 0])
        for key, title in names
    }
    totals = {key: sum(int(row.get(key) or 0) for row in rows) for key, _ in COLUMNS}
    number_widths = {key: max(len(title), len(str(totals[key]))) for key, title in COLUMNS}

    def line(texts: Mapping[str, str], numbers: Mapping[str, object]) -> str:
        left = " ".join(texts.get(key, "").ljust(widths[key]) for key, _ in names)
        right = " ".join(str(numbers.get(key, "")).rjust(number_widths[key]) for key, _ in COLUMNS)
        return f"{left} {right}".rstrip()

    out = [
        f"usage {report.get('window')} ({_since(report)}), shared state {report.get('shared_state')}",
        line(dict(names), dict(COLUMNS)),
    ]
    for row in rows:
        out.append(line({key: str(row.get(key, "")) for key, _ in names}, row))
    if not rows:
        out.append("(no requests in this window)")
    out.append(line({"client": "total"}, totals))
    return "\n".join(out)
