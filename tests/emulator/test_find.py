"""Checklist item 8: ORed requests, omit, the find-mode operators, sort/offset/limit,
401 for no hits, 960 for underscored portal keys, and no global fields as criteria."""

from __future__ import annotations

import datetime as dt
from typing import Any

from collab.filemaker.emulator import Emulator
from tests.emulator.conftest import Api, body, code

# (query, InvoiceNos found), against the seed data in schemas/sales.toml.
CASES: list[tuple[list[dict[str, Any]], list[int] | str]] = [
    ([{"Customer": "northwind"}], [1001, 1007]),
    ([{"Customer": "north"}], [1001, 1007]),
    ([{"Customer": "=Northwind"}], [1001, 1007]),
    ([{"Customer": "==Northwind"}], "401"),
    ([{"Customer": "=Alder & Finch Architects"}], [1003, 1009]),
    ([{"Customer": "=Alder Finch"}], [1003, 1009]),
    ([{"Customer": "=Ald"}], "401"),
    ([{"Customer": "==Northwind Traders"}], [1001, 1007]),
    ([{"Customer": "==North*"}], [1001, 1007]),
    ([{"Customer": "Sierra*"}], [1004, 1010]),
    ([{"Customer": '"Harbor Log"'}], [1002, 1008]),
    ([{"Customer": "Copperl@ne"}], [1006, 1012]),
    ([{"Notes": "="}], [1006]),
    ([{"Notes": "*"}], [1001, 1002, 1003, 1004, 1005, 1007, 1008, 1009, 1010, 1011, 1012]),
    ([{"Amount": "640"}], [1006]),
    ([{"Amount": 640}], [1006]),
    ([{"Amount": ">10000"}], [1004, 1011]),
    ([{"Amount": ">=12040"}], [1004, 1011]),
    ([{"Amount": "<512.75"}], [1012]),
    ([{"Amount": "<=512.75"}], [1008, 1012]),
    ([{"Amount": "500...1000"}], [1003, 1006, 1008]),
    ([{"DueDate": "1/15/2026"}], [1001]),
    ([{"DueDate": "<1/1/2026"}], [1010, 1011, 1012]),
    ([{"DueDate": "2026-01-15"}], [1001]),
    ([{"DueDate": "2/1/2026...2/15/2026"}], [1005, 1006, 1007]),
    ([{"ApprovedAt": "12/1/2025"}], [1010]),
    ([{"ApprovedAt": ">=11/28/2025 16:05:30"}], [1010, 1011]),
    ([{"InvoiceNo": "100#"}], [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]),
    ([{"Customer": "!"}], [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012]),
    ([{"Status": "Approved"}, {"Status": "Rejected"}], [1010, 1011, 1012]),
    ([{"Customer": "Northwind", "Amount": ">2000"}], [1007]),
    ([{"Status": "Open"}, {"Customer": "Blue", "omit": "true"}], [1001, 1003, 1004, 1005, 1006, 1007]),
    ([{"Status": "Open", "omit": "true"}], [1009, 1010, 1011, 1012]),
    ([{"InvoiceNo": "1001"}, {"InvoiceNo": "1001"}], [1001]),
]


async def test_operators_and_requests(api: Api) -> None:
    failures = []
    for query, expected in CASES:
        r = await api.call("POST", "/layouts/Invoices/_find", json={"query": query, "limit": 50})
        got = [d["fieldData"]["InvoiceNo"] for d in body(r)["data"]] if code(r) == "0" else code(r)
        if got != expected:
            failures.append((query, expected, got))
    assert failures == []


async def test_no_hits_is_401_with_http_500(api: Api) -> None:
    r = await api.call("POST", "/layouts/Invoices/_find", json={"query": [{"Customer": "Nobody"}]})
    assert (r.status_code, r.json()) == (
        500,
        {"response": {}, "messages": [{"code": "401", "message": "No records match the request"}]},
    )


async def test_sort_offset_limit_and_counts(api: Api) -> None:
    r = await api.call(
        "POST",
        "/layouts/Invoices/_find",
        json={
            "query": [{"Status": "Open"}],
            "sort": [{"fieldName": "Amount", "sortOrder": "descend"}],
            "offset": "2",
            "limit": "3",
        },
    )
    found = body(r)
    assert [d["fieldData"]["Amount"] for d in found["data"]] == [4820.5, 3100, 2275.25]
    assert found["dataInfo"]["foundCount"] == 8 and found["dataInfo"]["returnedCount"] == 3
    assert found["dataInfo"]["totalRecordCount"] == 12


async def test_portal_keys_in_the_body_have_no_underscore(api: Api) -> None:
    ok = await api.call(
        "POST",
        "/layouts/Invoice Detail/_find",
        json={"query": [{"InvoiceNo": "1001"}], "portal": ["Lines"], "offset.Lines": "2", "limit.Lines": "1"},
    )
    assert [r["recordId"] for r in body(ok)["data"][0]["portalData"]["Lines"]] == ["2"]
    r = await api.call(
        "POST", "/layouts/Invoice Detail/_find", json={"query": [{"InvoiceNo": "1001"}], "_limit.Lines": "1"}
    )
    assert (r.status_code, r.json()) == (
        400,
        {"response": {}, "messages": [{"code": "960", "message": "Unknown parameter(s): _limit.Lines"}]},
    )


async def test_find_on_portal_fields(api: Api) -> None:
    r = await api.call("POST", "/layouts/Invoice Detail/_find", json={"query": [{"InvoiceLines::Description": "plotter"}]})
    assert [d["fieldData"]["InvoiceNo"] for d in body(r)["data"]] == [1003]


async def test_global_fields_and_bad_criteria_are_errors(api: Api) -> None:
    r = await api.call("POST", "/layouts/Invoice Detail/_find", json={"query": [{"gCompany": "x"}]})
    assert r.status_code == 500 and code(r) == "102"
    r = await api.call("POST", "/layouts/Invoices/_find", json={"query": [{"Nope": "x"}]})
    assert code(r) == "102"
    r = await api.call("POST", "/layouts/Invoices/_find", json={"query": [{"Customer": ""}]})
    assert code(r) == "400"
    r = await api.call("POST", "/layouts/Invoices/_find", json={"query": [{"DueDate": "soon"}]})
    assert code(r) == "508"
    r = await api.call("POST", "/layouts/Invoices/_find", json={"query": []})
    assert (r.status_code, code(r)) == (400, "960")


async def test_today_operator_follows_the_emulator_clock(api: Api, emulator: Emulator) -> None:
    await api.call("PATCH", "/layouts/Invoices/records/3", json={"fieldData": {"DueDate": "2/1/2040"}})
    await api.call("PATCH", "/layouts/Invoices/records/4", json={"fieldData": {"DueDate": "2/2/2040"}})
    emulator.advance_clock(dt.datetime(2040, 2, 2, 12, tzinfo=dt.UTC).timestamp() - emulator.now())
    await api.login()  # the old token expired on the way
    r = await api.call("POST", "/layouts/Invoices/_find", json={"query": [{"DueDate": "//"}]})
    assert [d["fieldData"]["InvoiceNo"] for d in body(r)["data"]] == [1004]
    r = await api.call("POST", "/layouts/Invoices/_find", json={"query": [{"DueDate": ">=//"}]})
    assert [d["fieldData"]["InvoiceNo"] for d in body(r)["data"]] == [1004]
