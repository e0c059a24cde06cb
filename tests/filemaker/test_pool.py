"""FileMakerPool: one client per database, cached field types, readiness, logout on close."""

from __future__ import annotations

import asyncio

from collab.filemaker.pool import FileMakerPool
from collab.metrics import Metrics
from collab.settings import FileMakerSettings
from tests.filemaker.conftest import Target
from tests.support.server import free_port


def _settings(target: Target, **changes: object) -> FileMakerSettings:
    values: dict[str, object] = {
        "url": target.url,
        "database": target.database,
        "username": target.username,
        "password": target.password,
        "timeout_seconds": 2.0,
    }
    values.update(changes)
    return FileMakerSettings(**values)  # type: ignore[arg-type]


async def test_one_client_and_one_login_per_database(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    metrics = Metrics()
    pool = FileMakerPool(_settings(emulator_target), metrics=metrics)
    try:
        assert pool.client() is pool.client("Sales")
        await asyncio.gather(*(pool.client("Sales").layouts() for _ in range(5)))
        assert emulator.calls.count("login") == 1
        assert metrics.fm_logins._value.get() == 1
        assert metrics.fm_requests.labels("ok")._value.get() >= 6
    finally:
        await pool.aclose()
    assert emulator.calls.count("logout") == 1


async def test_field_types_are_cached(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    pool = FileMakerPool(_settings(emulator_target))
    try:
        first, second = await asyncio.gather(
            pool.field_types("Sales", "Invoices"), pool.field_types("Sales", "Invoices")
        )
        assert first == second and first["DueDate"] == "date" and first["Amount"] == "number"
        await pool.field_types("Sales", "Invoices")
        assert emulator.calls.count("metadata") == 1
        pool.forget_layout("Sales", "Invoices")
        await pool.field_types("Sales", "Invoices")
        assert emulator.calls.count("metadata") == 2
    finally:
        await pool.aclose()


async def test_check_is_none_when_filemaker_answers(emulator_target: Target) -> None:
    pool = FileMakerPool(_settings(emulator_target))
    try:
        assert await pool.check() is None
    finally:
        await pool.aclose()


async def test_check_explains_an_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    pool = FileMakerPool(FileMakerSettings(url=url, username="admin", password="admin"))
    try:
        reason = await pool.check()
        assert reason is not None and "cannot reach FileMaker Server" in reason and url in reason
    finally:
        await pool.aclose()


async def test_check_explains_a_refused_account(emulator_target: Target) -> None:
    pool = FileMakerPool(_settings(emulator_target, password="wrong"))
    try:
        reason = await pool.check()
        assert reason is not None and "refused the account" in reason
    finally:
        await pool.aclose()


async def test_check_explains_a_missing_url() -> None:
    pool = FileMakerPool(FileMakerSettings(url=""))
    reason = await pool.check()
    assert reason is not None and "COLLAB_FM_URL" in reason
    await pool.aclose()
