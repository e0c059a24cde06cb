"""Checklist item 12: productInfo, databases, layouts and scripts with folders, and layout
metadata with fieldMetaData exactly as reference section 1.1 lists it."""

from __future__ import annotations

import httpx

from tests.emulator.conftest import Api, body, code

FIELD_KEYS = [
    "name", "type", "displayType", "result", "global", "autoEnter", "fourDigitYear", "maxRepeat",
    "maxCharacters", "notEmpty", "numeric", "timeOfDay", "repetitionStart", "repetitionEnd",
]  # fmt: skip


async def test_product_info_needs_no_auth_and_has_the_formats(http: httpx.AsyncClient) -> None:
    r = await http.get("/fmi/data/vLatest/productInfo")
    info = body(r)["productInfo"]
    assert info["name"] == "FileMaker Data API Engine"
    assert (info["dateFormat"], info["timeFormat"], info["timeStampFormat"]) == (
        "MM/dd/yyyy",
        "HH:mm:ss",
        "MM/dd/yyyy HH:mm:ss",
    )
    assert {"buildDate", "version"} <= set(info)


async def test_databases_listing(http: httpx.AsyncClient) -> None:
    r = await http.get("/fmi/data/v1/databases")
    assert body(r) == {"databases": [{"name": "Sales"}]}


async def test_layouts_with_folders(api: Api) -> None:
    r = await api.call("GET", "/layouts")
    assert body(r)["layouts"] == [
        {"name": "Invoices", "table": "Invoices"},
        {"name": "Invoice Detail", "table": "Invoices"},
        {
            "name": "Lookups",
            "isFolder": True,
            "folderLayoutNames": [
                {"name": "Customers", "table": "Customers"},
                {"name": "Invoice Lines", "table": "InvoiceLines"},
                {"name": "Invoice Summary", "table": "Invoices"},
            ],
        },
    ]


async def test_scripts_with_folders(api: Api) -> None:
    scripts = body(await api.call("GET", "/scripts"))["scripts"]
    assert scripts[0] == {"name": "Echo", "isFolder": False}
    testing = next(s for s in scripts if s["name"] == "Testing")
    assert testing["isFolder"] is True
    assert [s["name"] for s in testing["folderScriptNames"]] == ["Found Set", "Stage", "Fail"]


async def test_layout_metadata(api: Api) -> None:
    meta = body(await api.call("GET", "/layouts/Invoice Detail"))
    fields = {f["name"]: f for f in meta["fieldMetaData"]}
    assert list(fields) == ["UUID", "InvoiceNo", "Customer", "Amount", "DueDate", "Status", "Attachment", "gCompany"]
    for entry in meta["fieldMetaData"]:
        assert [k for k in entry if k != "valueList"] == FIELD_KEYS
    assert fields["UUID"]["autoEnter"] is True and fields["UUID"]["notEmpty"] is True
    assert fields["Amount"]["result"] == "number" and fields["Amount"]["numeric"] is True
    assert fields["DueDate"]["displayType"] == "calendar" and fields["DueDate"]["fourDigitYear"] is True
    assert fields["Status"]["valueList"] == "Statuses" and fields["Status"]["displayType"] == "popupList"
    assert fields["Attachment"]["result"] == "container" and fields["gCompany"]["global"] is True
    assert fields["Customer"]["maxCharacters"] == 100
    assert fields["UUID"]["maxRepeat"] == 1 and fields["UUID"]["repetitionStart"] == 1
    assert [f["name"] for f in meta["portalMetaData"]["Lines"]] == [
        "InvoiceLines::Description",
        "InvoiceLines::Quantity",
        "InvoiceLines::UnitPrice",
    ]
    lists = {v["name"]: v for v in meta["valueLists"]}
    assert lists["Statuses"]["type"] == "customList"
    assert [v["value"] for v in lists["Statuses"]["values"]] == ["Open", "Submitted", "Approved", "Rejected"]
    assert lists["Customers"]["type"] == "byField" and {"value": "Northwind Traders", "displayValue": "Northwind Traders"} in lists["Customers"]["values"]


async def test_metadata_errors(api: Api) -> None:
    assert code(await api.call("GET", "/layouts/Nope")) == "105"
    assert code(await api.call("GET", "/layouts/Invoices", params={"bogus": 1})) == "960"
    assert (await api.call("GET", "/layouts/Invoices", params={"recordId": 1})).status_code == 200
