"""Where the hub's memory per idle connection goes: ``python -m bench memory``.

Starts the collab hub (as the benchmark does, against the emulator) under tracemalloc
(``bench.peers.traced``), takes a snapshot, opens N idle y-websocket connections (one record
each, or ``--per-room`` per record) from this process, waits until each has its sync step 2,
takes another, and prints the growth per connection grouped by the innermost frame of the
hub's own code (``collab/...``), so a line of ours is charged with what libraries allocate
under it. Allocations with no collab frame (uvloop's transports, uvicorn's HTTP protocol
before the upgrade) show under the frame that runs the event loop. Native memory (yrs, SQLite,
libuv) is not traced: compare with the RSS per connection that S3 measures.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import signal
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.peers_def import PEERS, PY, REPO
from bench.run import Options, PeerRun, log

FRESH_STEP1 = bytes([0, 0, 1, 0])


async def _snapshot(pid: int, path: Path, timeout: float = 60.0) -> tracemalloc.Snapshot:
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the hub wrote no tracemalloc snapshot")
        await asyncio.sleep(0.05)
    return tracemalloc.Snapshot.load(str(path))


async def _open_idle(targets: list[str], concurrency: int = 50) -> list[Any]:
    """Open a y-websocket connection to each target; each is idle once its step 2 arrived."""
    import websockets

    gate = asyncio.Semaphore(concurrency)

    async def one(target: str) -> Any:
        async with gate:
            ws = await websockets.connect(target, max_size=None, compression=None, open_timeout=30)
            await ws.send(FRESH_STEP1)
            async with asyncio.timeout(30):
                while True:
                    frame = await ws.recv()
                    if isinstance(frame, bytes) and frame[:2] == b"\x00\x01":
                        return ws

    return list(await asyncio.gather(*(one(t) for t in targets)))


def _where(trace: tracemalloc.Traceback) -> str:
    for frame in reversed(trace):  # innermost first
        if f"{REPO}/collab/" in frame.filename:
            return f"{frame.filename.split(f'{REPO}/', 1)[1]}:{frame.lineno}"
    return "(no collab frame)"


def _growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> collections.Counter[str]:
    grown: collections.Counter[str] = collections.Counter()
    for stat in after.statistics("traceback"):
        grown[_where(stat.traceback)] += stat.size
    for stat in before.statistics("traceback"):
        grown[_where(stat.traceback)] -= stat.size
    return grown


def summarize(grown: collections.Counter[str], connections: int, top: int) -> str:
    by_file: collections.Counter[str] = collections.Counter()
    for where, size in grown.items():
        by_file[where.rsplit(":", 1)[0]] += size
    total = sum(grown.values())
    lines = [f"traced Python heap growth: {total / connections / 1024:.2f} KB per connection", "", "by file:"]
    lines += [f"  {size / connections:7.0f} B  {name}" for name, size in by_file.most_common(top) if size > 0]
    lines += ["", "by line:"]
    lines += [f"  {size / connections:7.0f} B  {name}" for name, size in grown.most_common(top * 2) if size > 0]
    return "\n".join(lines)


async def measure(connections: int, per_room: int, top: int) -> str:
    work = Path(tempfile.mkdtemp(prefix="collab-memory-"))
    snap = work / "snapshot.tracemalloc"
    base = PEERS["collab"]
    assert base.cmd[:3] == (PY, "-m", "collab")
    peer = dataclasses.replace(
        base,
        cmd=(PY, "-m", "bench.peers.traced", *base.cmd[2:]),
        env={**base.env, "BENCH_TRACEMALLOC_OUT": str(snap)},
    )
    pr = PeerRun(peer, Options("full", 1, ["collab"], ["S3"], "0", "1", work), 0)
    pr.start()
    try:
        assert pr.server is not None
        # One more record than measured: it warms the hub (lazy imports, caches) first.
        rooms = await asyncio.to_thread(pr.rooms, "memory", max(1, connections // per_room) + 1, "m")
        config = pr.client_config("S3", rooms, {})
        urls = [f"{config['base']}/{room}?token={config['params']['token']}" for room in rooms]
        for ws in await _open_idle([urls[-1]]):
            await ws.close()
        before = await _snapshot(pr.server.pid, snap)
        started = time.monotonic()
        sockets = await _open_idle([urls[i // per_room] for i in range(connections)])
        log(f"{connections} idle connections on {len(rooms)} records in {time.monotonic() - started:.1f} s")
        after = await _snapshot(pr.server.pid, snap)
        for ws in sockets:
            await ws.close()
    finally:
        pr.stop()
    return summarize(_growth(before, after), connections, top)


def memory(connections: int, per_room: int, top: int) -> str:
    summary = asyncio.run(measure(connections, per_room, top))
    print(summary)
    return summary
