"""Checklist item 11: scripts as Python callables, run prerequest -> action -> presort ->
sort -> script, reporting string scriptResult/scriptError, code 0 even when they fail."""

from __future__ import annotations

from collab.filemaker.emulator import Emulator, ScriptCall, ScriptError
from tests.emulator.conftest import Api, body, code


async def test_attached_scripts_run_in_the_documented_order(api: Api, emulator: Emulator) -> None:
    seen: list[tuple[str, str, list[int]]] = []

    def record(call: ScriptCall) -> str:
        seen.append((call.stage, call.param, list(call.found)))
        return f"{call.stage}:{call.emulator.record_count(call.database, call.layout)}"

    emulator.register_script("Sales", "Record", record)
    r = await api.call(
        "POST",
        "/layouts/Invoices/_find",
        json={
            "query": [{"Customer": "Northwind"}, {"Customer": "Blue"}],
            "sort": [{"fieldName": "Amount", "sortOrder": "descend"}],
            "limit": 2,
            "script.prerequest": "Record",
            "script.prerequest.param": "a",
            "script.presort": "Record",
            "script.presort.param": "b",
            "script": "Record",
            "script.param": "c",
        },
    )
    assert r.status_code == 200 and code(r) == "0"
    assert seen == [("prerequest", "a", []), ("presort", "b", [1, 2, 7, 8]), ("script", "c", [2, 7, 1, 8])]
    response = body(r)
    assert list(response)[:6] == [
        "scriptResult.prerequest",
        "scriptError.prerequest",
        "scriptResult.presort",
        "scriptError.presort",
        "scriptResult",
        "scriptError",
    ]
    assert response["scriptError"] == "0" and response["scriptResult"] == "script:12"
    assert [d["recordId"] for d in response["data"]] == ["2", "7"]  # offset/limit after the script


async def test_prerequest_runs_before_and_script_after_the_action(api: Api) -> None:
    r = await api.call(
        "POST",
        "/layouts/Invoices/records",
        json={"fieldData": {}, "script.prerequest": "Count Records", "script": "Count Records"},
    )
    assert body(r) == {
        "recordId": "13",
        "modId": "0",
        "scriptResult.prerequest": "12",
        "scriptError.prerequest": "0",
        "scriptResult": "1",
        "scriptError": "0",
    }


async def test_scripts_on_get_and_delete_come_from_the_query_string(api: Api) -> None:
    r = await api.call("GET", "/layouts/Invoices/records", params={"script": "Echo", "script.param": "hello", "_limit": 1})
    assert body(r)["scriptResult"] == "hello"
    r = await api.call("DELETE", "/layouts/Invoices/records/12", params={"script.presort": "Stage"})
    assert body(r) == {"scriptResult.presort": "presort", "scriptError.presort": "0"}


async def test_failing_and_missing_scripts_report_script_errors_with_code_0(api: Api, emulator: Emulator) -> None:
    def boom(call: ScriptCall) -> None:
        raise ScriptError(101, "no such record")

    emulator.register_script("Sales", "Boom", boom)
    r = await api.call("GET", "/layouts/Invoices/script/Fail", params={"script.param": "3"})
    assert (r.status_code, r.json()) == (200, {"response": {"scriptError": "3"}, "messages": [{"code": "0", "message": "OK"}]})
    r = await api.call("GET", "/layouts/Invoices/script/Boom")
    assert body(r) == {"scriptResult": "no such record", "scriptError": "101"}
    r = await api.call("GET", "/layouts/Invoices/script/Nope")
    assert (code(r), body(r)) == ("0", {"scriptError": "104"})
    r = await api.call("GET", "/layouts/Invoices/records/1", params={"script": "Nope"})
    assert body(r)["scriptError"] == "104" and body(r)["data"][0]["recordId"] == "1"


async def test_run_script_route_with_and_without_result(api: Api, emulator: Emulator) -> None:
    async def quiet(call: ScriptCall) -> None:
        return None

    emulator.register_script("Sales", "Quiet", quiet, folder="Testing")
    assert body(await api.call("GET", "/layouts/Invoices/script/Echo", params={"script.param": "ä ö"})) == {
        "scriptResult": "ä ö",
        "scriptError": "0",
    }
    assert body(await api.call("GET", "/layouts/Invoices/script/Quiet")) == {"scriptError": "0"}
    assert code(await api.call("GET", "/layouts/Missing/script/Echo")) == "105"


async def test_each_script_keyword_may_appear_only_once(api: Api) -> None:
    r = await api.http.get(
        api.url("/layouts/Invoices/records/1") + "?script=Echo&script=Stage",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert (r.status_code, code(r)) == (400, "960")
