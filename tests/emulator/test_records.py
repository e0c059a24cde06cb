"""Checklist items 5 and 7: recordId/modId semantics, partial edits, 306, reads, portals,
duplicate, delete, containers and session-scoped globals."""

from __future__ import annotations

import httpx

from collab.filemaker.emulator import Emulator
from tests.emulator.conftest import FIRST_UUID, Api, body, code


async def test_create_returns_string_ids_and_modid_zero(api: Api) -> None:
    r = await api.call("POST", "/layouts/Invoices/records", json={"fieldData": {"Customer": "Acme", "Amount": 12.5}})
    assert r.status_code == 200
    assert body(r) == {"recordId": "13", "modId": "0"}
    record = body(await api.call("GET", "/layouts/Invoices/records/13"))["data"][0]
    fields = record["fieldData"]
    assert fields["Customer"] == "Acme" and fields["Amount"] == 12.5 and fields["Status"] == "Open"
    assert fields["InvoiceNo"] == 1013 and len(fields["UUID"]) == 36 and fields["UUID"].isupper()
    assert fields["Notes"] == "" and fields["DueDate"] == "" and fields["ApprovedAt"] == ""


async def test_empty_field_data_creates_a_record_with_defaults(api: Api) -> None:
    r = await api.call("POST", "/layouts/Invoices/records", json={"fieldData": {}})
    assert body(r)["modId"] == "0"


async def test_record_ids_are_never_reused(api: Api) -> None:
    created = body(await api.call("POST", "/layouts/Invoices/records", json={"fieldData": {}}))["recordId"]
    assert (await api.call("DELETE", f"/layouts/Invoices/records/{created}")).status_code == 200
    again = body(await api.call("POST", "/layouts/Invoices/records", json={"fieldData": {}}))["recordId"]
    assert int(again) == int(created) + 1


async def test_modid_moves_by_one_per_real_change(api: Api) -> None:
    path = "/layouts/Invoices/records/1"
    assert body(await api.call("PATCH", path, json={"fieldData": {"Notes": "first"}})) == {"modId": "1"}
    assert body(await api.call("PATCH", path, json={"fieldData": {"Notes": "second", "Amount": 99}})) == {"modId": "2"}
    assert body(await api.call("PATCH", path, json={"fieldData": {}})) == {"modId": "2"}
    assert body(await api.call("PATCH", path, json={"fieldData": {"Notes": "second"}})) == {"modId": "2"}


async def test_partial_edit_leaves_other_fields_untouched(api: Api) -> None:
    before = body(await api.call("GET", "/layouts/Invoices/records/1"))["data"][0]["fieldData"]
    await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "changed"}})
    after = body(await api.call("GET", "/layouts/Invoices/records/1"))["data"][0]["fieldData"]
    assert after == {**before, "Notes": "changed"}


async def test_stale_modid_is_306_and_changes_nothing(api: Api) -> None:
    path = "/layouts/Invoices/records/1"
    await api.call("PATCH", path, json={"fieldData": {"Notes": "v1"}, "modId": "0"})
    r = await api.call("PATCH", path, json={"fieldData": {"Notes": "stale"}, "modId": "0"})
    assert (r.status_code, r.json()) == (
        500,
        {"response": {}, "messages": [{"code": "306", "message": "Record modification ID does not match"}]},
    )
    record = body(await api.call("GET", path))["data"][0]
    assert record["fieldData"]["Notes"] == "v1" and record["modId"] == "1"
    assert body(await api.call("PATCH", path, json={"fieldData": {"Notes": "v2"}, "modId": 1})) == {"modId": "2"}


async def test_missing_records_are_101(api: Api) -> None:
    for method in ("GET", "PATCH", "DELETE", "POST"):
        r = await api.call(method, "/layouts/Invoices/records/999", json={"fieldData": {}} if method == "PATCH" else None)
        assert (r.status_code, code(r)) == (500, "101"), method


async def test_unknown_layout_is_105_and_unknown_field_102(api: Api) -> None:
    r = await api.call("GET", "/layouts/Nope/records")
    assert (r.status_code, code(r)) == (500, "105")
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Attachment": "x"}})
    assert code(r) == "102"  # on the table, but not on this layout


