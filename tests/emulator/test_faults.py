"""Fault injection (502 HTML, refused, stall, fail_next, restart), the call log, the JSON
control API under /fmi/emulator/, and both mount styles."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from collab.filemaker.emulator import Emulator
from tests.emulator.conftest import Api, body, code
from tests.support.server import free_port, run_app


async def test_outage_502_is_an_html_page_not_json(api: Api, emulator: Emulator) -> None:
    emulator.set_outage("502")
    r = await api.call("GET", "/layouts/Invoices/records/1")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert b"502 Bad Gateway" in r.content
    with pytest.raises(ValueError):
        r.json()
    emulator.set_outage(None)
    assert (await api.call("GET", "/layouts/Invoices/records/1")).status_code == 200


async def test_fail_next_fails_exactly_n_calls(api: Api, emulator: Emulator) -> None:
    emulator.fail_next(2, "951")
    first = await api.call("GET", "/layouts/Invoices/records/1")
    assert (first.status_code, first.json()) == (
        500,
        {"response": {}, "messages": [{"code": "951", "message": "An unexpected error occurred (*)"}]},
    )
    assert code(await api.call("GET", "/layouts")) == "951"
    assert (await api.call("GET", "/layouts")).status_code == 200
    emulator.fail_next(1, 952, http_status=401)
    r = await api.call("GET", "/layouts")
    assert (r.status_code, code(r)) == (401, "952")


async def test_stall_delays_data_api_responses_only(api: Api, emulator: Emulator) -> None:
    emulator.stall(0.4)
    started = time.monotonic()
    assert (await api.call("GET", "/layouts")).status_code == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    assert (await api.http.get("/fmi/emulator/")).status_code == 200
    assert time.monotonic() - started < 0.4
    emulator.stall(0)


async def test_call_log_counts_logins_and_writes(api: Api, emulator: Emulator) -> None:
    mark = emulator.calls.last_seq
    await api.login()
    await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "a"}})
    await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "b"}, "modId": "0"})
    assert emulator.calls.count("login", since=mark) == 1
    edits = emulator.calls.entries(mark, "edit")
    assert [(e.method, e.status, e.code) for e in edits] == [("PATCH", 200, "0"), ("PATCH", 500, "306")]
    assert edits[0].path == "/fmi/data/vLatest/databases/Sales/layouts/Invoices/records/1"
    logged = (await api.http.get("/fmi/emulator/calls", params={"since": mark, "action": "login"})).json()
    assert [c["action"] for c in logged["calls"]] == ["login"] and logged["last"] == emulator.calls.last_seq


async def test_the_call_log_never_holds_a_token(api: Api, emulator: Emulator) -> None:
    token = api.token or ""
    await api.http.delete(f"/fmi/data/vLatest/databases/Sales/sessions/{token}")
    entries = emulator.calls.entries(0)
    assert entries[-1].action == "logout" and entries[-1].path.endswith("/sessions/<token>")
    assert token not in (await api.http.get("/fmi/emulator/calls")).text


async def _control(http: httpx.AsyncClient, method: str, path: str, json: Any = None) -> Any:
    r = await http.request(method, f"/fmi/emulator/{path}", json=json)
    assert r.status_code == 200, r.text
    return r.json()


async def test_control_api_drives_the_filemaker_user_and_faults(api: Api, emulator: Emulator) -> None:
    http = api.http
    state = await _control(http, "GET", "")
    assert state["databases"] == ["Sales"] and state["sessions"] == 1
    lock = await _control(http, "PUT", "databases/Sales/layouts/Invoices/records/1/lock", {"holder": "Sam"})
    assert lock == {"locked": True, "holder": "Sam"}
    assert (await _control(http, "GET", "locks"))["locks"] == [
        {"database": "Sales", "table": "Invoices", "recordId": "1", "holder": "Sam"}
    ]
    assert code(await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "x"}})) == "301"
    assert (await _control(http, "DELETE", "databases/Sales/layouts/Invoices/records/1/lock"))["released"] is True
    edit = await _control(http, "PATCH", "databases/Sales/layouts/Invoices/records/1", {"fieldData": {"Notes": "FM"}})
    assert edit == {"modId": "1"}
    raw = await _control(http, "GET", "databases/Sales/layouts/Invoices/records/1")
    assert raw["fieldData"]["Notes"] == "FM" and raw["fieldData"]["DueDate"] == "2026-01-15"
    await _control(http, "POST", "clock", {"advance": 901})
    assert code(await api.call("GET", "/layouts")) == "952"
    await api.login()
    assert (await _control(http, "DELETE", "sessions")) == {"killed": 1}
    await api.login()
    await _control(http, "POST", "restart")
    assert code(await api.call("GET", "/layouts")) == "952"
    await api.login()
    faults = await _control(http, "POST", "fail-next", {"count": 1, "code": "802"})
    assert faults["failNext"] == {"count": 1, "code": "802", "httpStatus": 500}
    assert code(await api.call("GET", "/layouts")) == "802"
    await _control(http, "PUT", "outage", {"mode": "502"})
    assert (await api.call("GET", "/layouts")).status_code == 502
    await _control(http, "PUT", "stall", {"seconds": 0.05})
    cleared = await _control(http, "DELETE", "faults")
    assert cleared["outage"] is None and cleared["stallSeconds"] == 0
    assert (await api.call("GET", "/layouts")).status_code == 200


async def test_control_api_rejects_bad_input_clearly(http: httpx.AsyncClient) -> None:
    r = await http.put("/fmi/emulator/outage", json={"mode": "down"})
    assert r.status_code == 400 and "mode" in r.json()["error"]
    r = await http.post("/fmi/emulator/clock", json={"advance": -5})
    assert r.status_code == 400
    r = await http.put("/fmi/emulator/databases/Sales/layouts/Invoices/records/999/lock", json={})
    assert (r.status_code, r.json()["code"]) == (404, "101")
    r = await http.get("/fmi/emulator/nothing")
    assert r.status_code == 404 and "no control route" in r.json()["error"]
    r = await http.post("/fmi/emulator/clock", content=b"[1]")
    assert r.status_code == 400


async def test_refused_resets_data_connections_but_not_the_control_api() -> None:
    emulator = Emulator()
    async with emulator.serve() as front, httpx.AsyncClient(base_url=f"http://127.0.0.1:{front.port}") as http:
        assert (await http.get("/fmi/data/vLatest/productInfo")).status_code == 200
        await _control(http, "PUT", "outage", {"mode": "refused"})
        with pytest.raises(httpx.TransportError):
            await http.get("/fmi/data/vLatest/productInfo")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{front.port}") as fresh:
            with pytest.raises(httpx.TransportError):
                await fresh.post("/fmi/data/vLatest/databases/Sales/sessions", auth=("admin", "admin"), json={})
        await _control(http, "PUT", "outage", {"mode": None})
        # A new connection, as a client that saw its connections reset would open.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{front.port}") as after:
            r = await after.post("/fmi/data/vLatest/databases/Sales/sessions", auth=("admin", "admin"), json={})
        assert r.status_code == 200 and emulator.calls.count("login") == 1
    emulator.close()


async def test_hard_refused_closes_the_port_until_the_outage_ends() -> None:
    emulator = Emulator()
    async with emulator.serve() as front:
        url = f"http://127.0.0.1:{front.port}"
        async with httpx.AsyncClient(base_url=url) as http:
            r = await http.put("/fmi/emulator/outage", json={"mode": "refused", "hard": True, "seconds": 0.5})
            assert r.json()["outageHard"] is True
        async with httpx.AsyncClient(base_url=url) as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get("/fmi/data/vLatest/productInfo")
            with pytest.raises(httpx.ConnectError):
                await fresh.get("/fmi/emulator/")
            deadline = time.monotonic() + 10
            while True:  # retried condition: the front listens again once the 0.5 s are over
                try:
                    r = await fresh.get("/fmi/data/vLatest/productInfo")
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "the port never opened again"
                    await asyncio.sleep(0.05)
            assert r.status_code == 200 and emulator.faults.current_outage() is None
        emulator.set_outage("refused", hard=True)
        async with httpx.AsyncClient(base_url=url) as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get("/fmi/data/vLatest/productInfo")
            emulator.set_outage(None)
            deadline = time.monotonic() + 10
            while True:
                try:
                    assert (await fresh.get("/fmi/data/vLatest/productInfo")).status_code == 200
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "the port never opened again"
                    await asyncio.sleep(0.05)
    emulator.close()


async def test_timed_outage_ends_by_itself(api: Api, emulator: Emulator) -> None:
    emulator.set_outage("502", seconds=0.2)
    assert (await api.call("GET", "/layouts")).status_code == 502
    deadline = time.monotonic() + 10
    while (await api.call("GET", "/layouts")).status_code == 502:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    r = await api.http.put("/fmi/emulator/outage", json={"mode": "502", "hard": True, "seconds": 1})
    assert r.status_code == 400 and "hard" in r.json()["error"]


def _stripping(app: Any, *, root_path: bool) -> Any:
    """A host that mounts the emulator at /fmi and hands it the rest of the path."""

    async def host(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = dict(scope, path=scope["path"][len("/fmi") :])
            scope.pop("raw_path", None)
            if root_path:
                scope["root_path"] = "/fmi"
        await app(scope, receive, send)

    return host


@pytest.mark.parametrize("root_path", [True, False])
async def test_mounted_at_fmi_with_the_prefix_stripped(root_path: bool) -> None:
    emulator = Emulator()
    port = free_port()
    async with run_app(_stripping(emulator.app, root_path=root_path), "127.0.0.1", port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            api = Api(http)
            await api.login()
            r = await api.call("GET", "/layouts/Invoices/records/1")
            assert body(r)["data"][0]["recordId"] == "1"
            assert (await http.get("/fmi/emulator/")).status_code == 200
    emulator.close()
