"""T9 in one run (CI-sized): five records typed in continuously while the faults come in turn."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tests.hub.ysync import YClient, sync_url
from tests.persist.helpers import emulator_values, eventually, fast_settings, filemaker_values, record_key
from tests.persist.test_faults import append, in_filemaker, set_field
from tests.support.server import run_hub

UUIDS = [f"8D1F5E2A-000{i}-4000-8000-00000000000{i}" for i in range(1, 6)]


async def test_fault_matrix_ends_with_filemaker_equal_to_the_hub(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    async with run_hub(settings) as hub:
        emulator = hub.ctx.extras["emulator"]
        records = [record_key(u) for u in UUIDS]
        ids = [(await filemaker_values(hub, r))[0] for r in records]
        clients = [YClient(sync_url(hub.ws_url, r, control="1")) for r in records]
        for client in clients:
            await client.connect()
        await eventually(lambda: all(c.synced.is_set() for c in clients))
        stop = asyncio.Event()
        typed = [0] * len(clients)

        async def typist(index: int) -> None:
            while not stop.is_set():
                await clients[index].edit(append(f" {index}.{typed[index]}"))
                typed[index] += 1
                await asyncio.sleep(0.05)  # typing pace

        typists = [asyncio.create_task(typist(i)) for i in range(len(clients))]
        logins_before = emulator.calls.count("login")
        try:
            emulator.lock_record("Sales", "Invoices", int(ids[1]))  # 301 on record 2
            await eventually(lambda: hub.ctx.writeback.status(records[1])["waiting_reason"] == "record_in_use")
            emulator.unlock_record("Sales", "Invoices", int(ids[1]))
            # 306 with a real change made in FileMaker on record 3.
            emulator.user_edit("Sales", "Invoices", int(ids[2]), {"Customer": "Changed in FileMaker"})
            await eventually(lambda: clients[2].fields()["Customer"] == "Changed in FileMaker", what="merged")
            await clients[3].edit(set_field("Customer", "y" * 120))  # 511 on record 4, parked
            emulator.kill_tokens()  # 952: token expiry
            await eventually(lambda: emulator.calls.count("login") > logins_before, what="re-login")
            emulator.set_outage("502")
            await eventually(
                lambda: all(hub.ctx.writeback.status(r)["waiting_reason"] == "filemaker_unreachable"
                            for i, r in enumerate(records) if i != 3),
                what="everyone waits for FileMaker",
            )
            emulator.set_outage(None)
            emulator.stall(1.5)
            await eventually(lambda: hub.ctx.writeback.status(records[0])["attempts"] > 0, what="stall timeouts")
            emulator.stall(0)
        finally:
            stop.set()
            for task in typists:
                with contextlib.suppress(Exception):
                    await task
        try:
            await eventually(lambda: hub.ctx.writeback.status(records[3])["parked"], what="record 4 parked")
            for i, (record, rid) in enumerate(zip(records, ids, strict=True)):
                if i == 3:
                    continue
                await eventually(lambda r=record, x=rid: in_filemaker(hub, r, x), timeout=20, what=f"record {i + 1}")
                notes = emulator_values(hub, rid)["Notes"]
                assert all(f" {i}.{n}" in notes for n in range(typed[i])), "no edit lost"
                assert clients[i].text() == notes
            assert emulator_values(hub, ids[2])["Customer"] == "Changed in FileMaker"
            assert emulator.calls.count("login") - logins_before <= 2, "one login per expiry"
            status = hub.ctx.writeback.status(records[3])
            assert status["parked"] and "Customer" in status["field_errors"]
            assert emulator_values(hub, ids[3])["Customer"] != "y" * 120  # refused, kept in the document
            assert clients[3].fields()["Customer"] == "y" * 120
        finally:
            for client in clients:
                await client.close()
