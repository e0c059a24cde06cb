"""A SQLite file survives restarts of the emulator process: records, modIds and the
recordId sequence stay; seed records go in only once; tokens do not survive."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from collab.errors import SettingsError
from collab.filemaker.emulator import Emulator
from tests.emulator.conftest import Api, body, code
from tests.support.server import free_port, run_app


async def test_records_survive_and_seeds_are_not_repeated(tmp_path: Path) -> None:
    path = tmp_path / "sales.sqlite"
    token = ""
    for round_ in range(2):
        emulator = Emulator(db=path)
        port = free_port()
        async with run_app(emulator.app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            api = Api(http)
            if round_ == 0:
                await api.login()
                token = api.token or ""
                created = await api.call("POST", "/layouts/Invoices/records", json={"fieldData": {"Customer": "Kept"}})
                assert body(created)["recordId"] == "13"
                await api.call("PATCH", "/layouts/Invoices/records/1", json={"fieldData": {"Notes": "kept"}})
                await api.call("DELETE", "/layouts/Invoices/records/13")
            else:
                api.token = token
                assert code(await api.call("GET", "/layouts")) == "952"  # a restart kills tokens
                await api.login()
                first = body(await api.call("GET", "/layouts/Invoices/records/1"))["data"][0]
                assert (first["modId"], first["fieldData"]["Notes"]) == ("1", "kept")
                info = body(await api.call("GET", "/layouts/Invoices/records"))["dataInfo"]
                assert info["totalRecordCount"] == 12
                again = await api.call("POST", "/layouts/Invoices/records", json={"fieldData": {}})
                assert body(again)["recordId"] == "14"  # 13 was used once, never again
        emulator.close()


async def test_layout_names_with_slashes_stay_one_path_segment(tmp_path: Path) -> None:
    schema = tmp_path / "s.toml"
    schema.write_text(
        '[databases.Ops]\naccounts = [{ name = "a", password = "b" }]\n'
        '[databases.Ops.tables.T]\nfields = [{ name = "Name" }]\nrecords = [{ Name = "one" }]\n'
        '[databases.Ops.layouts."Web/T"]\ntable = "T"\n'
    )
    emulator = Emulator(schema)
    port = free_port()
    async with run_app(emulator.app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        login = await http.post("/fmi/data/v1/databases/Ops/sessions", auth=("a", "b"), json={})
        r = await http.get(
            "/fmi/data/v1/databases/Ops/layouts/Web%2FT/records/1", headers={"Authorization": f"Bearer {body(login)['token']}"}
        )
        assert body(r)["data"][0]["fieldData"] == {"Name": "one"}


def test_schema_mistakes_are_reported_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[databases.X]\naccounts = []\n[databases.X.tables.T]\nfields = [{ name = "A" }]\n'
        '[databases.X.layouts.L]\ntable = "Nope"\n'
    )
    with pytest.raises(SettingsError) as info:
        Emulator(bad)
    assert "needs at least one account" in info.value.detail and "layout L uses unknown table 'Nope'" in info.value.detail
    with pytest.raises(SettingsError, match="does not exist"):
        Emulator(tmp_path / "missing.toml")


def test_demo_record_key_is_the_first_invoice() -> None:
    from collab.filemaker.emulator import DEMO_RECORD_UUID

    emulator = Emulator()
    assert emulator.demo_record_key() == DEMO_RECORD_UUID == "8D1F5E2A-0001-4000-8000-000000000001"
    emulator.close()


def test_seed_values_must_be_iso(tmp_path: Path) -> None:
    bad = tmp_path / "seed.toml"
    bad.write_text(
        '[databases.X]\naccounts = [{ name = "a", password = "b" }]\n'
        '[databases.X.tables.T]\nfields = [{ name = "D", result = "date" }]\nrecords = [{ D = "1/2/2026" }]\n'
        '[databases.X.layouts.T]\ntable = "T"\n'
    )
    with pytest.raises(SettingsError, match="seed record 1 of table T: D = '1/2/2026' is not a valid date"):
        Emulator(bad)
