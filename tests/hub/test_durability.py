"""Restart and kill -9 of a real ``collab serve --demo`` process (T6 a, b; acked => present)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pycrdt import Text

from collab.records import RecordKey
from tests.hub.conftest import DEMO_KEYS
from tests.hub.process import HubProcess
from tests.hub.ysync import YClient, sync_url, wait_for

RECORD = RecordKey("Sales", "Invoices", DEMO_KEYS[3])
SEED_NOTES = "Network upgrade, phase 1 of 2. Deposit received."


def _no_duplicates(text: str, markers: list[str]) -> None:
    assert text.count(SEED_NOTES) == 1, text
    for marker in markers:
        assert text.count(marker) <= 1, (marker, text)


async def test_kill9_keeps_every_acknowledged_update_and_never_duplicates(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data")
    await hub.start()
    try:
        url = sync_url(hub.ws_url, RECORD, token=hub.token(), control="1")
        writer = YClient(url)
        await writer.connect()
        await wait_for(writer.synced.is_set)
        markers: list[str] = []
        for i in range(60):
            marker = f"<m{i}>"
            markers.append(marker)
            await writer.edit(lambda d, m=marker: d.get("Notes", type=Text).insert(0, m))
            if i == 30:
                await wait_for(lambda: writer.stored >= 20)
        acked_seq = writer.stored  # the kill lands while the rest may still be in flight
        await hub.kill()
        await writer.wait_closed()
        # seq counts the step-2 reply first, then one per edit.
        acked = markers[: max(0, acked_seq - 1)]
        assert len(acked) >= 20

        await hub.start()
        async with YClient(sync_url(hub.ws_url, RECORD, token=hub.token())) as fresh:
            await wait_for(fresh.synced.is_set)
            text = fresh.text()
            missing = [m for m in acked if m not in text]
            assert missing == [], f"acknowledged but lost after kill -9: {missing}"
            _no_duplicates(text, markers)

        # The writer still holds its full history (acked or not): reconnecting merges, never duplicates.
        await writer.connect()
        await wait_for(writer.synced.is_set)
        async with YClient(sync_url(hub.ws_url, RECORD, token=hub.token())) as check:
            await wait_for(check.synced.is_set)
            await wait_for(lambda: writer.stored >= writer.sent)
        async with YClient(sync_url(hub.ws_url, RECORD, token=hub.token())) as final:
            await wait_for(final.synced.is_set)
            assert all(m in final.text() for m in markers)
            _no_duplicates(final.text(), markers)
            assert final.text() == writer.text()
        await writer.close()
        log = hub.log_text()  # T13: the token never reaches a log line
        assert "WebSocket /sync/" in log and "token=[redacted]" in log
        used = url.split("token=")[1].split("&")[0]
        assert used not in log and used.split(".")[2] not in log
    finally:
        await hub.stop()


async def test_graceful_restart_with_clients_holding_history(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data")
    await hub.start()
    try:
        url = sync_url(hub.ws_url, RECORD, token=hub.token(), control="1")
        clients = [YClient(url) for _ in range(3)]
        await asyncio.gather(*(c.connect() for c in clients))
        await wait_for(lambda: all(c.synced.is_set() for c in clients))
        for i, c in enumerate(clients):
            await c.edit(lambda d, i=i: d.get("Notes", type=Text).insert(0, f"[c{i}]"))
        await wait_for(lambda: all(c.stored == c.sent for c in clients))
        await hub.stop()
        await asyncio.gather(*(c.wait_closed() for c in clients))
        await hub.start()
        await asyncio.gather(*(c.connect() for c in clients))
        await wait_for(lambda: all(c.synced.is_set() for c in clients))
        await wait_for(lambda: len({c.text() for c in clients}) == 1)
        text = clients[0].text()
        _no_duplicates(text, ["[c0]", "[c1]", "[c2]"])
        assert all(f"[c{i}]" in text for i in range(3))
        for c in clients:
            await c.close()
    finally:
        await hub.stop()
