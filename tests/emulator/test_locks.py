"""Checklist items 5-6: a record held open in "FileMaker Pro" gets 301 on writes, and the
FileMaker Pro user's own commits move modId (so a stale PATCH then gets 306)."""

from __future__ import annotations

from collab.filemaker.emulator import Emulator
from tests.emulator.conftest import Api, body, code


async def test_held_record_gets_301_on_edit_delete_and_upload(api: Api, emulator: Emulator) -> None:
    emulator.lock_record("Sales", "Invoices", 1, "Dana on her Mac")
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "x"}})
    assert (r.status_code, r.json()) == (
        500,
        {"response": {}, "messages": [{"code": "301", "message": "Record is in use by another user"}]},
    )
    assert code(await api.call("DELETE", "/layouts/Invoices/records/1")) == "301"
    upload = await api.call(
        "POST", "/layouts/Invoice Detail/records/1/containers/Attachment/1", files={"upload": ("a.txt", b"a")}
    )
    assert code(upload) == "301"
    read = await api.call("GET", "/layouts/Invoices/records/1")
    assert read.status_code == 200 and body(read)["data"][0]["modId"] == "0"  # reads are fine, nothing changed
    assert emulator.lock_holder("Sales", "Invoices", 1) == "Dana on her Mac"
    assert emulator.unlock_record("Sales", "Invoices", 1)
    assert body(await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "x"}})) == {"modId": "1"}


async def test_a_lock_on_the_table_covers_every_layout_of_it(api: Api, emulator: Emulator) -> None:
    emulator.lock_record("Sales", "Invoices", 2)
    r = await api.call("PATCH", "/layouts/Invoice Detail/records/2", json={"fieldData": {"Amount": 1}})
    assert code(r) == "301"
    other = await api.call("PATCH", "/layouts/Invoices/records/3", json={"fieldData": {"Amount": 1}})
    assert other.status_code == 200


async def test_held_portal_row_gets_301(api: Api, emulator: Emulator) -> None:
    emulator.lock_record("Sales", "InvoiceLines", 1)
    r = await api.call(
        "PATCH", "/layouts/Invoice Detail/records/1", json={"portalData": {"Lines": [{"recordId": "1", "InvoiceLines::Quantity": 5}]}}
    )
    assert code(r) == "301"


async def test_restart_releases_locks(api: Api, emulator: Emulator) -> None:
    emulator.lock_record("Sales", "Invoices", 1)
    emulator.restart()
    await api.login()
    assert (await api.call("DELETE", "/layouts/Invoices/records/1")).status_code == 200


async def test_filemaker_user_edit_moves_modid_and_stale_writes_get_306(api: Api, emulator: Emulator) -> None:
    assert emulator.user_edit("Sales", "Invoices", 1, {"Notes": "typed in FileMaker Pro", "DueDate": "3/1/2026"}) == 1
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "hub"}, "modId": "0"})
    assert code(r) == "306"
    record = body(await api.call("GET", "/layouts/Invoices/records/1"))["data"][0]
    assert record["modId"] == "1" and record["fieldData"]["Notes"] == "typed in FileMaker Pro"
    assert record["fieldData"]["DueDate"] == "03/01/2026"
    assert emulator.user_edit("Sales", "Invoices", 1, {"Notes": "typed in FileMaker Pro"}) == 1  # no change, no commit