async def test_range_defaults_counts_offset_limit_and_sort(api: Api) -> None:
    r = body(await api.call("GET", "/layouts/Invoices/records"))
    assert r["dataInfo"] == {
        "database": "Sales",
        "layout": "Invoices",
        "table": "Invoices",
        "totalRecordCount": 12,
        "foundCount": 12,
        "returnedCount": 12,
    }
    assert [d["recordId"] for d in r["data"]] == [str(i) for i in range(1, 13)]
    page = body(await api.call("GET", "/layouts/Invoices/records", params={"_offset": 11, "_limit": 5}))
    assert [d["recordId"] for d in page["data"]] == ["11", "12"] and page["dataInfo"]["returnedCount"] == 2
    by_amount = body(
        await api.call("GET", "/layouts/Invoices/records", params={"_sort": '[{"fieldName":"Amount"}]', "_limit": 2})
    )
    assert [d["fieldData"]["Amount"] for d in by_amount["data"]] == [275, 512.75]
    desc = body(
        await api.call(
            "GET", "/layouts/Invoices/records", params={"_sort": '[{"fieldName":"DueDate","sortOrder":"descend"}]', "_limit": 1}
        )
    )
    assert desc["data"][0]["fieldData"]["DueDate"] == "02/28/2026"


async def test_range_bad_parameters_are_960(api: Api) -> None:
    for params in ({"_offset": "0"}, {"_limit": "x"}, {"_sort": "not json"}, {"_bogus": "1"}):
        r = await api.call("GET", "/layouts/Invoices/records", params=params)
        assert (r.status_code, code(r)) == (400, "960"), params


async def test_empty_table_with_default_offset_is_101(tmp_path: object) -> None:
    from pathlib import Path

    from tests.support.server import free_port, run_app

    schema = Path(str(tmp_path)) / "empty.toml"
    schema.write_text(
        '[databases.Empty]\naccounts = [{ name = "a", password = "b" }]\n'
        '[databases.Empty.tables.T]\nfields = [{ name = "Name" }]\n'
        '[databases.Empty.layouts.T]\ntable = "T"\n'
    )
    emu = Emulator(schema)
    port = free_port()
    async with run_app(emu.app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        login = await http.post("/fmi/data/v1/databases/Empty/sessions", auth=("a", "b"), json={})
        headers = {"Authorization": f"Bearer {body(login)['token']}"}
        r = await http.get("/fmi/data/v1/databases/Empty/layouts/T/records", headers=headers)
        assert (r.status_code, code(r)) == (500, "101")


async def test_numbers_are_json_numbers_and_empty_values_empty_strings(api: Api) -> None:
    fields = body(await api.call("GET", "/layouts/Invoices/records/6"))["data"][0]["fieldData"]
    assert fields["Amount"] == 640 and isinstance(fields["Amount"], int)
    assert fields["InvoiceNo"] == 1006 and fields["Notes"] == "" and fields["ApprovedAt"] == ""


async def test_portals_default_paging_and_selection(api: Api) -> None:
    record = body(await api.call("GET", "/layouts/Invoice Detail/records/1"))["data"][0]
    assert [row["InvoiceLines::Description"] for row in record["portalData"]["Lines"]][0] == "Maintenance visit, January"
    row = record["portalData"]["Lines"][0]
    assert list(row) == ["recordId", "InvoiceLines::Description", "InvoiceLines::Quantity", "InvoiceLines::UnitPrice", "modId"]
    assert record["portalDataInfo"] == [
        {"portalObjectName": "Lines", "database": "Sales", "table": "InvoiceLines", "foundCount": 3, "returnedCount": 3}
    ]
    paged = body(
        await api.call("GET", "/layouts/Invoice Detail/records/1", params={"_offset.Lines": 2, "_limit.Lines": 1})
    )["data"][0]
    assert [r["recordId"] for r in paged["portalData"]["Lines"]] == ["2"]
    assert paged["portalDataInfo"][0]["returnedCount"] == 1 and paged["portalDataInfo"][0]["foundCount"] == 3
    none = body(await api.call("GET", "/layouts/Invoice Detail/records/1", params={"portal": "[]"}))["data"][0]
    assert none["portalData"] == {}


async def test_v1_table_view_returns_only_the_first_portal_row(api: Api) -> None:
    v1 = body(await api.call("GET", "/layouts/Invoice Summary/records/1", version="v1"))["data"][0]
    v2 = body(await api.call("GET", "/layouts/Invoice Summary/records/1", version="v2"))["data"][0]
    assert len(v1["portalData"]["Lines"]) == 1 and len(v2["portalData"]["Lines"]) == 3


async def test_portal_writes_create_edit_and_delete_related_rows(api: Api) -> None:
    path = "/layouts/Invoice Detail/records/2"
    r = await api.call(
        "PATCH",
        path,
        json={
            "fieldData": {"deleteRelated": "Lines.5"},
            "portalData": {
                "Lines": [
                    {"InvoiceLines::Description": "Extra hour", "InvoiceLines::Quantity": 1},
                    {"recordId": "4", "modId": "0", "InvoiceLines::Quantity": 2},
                ]
            },
        },
    )
    assert r.status_code == 200 and body(r) == {"modId": "0"}  # only related records changed
    rows = body(await api.call("GET", path))["data"][0]["portalData"]["Lines"]
    assert [(x["recordId"], x["InvoiceLines::Quantity"], x["modId"]) for x in rows] == [("4", 2, "1"), ("8", 1, "0")]
    stale = await api.call("PATCH", path, json={"portalData": {"Lines": [{"recordId": "4", "modId": "0", "InvoiceLines::Quantity": 3}]}})
    assert code(stale) == "306"


async def test_duplicate_gets_a_new_id_new_uuid_and_modid_zero(api: Api) -> None:
    await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "edited"}})
    r = await api.call("POST", "/layouts/Invoices/records/1")
    assert body(r) == {"recordId": "13", "modId": "0"}
    copy = body(await api.call("GET", "/layouts/Invoices/records/13"))["data"][0]["fieldData"]
    assert copy["Notes"] == "edited" and copy["UUID"] != FIRST_UUID and copy["InvoiceNo"] == 1013


