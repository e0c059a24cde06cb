"""T15: edits sent while a record is leased by someone else or submitted never appear anywhere.

Not in the hub's store (checked again after a restart), not in FileMaker (the emulator, read
through the Data API), not in any other client; not after unlocking and reconnecting either.
The well-behaved client obeys the hub's Reset: it drops its document and syncs afresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pycrdt import Map, Text

from collab.protocol.control import AccessState, Rejected, Reset
from collab.records import RecordKey
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.locks.support import KEYS, bearer, eventually, fm_record, token
from tests.support.server import hub_settings, run_hub

RECORD = RecordKey("Sales", "Invoices", KEYS[7])
URL = f"/api/records/{RECORD.room}"


def _poison(marker: str) -> Any:
    def change(doc: Any) -> None:
        doc.get("Notes", type=Text).insert(0, marker)
        doc.get("fields", type=Map)["Customer"] = marker

    return change


def _access(client: YClient) -> AccessState | None:
    states = [m for m in client.controls if isinstance(m, AccessState)]
    return states[-1] if states else None


async def _fresh(hub: Any, tok: str) -> YClient:
    client = YClient(sync_url(hub.ws_url, RECORD, token=tok, control="1"))
    await client.connect()
    await client.synced.wait()
    return client


async def _refused(client: YClient, marker: str) -> None:
    await client.edit(_poison(marker))
    await wait_for(lambda: any(isinstance(m, Rejected) for m in client.controls))
    await wait_for(lambda: any(isinstance(m, Reset) for m in client.controls))
    await client.close()


def _clean(where: str, values: dict[str, Any]) -> None:
    text = f"{values.get('Notes', '')} {values.get('Customer', '')}"
    assert "REJECTED" not in text, f"a refused edit reached {where}: {text!r}"


async def test_locked_edits_never_appear(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data", writeback={"debounce_ms": 50, "ceiling_ms": 200})
    ed_tok, eve_tok, vic_tok = (token(settings, "ed", "editor"), token(settings, "eve", "editor"),
                                token(settings, "vic", "viewer"))
    ed, ann, admin = (bearer(ed_tok), bearer(token(settings, "ann", "approver")),
                      bearer(token(settings, "root", "admin")))
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as http:
        watcher = await _fresh(hub, vic_tok)
        holder = await _fresh(hub, ed_tok)
        eve = await _fresh(hub, eve_tok)
        assert _access(eve) is not None and _access(eve).can_write  # type: ignore[union-attr]

        # 1. Leased by ed: eve's edits are refused and she is reset; ed's are accepted.
        assert (await http.post(f"{URL}/lease", headers=ed)).status_code == 200
        await wait_for(lambda: (a := _access(eve)) is not None and not a.can_write and a.reason == "leased")
        assert _access(holder).can_write  # type: ignore[union-attr]
        await _refused(eve, "REJECTED-LEASE ")
        await holder.edit(lambda doc: doc.get("Notes", type=Text).insert(0, "HOLDER-OK "))
        await wait_for(lambda: "HOLDER-OK" in watcher.text())
        _clean("the watcher", {"Notes": watcher.text(), **watcher.fields()})
        _clean("the holder", {"Notes": holder.text(), **holder.fields()})

        # 2. Unlock and reconnect: the refused edit does not come back; new edits are fine.
        assert (await http.delete(f"{URL}/lease", headers=ed)).status_code == 200
        eve = await _fresh(hub, eve_tok)
        _clean("eve after reconnecting", {"Notes": eve.text(), **eve.fields()})
        await eve.edit(lambda doc: doc.get("Notes", type=Text).insert(0, "EVE-OK "))
        await wait_for(lambda: "EVE-OK" in watcher.text())

        # 3. Submitted: read-only for everyone, the submitter included.
        assert (await http.post(f"{URL}/approval/submit", headers=ed)).status_code == 200
        await wait_for(lambda: (a := _access(eve)) is not None and a.reason == "submitted")
        await wait_for(lambda: (a := _access(holder)) is not None and a.reason == "submitted")
        await _refused(eve, "REJECTED-SUBMIT ")
        await _refused(holder, "REJECTED-SUBMITTER ")
        assert (await http.post(f"{URL}/approval/approve", headers=ann)).status_code == 200
        assert (await http.post(f"{URL}/approval/reopen", headers=admin)).status_code == 200

        eve, holder = await _fresh(hub, eve_tok), await _fresh(hub, ed_tok)
        await holder.edit(lambda doc: doc.get("Notes", type=Text).insert(0, "FINAL "))
        await wait_for(lambda: "FINAL" in watcher.text() and "FINAL" in eve.text())
        for name, client in (("the watcher", watcher), ("eve", eve), ("ed", holder)):
            _clean(name, {"Notes": client.text(), **client.fields()})
        async with hub.ctx.rooms.open(RECORD) as room:
            hub_values = room.values()
        _clean("the hub", hub_values)
        fm = await eventually(lambda: fm_record(http, RECORD.key), lambda r: r.get("Notes") == hub_values["Notes"])
        _clean("FileMaker", fm)
        assert fm["Status"] == "Open"
        for client in (watcher, eve, holder):
            await client.close()

    async with run_hub(settings) as hub:
        async with hub.ctx.rooms.open(RECORD) as room:
            stored = room.values()
        _clean("the store after a restart", stored)
        assert stored["Notes"].startswith("FINAL EVE-OK HOLDER-OK ")
