"""Checklist items 9-10: dates, times and timestamps in every dateformats, US writes with
12-hour times, bad values 500-502, and validation 500-511 unless entrymode is script."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import Api, body, code


async def _fields(api: Api, rid: int = 10, layout: str = "Invoices", **params: Any) -> dict[str, Any]:
    r = await api.call("GET", f"/layouts/{layout}/records/{rid}", params=params or None)
    return dict(body(r)["data"][0]["fieldData"])


@pytest.mark.parametrize(
    ("dateformats", "due", "approved"),
    [(0, "12/31/2025", "12/01/2025 10:42:00"), (1, "12/31/2025", "12/01/2025 10:42:00"), (2, "2025-12-31", "2025-12-01T10:42:00")],
)
async def test_reads_in_each_dateformat(api: Api, dateformats: int, due: str, approved: str) -> None:
    fields = await _fields(api, dateformats=dateformats)
    assert (fields["DueDate"], fields["ApprovedAt"]) == (due, approved)


async def test_time_fields_read_as_hh_mm_ss(api: Api) -> None:
    assert (await _fields(api, 1, "Customers"))["CallAfter"] == "09:00:00"


@pytest.mark.parametrize(
    ("written", "dateformats", "read_back"),
    [
        ({"DueDate": "2/22/2027"}, 0, {"DueDate": "02/22/2027"}),
        ({"DueDate": "02/22/2027"}, 0, {"DueDate": "02/22/2027"}),
        ({"DueDate": "2027-02-22"}, 2, {"DueDate": "02/22/2027"}),
        ({"ApprovedAt": "2/22/2027 9:15:55 PM"}, 0, {"ApprovedAt": "02/22/2027 21:15:55"}),
        ({"ApprovedAt": "2/22/2027 21:15:55"}, 0, {"ApprovedAt": "02/22/2027 21:15:55"}),
        ({"ApprovedAt": "2/22/2027 12:05:00 AM"}, 1, {"ApprovedAt": "02/22/2027 00:05:00"}),
        ({"ApprovedAt": "2027-02-22T21:15:55"}, 2, {"ApprovedAt": "02/22/2027 21:15:55"}),
        ({"DueDate": ""}, 0, {"DueDate": ""}),
    ],
)
async def test_writes_in_each_dateformat(api: Api, written: dict[str, str], dateformats: int, read_back: dict[str, str]) -> None:
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": written, "dateformats": dateformats})
    assert r.status_code == 200, r.text
    fields = await _fields(api, 1)
    assert {k: fields[k] for k in read_back} == read_back


async def test_time_writes_accept_12_hour_clock(api: Api) -> None:
    r = await api.call("PATCH", "/layouts/Customers/records/1", json={"fieldData": {"CallAfter": "1:30 PM"}})
    assert r.status_code == 200
    assert (await _fields(api, 1, "Customers"))["CallAfter"] == "13:30:00"


@pytest.mark.parametrize(
    ("layout", "field_data", "expected"),
    [
        ("Invoices", {"DueDate": "2027-02-22"}, "500"),  # ISO with dateformats 0
        ("Invoices", {"DueDate": "2/30/2027"}, "500"),
        ("Invoices", {"DueDate": "2/22/27"}, "500"),  # fourDigitYear
        ("Invoices", {"ApprovedAt": "2/22/2027 25:00:00"}, "500"),
        ("Customers", {"CallAfter": "lunchtime"}, "501"),
        ("Invoices", {"Amount": "a lot"}, "502"),  # numeric validation
        ("Invoice Lines", {"Quantity": -1}, "503"),  # range
        ("Invoices", {"InvoiceNo": 1002}, "504"),  # unique
        ("Invoices", {"Status": "Paid"}, "506"),  # member of value list
        ("Invoices", {"UUID": ""}, "509"),  # not empty
        ("Invoices", {"Customer": "x" * 101}, "511"),  # maximum characters
    ],
)
async def test_validation_errors(api: Api, layout: str, field_data: dict[str, Any], expected: str) -> None:
    r = await api.call("PATCH", f"/layouts/{layout}/records/1", json={"fieldData": field_data})
    assert (r.status_code, code(r), body(r)) == (500, expected, {})
    assert (await api.call("GET", f"/layouts/{layout}/records/1")).json()["response"]["data"][0]["modId"] == "0"


async def test_entrymode_script_skips_validation_but_not_type_checks(api: Api) -> None:
    options = {"entrymode": "script"}
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Status": "Paid"}, "options": options})
    assert r.status_code == 200
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"DueDate": "2/22/27"}, "options": options})
    assert r.status_code == 200 and (await _fields(api, 1))["DueDate"] == "02/22/2027"
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"DueDate": "never"}, "options": options})
    assert code(r) == "500"
    r = await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {}, "options": {"entrymode": "bogus"}})
    assert (r.status_code, code(r)) == (400, "960")


async def test_create_validates_not_empty_after_auto_enter(api: Api) -> None:
    r = await api.call("POST", "/layouts/Invoice Lines/records", json={"fieldData": {"Description": "orphan"}})
    assert code(r) == "509"  # InvoiceUUID must not be empty
    r = await api.call(
        "POST", "/layouts/Invoice Lines/records", json={"fieldData": {"Description": "orphan"}, "options": {"entrymode": "script"}}
    )
    assert r.status_code == 200


async def test_numbers_in_text_fields_and_text_in_number_fields(api: Api) -> None:
    await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": 12.0, "Amount": "1500.5"}})
    fields = await _fields(api, 1)
    assert (fields["Notes"], fields["Amount"]) == ("12", 1500.5)


async def test_calculations_prohibited_fields_and_repetitions(tmp_path: object) -> None:
    from pathlib import Path

    import httpx

    from collab.filemaker.emulator import Emulator
    from tests.support.server import free_port, run_app

    schema = Path(str(tmp_path)) / "calc.toml"
    schema.write_text(
        '[databases.C]\naccounts = [{ name = "a", password = "b" }]\n'
        "[databases.C.tables.T]\nfields = [\n"
        '  { name = "Name" },\n'
        '  { name = "Total", result = "number", type = "calculation" },\n'
        '  { name = "Code", prohibitModify = true },\n'
        '  { name = "Tags", maxRepeat = 3 },\n'
        ']\nrecords = [{ Name = "one" }]\n'
        '[databases.C.layouts.T]\ntable = "T"\n'
    )
    emulator = Emulator(schema)
    port = free_port()
    async with run_app(emulator.app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        login = await http.post("/fmi/data/vLatest/databases/C/sessions", auth=("a", "b"), json={})
        headers = {"Authorization": f"Bearer {body(login)['token']}"}
        url = "/fmi/data/vLatest/databases/C/layouts/T/records/1"

        async def patch(field_data: dict[str, Any], **extra: Any) -> str:
            return code(await http.patch(url, headers=headers, json={"fieldData": field_data, **extra}))

        assert await patch({"Total": 5}) == "201"
        assert await patch({"Code": "X"}) == "201"
        assert await patch({"Code": "X"}, options={"prohibitmode": "script"}) == "0"
        assert await patch({"Tags(1)": "a"}) == "0"
        assert await patch({"Tags(2)": "b"}) == "111"
        meta = body(await http.get("/fmi/data/vLatest/databases/C/layouts/T", headers=headers))["fieldMetaData"]
        assert [(m["name"], m["type"], m["maxRepeat"]) for m in meta] == [
            ("Name", "normal", 1),
            ("Total", "calculation", 1),
            ("Code", "normal", 1),
            ("Tags", "normal", 3),
        ]
        fields = body(await http.get(url, headers=headers))["data"][0]["fieldData"]
        assert fields == {"Name": "one", "Total": "", "Code": "X", "Tags": "a"}
    emulator.close()
