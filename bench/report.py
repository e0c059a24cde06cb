"""Turn a result file into markdown: medians over the runs with their spread, and the ratio
collab/peer computed within each run (then the median of those ratios)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

Extract = Callable[[dict[str, Any]], float | None]


def _get(*path: str | int) -> Extract:
    def extract(result: dict[str, Any]) -> float | None:
        node: Any = result
        for key in path:
            if isinstance(node, dict) and str(key) in node:
                node = node[str(key)]
            else:
                return None
        return float(node) if isinstance(node, int | float) else None

    return extract


def _synced_converged(result: dict[str, Any]) -> float | None:
    s5 = result.get("S5")
    return float(s5["synced_and_converged"]) if s5 else None


def _lost_s1(result: dict[str, Any]) -> float | None:
    s1 = result.get("S1")
    return float(sum(v["lost"] for v in s1.values())) if s1 else None


#: (row label, extractor, digits, True if lower is better)
METRICS: list[tuple[str, Extract, int, bool]] = [
    ("S1 N=10 p99, ms", _get("S1", 10, "latency_ms", "p99"), 2, True),
    ("S1 N=50 p99, ms", _get("S1", 50, "latency_ms", "p99"), 2, True),
    ("S1 N=200 p50, ms", _get("S1", 200, "latency_ms", "p50"), 2, True),
    ("S1 N=200 p95, ms", _get("S1", 200, "latency_ms", "p95"), 2, True),
    ("S1 N=200 p99, ms", _get("S1", 200, "latency_ms", "p99"), 2, True),
    ("S1 N=200 p99 after 1st s, ms", _get("S1", 200, "after_1s_ms", "p99"), 2, True),
    ("S1 quick N=3 p99, ms", _get("S1", 3, "latency_ms", "p99"), 2, True),
    ("S1 N=200 load generator CPU share of one core", _get("S1", 200, "client_cpu_share"), 2, True),
    ("S1 updates lost (all N)", _lost_s1, 0, True),
    ("S2 delivered updates/s", _get("S2", "delivered_per_s"), 0, False),
    ("S2 server CPU µs / delivered update", _get("S2", "server_cpu_us_per_delivery"), 1, True),
    ("S2 of which the main thread (event loop), µs", _get("S2", "server_main_thread_cpu_us_per_delivery"), 1, True),
    ("S2 server CPU share of one core", _get("S2", "server_cpu_share"), 2, True),
    ("S2 load generator CPU share of one core", _get("S2", "client_cpu_share"), 2, True),
    ("S2 updates lost", _get("S2", "lost"), 0, True),
    ("S3 KB / connection, 1 record each", _get("S3", 1, "kb_per_connection"), 1, True),
    ("S3 KB / connection, 10 per record", _get("S3", 10, "kb_per_connection"), 1, True),
    ("S3 connect all, s (1 record each)", _get("S3", 1, "connect_all_s"), 2, True),
    ("S3 connect all, s (10 per record)", _get("S3", 10, "connect_all_s"), 2, True),
    ("S4 step1 -> step2, ms (first client)", _get("S4", "first", "step2_ms"), 1, True),
    ("S4 step1 -> synced, ms (first client)", _get("S4", "first", "synced_ms"), 1, True),
    ("S4 step1 -> step2, ms (warm, median)", _get("S4", "warm_step2_ms", "p50"), 1, True),
    ("S4 document size, KB", lambda r: (_get("S4", "build", "encoded_bytes")(r) or 0) / 1000 or None, 0, True),
    ("S5 synced + converged (of 15)", _synced_converged, 0, False),
    ("S6 edit -> stored ack p50, ms", _get("S6", "stored_ms", "p50"), 1, True),
    ("S6 edit -> stored ack p99, ms", _get("S6", "stored_ms", "p99"), 1, True),
    ("S6 edit -> FileMaker p50, ms", _get("S6", "filemaker", "ms", "p50"), 0, True),
    ("S6 edit -> FileMaker max, ms", _get("S6", "filemaker", "ms", "max"), 0, True),
    ("S6 delivered updates/s (with acks)", _get("S6", "delivered_per_s"), 0, False),
    ("S6 server CPU µs / delivered update", _get("S6", "server_cpu_us_per_delivery"), 1, True),
]

#: Rows where a ratio collab/peer says something.
RATIO_ROWS = {
    "S1 N=200 p99, ms",
    "S1 N=200 p99 after 1st s, ms",
    "S1 quick N=3 p99, ms",
    "S2 delivered updates/s",
    "S2 server CPU µs / delivered update",
    "S3 KB / connection, 1 record each",
    "S3 KB / connection, 10 per record",
    "S3 connect all, s (1 record each)",
    "S4 step1 -> step2, ms (first client)",
    "S4 step1 -> synced, ms (first client)",
}


#: The goals of issue 8 (absolute, from the y-websocket server's numbers on the issue's
#: machine); on another machine the ratio collab / y-websocket server <= 1 is the test.
GOALS = {
    "S1 N=200 p99 after 1st s, ms": "<= 6.3",
    "S2 server CPU µs / delivered update": "<= 13",
    "S3 KB / connection, 1 record each": "<= 22",
    "S3 KB / connection, 10 per record": "<= 22",
    "S4 step1 -> step2, ms (first client)": "<= 5",
    "S5 synced + converged (of 15)": "15",
}


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _cell(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1 or digits == 0 and min(values) == max(values):
        return _num(med, digits)
    return f"{_num(med, digits)} ({_num(min(values), digits)}–{_num(max(values), digits)})"


def tables(result: dict[str, Any]) -> tuple[list[str], list[list[str]], list[list[str]]]:
    peers: list[str] = result["meta"]["peers"]
    labels = result["meta"].get("labels", {})
    runs = result["runs"]
    header = ["", *[labels.get(p, p) for p in peers], "goal (collab)"]
    values: list[list[str]] = []
    ratios: list[list[str]] = []
    for label, extract, digits, _lower in METRICS:
        per_peer = {p: [v for run in runs if (v := extract(run["peers"].get(p, {}))) is not None] for p in peers}
        if not any(per_peer.values()):
            continue
        values.append([label, *[_cell(per_peer[p], digits) for p in peers], GOALS.get(label, "")])
        if label in RATIO_ROWS and "collab" in peers:
            row = [label]
            for p in peers:
                if p == "collab":
                    row.append("1")
                    continue
                rs = []
                for run in runs:
                    a = extract(run["peers"].get("collab", {}))
                    b = extract(run["peers"].get(p, {}))
                    if a is not None and b:
                        rs.append(a / b)
                row.append(_cell(rs, 2))
            ratios.append([*row, "<= 1 vs y-websocket server" if label in GOALS else ""])
    return header, values, ratios


def _md(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    meta = result["meta"]
    header, values, ratios = tables(result)
    out = [
        f"Run of {meta['started']} ({meta['size']} sizes, {len(result['runs'])} run(s); "
        f"servers on core {meta.get('server_cpu')}, load generator on core {meta.get('client_cpu')}).",
        "",
        "Medians over the runs (min–max in brackets):",
        "",
        _md(header, values),
    ]
    if ratios:
        out += ["", "Ratio collab / peer, computed within each run, median (min–max) over runs "
                "(below 1 is better for collab, except delivered updates/s):", "", _md(header, ratios)]
    errors = [
        f"- run {run['index'] + 1}, {peer}, {scenario}: {message.splitlines()[0][:200] if message else ''}"
        for run in result["runs"]
        for peer, res in run["peers"].items()
        for scenario, message in res.get("errors", {}).items()
    ]
    if errors:
        out += ["", "Failures:", "", *errors]
    versions = meta.get("versions", {})
    if versions:
        out += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]
    return "\n".join(out)
