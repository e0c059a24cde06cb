"""kill -9 of the hub in the middle of write-backs (reliability.md T4/T9, CI-sized).

The hub runs as ``python -m collab serve --demo`` in a subprocess; the emulator keeps its
records in ``<data_dir>/emulator.db``, so FileMaker's side survives the kill too. Web clients
keep typing unique markers; after the restart every marker is in FileMaker exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from collab.filemaker.client import DataAPIClient
from tests.hub.ysync import YClient, sync_url
from tests.persist.helpers import eventually, record_key
from tests.persist.test_faults import append
from tests.support.server import free_port

UUIDS = ["8D1F5E2A-0001-4000-8000-000000000001", "8D1F5E2A-0002-4000-8000-000000000002"]
CONFIG = """
[server]
allow_anonymous = true
[writeback]
debounce_ms = 40
ceiling_ms = 250
backoff_initial_ms = 100
backoff_max_ms = 500
max_requests_per_second_per_record = 10.0
max_requests_per_second = 40.0
poll_min_ms = 300
poll_max_ms = 1000
"""


@asynccontextmanager
async def hub_process(data_dir: Path, config: Path, port: int, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "collab", "serve", "--demo", "--data-dir", str(data_dir),
            "--port", str(port), "--config", str(config),
            stdout=out, stderr=out, env={**os.environ, "COLLAB_LOG_LEVEL": "warning"},
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def healthy() -> bool:
                if proc.returncode is not None:
                    raise AssertionError(f"hub exited with {proc.returncode}: {log.read_text()[-2000:]}")
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(healthy, timeout=30, what="hub started")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _type(
    clients: list[YClient], names: list[str], count: int, start: int, sent: dict[str, list[str]],
    online: dict[str, list[str]],
) -> int:
    for i in range(start, start + count):
        for client, name in zip(clients, names, strict=True):
            marker = f"[{name}.{i}]"
            if client.ws is not None and client.close_code is None:
                try:
                    await client.edit(append(marker))
                    online[name].append(marker)
                except Exception:
                    pass  # the hub died under us: edit() applied it locally, the resync sends it
            else:
                append(marker)(client.doc)  # offline typing, synced on reconnect
            sent[name].append(marker)
        await asyncio.sleep(0.02)  # typing pace, not a barrier
    return start + count


async def test_kill9_mid_writeback_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data_dir, config, log = tmp_path / "data", tmp_path / "collab.toml", tmp_path / "hub.log"
    config.write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ws_base = base.replace("http", "ws")
    records = [record_key(u) for u in UUIDS]
    names = ["a1", "a2", "b1", "b2"]
    clients = [YClient(sync_url(ws_base, records[i // 2], control="1")) for i in range(4)]
    sent: dict[str, list[str]] = {name: [] for name in names}
    typed = 0
    acked_counts: dict[str, int] = {}
    last_online: dict[str, list[str]] = {}
    for cycle in range(3):
        online: dict[str, list[str]] = {name: [] for name in names}
        async with hub_process(data_dir, config, port, log) as proc:
            if cycle:
                # The hub alone must hold every acked edit: a client with no history sees them.
                for index, record in enumerate(records):
                    async with YClient(sync_url(ws_base, record)) as fresh:
                        await eventually(fresh.synced.is_set, what="fresh client synced")
                        for name in names[2 * index : 2 * index + 2]:
                            # Stored.seq also counts the client's sync step 2 reply: one less is safe.
                            acked = last_online[name][: max(0, acked_counts[name] - 1)]
                            assert acked, "some edits were acked before the kill"
                            assert all(m in fresh.text() for m in acked), "an acked edit was lost"
            for client in clients:
                await client.close()
                client.stored = 0  # Stored.seq counts per connection
                await client.connect()  # same local doc: unsynced edits go up now
            await eventually(lambda: all(c.synced.is_set() for c in clients), what="clients synced")
            typed = await _type(clients, names, 15, typed, sent, online)
            proc.kill()  # SIGKILL while records are dirty and writes are in flight
            await proc.wait()
            acked_counts.update({name: client.stored for name, client in zip(names, clients, strict=True)})
            last_online.update(online)
            typed = await _type(clients, names, 3, typed, sent, online)  # typing on while the hub is down
        with sqlite3.connect(data_dir / "collab.db") as db:
            pending = db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM persist_outbox").fetchone()
        assert pending[0] >= 1, "the kill should land while write-backs are pending"
        assert pending[0] == pending[1], "one outbox row per record"
    async with hub_process(data_dir, config, port, log):
        for client in clients:
            await client.close()
            await client.connect()
        await eventually(lambda: all(c.synced.is_set() for c in clients), what="clients resynced")
        typed = await _type(clients, names, 10, typed, sent, {name: [] for name in names})
        async with DataAPIClient(base, "Sales", "admin", "admin") as fm:

            async def settled() -> bool:
                for index, record in enumerate(records):
                    found = await fm.find_one_by("Invoices", "UUID", record.key)
                    assert found is not None
                    notes = str(found.field_data["Notes"])
                    pair = clients[2 * index : 2 * index + 2]
                    if not (pair[0].text() == pair[1].text() == notes):
                        return False
                return True

            await eventually(settled, timeout=30, what="FileMaker holds the converged values")
            for index, record in enumerate(records):
                found = await fm.find_one_by("Invoices", "UUID", record.key)
                assert found is not None
                notes = str(found.field_data["Notes"])
                for name in names[2 * index : 2 * index + 2]:
                    counts = {m: notes.count(m) for m in sent[name]}
                    assert all(n == 1 for n in counts.values()), {m: n for m, n in counts.items() if n != 1}
        for client in clients:
            await client.close()
