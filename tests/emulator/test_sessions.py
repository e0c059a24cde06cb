"""Checklist items 1-4: routes, login, tokens (idle expiry on the emulator clock), envelopes."""

from __future__ import annotations

import httpx
import pytest

from collab.filemaker.emulator import Emulator
from tests.emulator.conftest import Api, body, code

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("payload", [None, b"{}", b'{"fmDataSource":[{"database":"Other","username":"u","password":"p"}]}'])
async def test_login_accepts_empty_object_and_data_sources(http: httpx.AsyncClient, payload: bytes | None) -> None:
    r = await http.post(
        "/fmi/data/vLatest/databases/Sales/sessions",
        auth=("admin", "admin"),
        content=payload or b"",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200
    token = body(r)["token"]
    assert len(token) >= 32 and r.headers["X-FM-Data-Access-Token"] == token
    assert r.json()["messages"] == [{"code": "0", "message": "OK"}]


async def test_tokens_are_random_and_account_names_case_insensitive(api: Api) -> None:
    first = api.token
    assert await api.login("ADMIN", "admin") != first


@pytest.mark.parametrize("auth", [("admin", "wrong"), ("nobody", "admin"), ("admin", "ADMIN")])
async def test_bad_credentials_are_212_with_http_401(http: httpx.AsyncClient, auth: tuple[str, str]) -> None:
    r = await http.post("/fmi/data/vLatest/databases/Sales/sessions", auth=auth, json={})
    assert (r.status_code, code(r), body(r)) == (401, "212", {})


async def test_login_without_basic_auth_is_212(http: httpx.AsyncClient) -> None:
    r = await http.post("/fmi/data/vLatest/databases/Sales/sessions", json={})
    assert (r.status_code, code(r)) == (401, "212")


async def test_unknown_database_is_802(http: httpx.AsyncClient) -> None:
    r = await http.post("/fmi/data/vLatest/databases/Nope/sessions", auth=("admin", "admin"), json={})
    assert (r.status_code, code(r)) == (500, "802")


async def test_login_without_json_content_type_is_415(http: httpx.AsyncClient) -> None:
    r = await http.post("/fmi/data/vLatest/databases/Sales/sessions", auth=("admin", "admin"), content=b"{}")
    assert r.status_code == 415
    assert body(r) == {}


async def test_415_strictness_can_be_turned_off() -> None:
    from tests.support.server import free_port, run_app

    emu = Emulator(strict_content_type=False)
    port = free_port()
    async with run_app(emu.app, "127.0.0.1", port), httpx.AsyncClient() as http:
        r = await http.post(
            f"http://127.0.0.1:{port}/fmi/data/v1/databases/Sales/sessions", auth=("admin", "admin"), content=b"{}"
        )
    assert r.status_code == 200


@pytest.mark.parametrize("version", ["v1", "v2", "vLatest"])
async def test_every_version_serves_the_routes(api: Api, version: str) -> None:
    r = await api.call("GET", "/layouts/Invoices/records/1", version=version)
    assert r.status_code == 200 and body(r)["data"][0]["recordId"] == "1"
    r = await api.http.get(f"/fmi/data/{version}/productInfo")
    assert r.status_code == 200


async def test_unknown_paths_are_404_and_wrong_methods_405(api: Api) -> None:
    assert (await api.http.get("/fmi/data/v3/productInfo")).status_code == 404
    assert (await api.call("GET", "/layouts/Invoices/nothing")).status_code == 404
    assert (await api.http.get("/fmi/admin/api/v2/user/auth")).status_code == 404
    r = await api.call("PUT", "/layouts/Invoices/records/1", json={})
    assert r.status_code == 405 and body(r) == {}


async def test_missing_or_unknown_token_is_952_http_401(api: Api) -> None:
    r = await api.call("GET", "/layouts/Invoices/records/1", headers={"Authorization": "Bearer nonsense"})
    assert (r.status_code, r.json()) == (
        401,
        {"response": {}, "messages": [{"code": "952", "message": "Invalid FileMaker Data API token (*)"}]},
    )
    r = await api.http.get("/fmi/data/vLatest/databases/Sales/layouts/Invoices/records/1")
    assert (r.status_code, code(r)) == (401, "952")


async def test_token_is_bound_to_the_database_name_case_sensitively(api: Api) -> None:
    r = await api.http.get(
        "/fmi/data/vLatest/databases/sales/layouts", headers={"Authorization": f"Bearer {api.token}"}
    )
    assert (r.status_code, code(r)) == (401, "952")


async def test_token_expires_after_15_idle_minutes_and_each_use_resets(api: Api, emulator: Emulator) -> None:
    emulator.advance_clock(14 * 60 + 59)
    assert (await api.call("GET", "/layouts")).status_code == 200  # resets the timer
    emulator.advance_clock(14 * 60 + 59)
    assert (await api.call("GET", "/layouts")).status_code == 200
    emulator.advance_clock(15 * 60)
    r = await api.call("GET", "/layouts")
    assert (r.status_code, code(r)) == (401, "952")


async def test_logout_needs_no_bearer_and_kills_the_token(api: Api) -> None:
    token = api.token
    r = await api.http.delete(f"/fmi/data/vLatest/databases/Sales/sessions/{token}")
    assert (r.status_code, r.json()) == (200, {"response": {}, "messages": [{"code": "0", "message": "OK"}]})
    assert code(await api.call("GET", "/layouts")) == "952"
    r = await api.http.delete(f"/fmi/data/vLatest/databases/Sales/sessions/{token}")
    assert (r.status_code, code(r)) == (401, "952")


async def test_restart_and_kill_tokens_end_every_session(api: Api, emulator: Emulator) -> None:
    other = Api(api.http)
    await other.login()
    emulator.restart()
    assert code(await api.call("GET", "/layouts")) == "952"
    assert code(await other.call("GET", "/layouts")) == "952"
    await api.login()
    assert emulator.kill_tokens() == 1
    assert code(await api.call("GET", "/layouts")) == "952"


async def test_session_cap_gives_956() -> None:
    from tests.support.server import free_port, run_app

    emu = Emulator(max_sessions=2)
    port = free_port()
    async with run_app(emu.app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        api = Api(http)
        await api.login()
        await api.login()
        r = await http.post(api.url("/sessions"), auth=("admin", "admin"), json={})
        assert (r.status_code, code(r)) == (500, "956")
        await http.delete(api.url(f"/sessions/{api.token}"))
        await api.login()


async def test_malformed_json_body_is_a_400_with_an_envelope(api: Api) -> None:
    r = await api.call(
        "POST", "/layouts/Invoices/_find", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and code(r) == "1710" and body(r) == {}


async def test_an_injected_clock_drives_expiry() -> None:
    from tests.support.server import free_port, run_app

    now = [1_900_000_000.0]
    emu = Emulator(clock=lambda: now[0])
    port = free_port()
    async with run_app(emu.app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        api = Api(http)
        await api.login()
        now[0] += 899
        assert (await api.call("GET", "/layouts")).status_code == 200
        now[0] += 900
        assert code(await api.call("GET", "/layouts")) == "952"
        assert emu.calls.entries()[-1].time == now[0]


async def test_filtered_database_listing_needs_basic_auth() -> None:
    from tests.support.server import free_port, run_app

    emu = Emulator(filter_databases=True)
    port = free_port()
    async with run_app(emu.app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        r = await http.get("/fmi/data/vLatest/databases")
        assert (r.status_code, code(r)) == (401, "212")
        r = await http.get("/fmi/data/vLatest/databases", auth=("web", "web-secret"))
        assert body(r) == {"databases": [{"name": "Sales"}]}
