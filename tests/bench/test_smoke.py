"""The benchmark's own smoke test: quick sizes against collab and the Node ws relay.

It checks that every scenario produces numbers and that nothing is lost, so the benchmark
cannot rot; the speed goals themselves live in the benchmark (docs/performance.md), not here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(
        not (BENCH / "node_modules").is_dir(),
        reason="bench/node_modules is missing: run `npm ci` in bench/ (tests/run.sh does)",
    ),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


def _run(tmp_path: Path, peers: str, scenarios: str) -> dict:
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--quick", "--peers", peers, "--scenarios", scenarios,
         "--workdir", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| S2 server CPU" in proc.stdout, proc.stdout
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick run of collab and the Node relay side by side, as `bench run` does it."""
    result = _run(tmp_path_factory.mktemp("bench"), "collab,ws-relay", "S1,S2,S3,S4,S5,S6")
    return dict(result["runs"][0]["peers"])


def _check_common(res: dict, *, has_doc: bool) -> None:
    assert not res["errors"], res["errors"]
    s1 = res["S1"]["3"]
    assert s1["lost"] == 0 and s1["received"] == s1["expected"] > 0
    assert s1["latency_ms"]["p99"] > 0
    s2 = res["S2"]
    assert s2["lost"] == 0 and s2["delivered"] > 0
    assert s2["delivered_per_s"] > 0 and s2["server_cpu_us_per_delivery"] is not None
    for per_room in ("1", "10"):
        s3 = res["S3"][per_room]
        assert s3["synced"] == s3["connections"] > 0
        assert s3["rss_after_kb"] > 0
    s5 = res["S5"]
    assert s5["synced_and_converged"] == s5["clients"]
    if has_doc:
        s4 = res["S4"]
        assert s4["build"]["complete"]
        assert s4["first"]["step2_ms"] is not None and s4["first"]["synced_ms"] is not None


def test_quick_benchmark_against_the_node_relay(quick_run: dict) -> None:
    _check_common(quick_run["ws-relay"], has_doc=False)


def test_quick_benchmark_against_collab(quick_run: dict) -> None:
    res = quick_run["collab"]
    _check_common(res, has_doc=True)
    s6 = res["S6"]
    assert s6["lost"] == 0
    assert s6["stored_all_ms"]["n"] > 0 and s6["unacked"] == 0
    assert s6["filemaker"]["landed"] == s6["filemaker"]["markers"] > 0


def test_every_server_serves_the_same_record_documents(quick_run: dict) -> None:
    # collab seeds each document from the FileMaker record; the relay's clients start from
    # those same seed bytes, so readers hold the record's fields under either server.
    collab_fields = quick_run["collab"]["S1"]["3"]["seed_fields"]
    assert collab_fields > 0
    assert quick_run["ws-relay"]["S1"]["3"]["seed_fields"] == collab_fields


def test_memory_probe_names_the_hubs_own_lines() -> None:
    # `bench memory` is plain Python (no Node), but it lives with the benchmark it explains.
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "memory", "--connections", "20", "--top", "5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    head, _, lines = proc.stdout.partition("by line:")
    per_connection = float(head.split("growth: ", 1)[1].split(" KB", 1)[0])
    assert per_connection > 0.5  # a room and a socket cost something
    assert "collab/transports/websocket.py:" in lines or "collab/rooms/" in lines