async def test_delete_removes_the_record(api: Api) -> None:
    r = await api.call("DELETE", "/layouts/Invoices/records/12")
    assert (r.status_code, body(r)) == (200, {})
    assert code(await api.call("GET", "/layouts/Invoices/records/12")) == "101"
    assert body(await api.call("GET", "/layouts/Invoices/records"))["dataInfo"]["totalRecordCount"] == 11


async def test_layout_response_renders_through_another_layout(api: Api) -> None:
    r = body(await api.call("GET", "/layouts/Invoices/records/1", params={"layout.response": "Invoice Summary"}))
    assert r["dataInfo"]["layout"] == "Invoice Summary"
    assert set(r["data"][0]["fieldData"]) == {"UUID", "InvoiceNo", "Customer", "Amount"}


async def test_container_upload_stores_bytes_and_moves_modid(api: Api) -> None:
    path = "/layouts/Invoice Detail/records/3/containers/Attachment/1"
    files = {"upload": ("scan.pdf", b"%PDF-1.4 hello", "application/pdf")}
    r = await api.call("POST", path, files=files)
    assert (r.status_code, body(r)) == (200, {"modId": "1"})
    url = body(await api.call("GET", "/layouts/Invoice Detail/records/3"))["data"][0]["fieldData"]["Attachment"]
    assert url.startswith(str(api.http.base_url).rstrip("/") + "/fmi/emulator/containers/") and url.endswith("/scan.pdf")
    download = await api.http.get(url)
    assert download.content == b"%PDF-1.4 hello" and download.headers["content-type"] == "application/pdf"
    r = await api.call("POST", path, content=b"raw", headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 415
    r = await api.call("POST", path, files={"other": ("a.txt", b"x")})
    assert (r.status_code, code(r)) == (400, "958")
    r = await api.call("POST", path, files=files, params={"modId": "0"})
    assert code(r) == "306"
    r = await api.call("PATCH", "/layouts/Invoice Detail/records/3", json={"fieldData": {"Attachment": "x"}})
    assert code(r) == "201"  # containers are written only through the upload route


async def test_globals_are_session_scoped(api: Api) -> None:
    other = Api(api.http)
    await other.login()
    r = await api.call("PATCH", "/globals", json={"globalFields": {"Invoices::gCompany": "Acme Corp"}})
    assert (r.status_code, body(r)) == (200, {})
    mine = body(await api.call("GET", "/layouts/Invoice Detail/records/1"))["data"][0]["fieldData"]["gCompany"]
    theirs = body(await other.call("GET", "/layouts/Invoice Detail/records/1"))["data"][0]["fieldData"]["gCompany"]
    assert (mine, theirs) == ("Acme Corp", "")
    r = await api.call("PATCH", "/globals", json={"globalFields": {"Invoices::Notes": "x"}})
    assert code(r) == "102"


async def test_a_failed_write_sets_no_globals_either(api: Api) -> None:
    r = await api.call("PATCH", "/layouts/Invoice Detail/records/1", json={"fieldData": {"gCompany": "X", "Amount": "lots"}})
    assert code(r) == "502"
    assert body(await api.call("GET", "/layouts/Invoice Detail/records/1"))["data"][0]["fieldData"]["gCompany"] == ""


async def test_concurrent_writers_with_the_same_modid_one_wins(api: Api) -> None:
    import asyncio

    results = await asyncio.gather(
        *(
            api.call("PATCH", "/layouts/Invoices/records/2", json={"fieldData": {"Notes": f"writer {i}"}, "modId": "0"})
            for i in range(10)
        )
    )
    codes = sorted(code(r) for r in results)
    assert codes == ["0"] + ["306"] * 9
    record = body(await api.call("GET", "/layouts/Invoices/records/2"))["data"][0]
    assert record["modId"] == "1" and record["fieldData"]["Notes"].startswith("writer ")
