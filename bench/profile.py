"""Profile the collab hub under a scenario's load with py-spy: ``python -m bench profile``.

py-spy samples the hub process (pinned to the server core) while the load generator runs
S2 (or S6) at full size; the collapsed stacks go to a file, and the summary printed here
lists where the hub's samples are: by own frame (self) and by inclusive frame.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peers_def import PEERS
from bench.run import SIZES, Options, PeerRun, _taskset, log


def summarize(collapsed: Path, top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        if "(idle)" in frames[0] or frames[0].startswith("process ") and len(frames) == 1:
            continue
        total += count
        own[_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            incl[name] += count
    lines = [f"{total} samples of the hub's active threads", "", "by own frame (self):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "by inclusive frame:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in incl.most_common(top * 2)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; drop the line number.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path, _, _line = where.rpartition(":")
    for marker in ("site-packages/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name


def profile(scenario: str, out_dir: Path, rate: int, size: str = "full") -> Path:
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        raise SystemExit("py-spy is not installed: pip install py-spy (bench dependency group)")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    work = Path(tempfile.mkdtemp(prefix="collab-profile-"))
    opts = Options(size, 1, ["collab"], [scenario], "0", "1", work)
    pr = PeerRun(PEERS["collab"], opts, 0)
    s = SIZES[size][scenario]
    out_dir.mkdir(parents=True, exist_ok=True)
    collapsed = out_dir / f"collab-{scenario.lower()}.collapsed.txt"
    try:
        pr.start()
        rooms = pr.rooms(scenario.lower(), s["rooms"], "p")
        extra: dict[str, Any] = {}
        duration = int(s["warmup"] + s["seconds"] + 8)
        spy_proc = subprocess.Popen(
            [*_taskset("1"), spy, "record", "--pid", str(pr.server.pid), "--rate", str(rate),  # type: ignore[union-attr]
             "--duration", str(duration), "--format", "raw", "--nonblocking", "--output", str(collapsed)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
        res = pr.loadgen(pr.client_config(scenario, rooms, s, **extra))
        log(f"{scenario} under py-spy: {res['delivered_per_s']:.0f} delivered/s, "
            f"{res['server_cpu_us_per_delivery']:.1f} µs CPU each (sampling adds overhead)")
        spy_proc.wait(timeout=duration + 30)
    finally:
        pr.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary = summarize(collapsed)
    (out_dir / f"collab-{scenario.lower()}.summary.txt").write_text(summary + "\n")
    print(summary)
    return collapsed
