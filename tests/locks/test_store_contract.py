"""One contract, both LockStores: atomic apply, audit rows with their state, survives restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collab.auth.principal import Principal
from collab.errors import Conflict
from collab.locks.audit import verify_chain
from collab.locks.machine import Request, Transition, decide
from collab.locks.sqlite_store import MIGRATIONS, SqliteLockStore
from collab.locks.state import LockState
from collab.locks.store import LockStore, MemoryLockStore
from collab.records import RecordKey
from collab.store.sqlite import SqliteDatabase

R1 = RecordKey("Sales", "Invoices", "K-1")
R2 = RecordKey("Sales", "Invoices", "K/2 ü")
ED = Principal(sub="ed", roles=frozenset({"editor"}), records=("*",))
EVE = Principal(sub="eve", roles=frozenset({"editor"}), records=("*",))


def step(action: str, who: Principal, now: float = 100.0, **extra: object):  # type: ignore[no-untyped-def]
    def run(state: LockState) -> Transition:
        return decide(state, Request(action=action, principal=who, now=now, lease_ttl=60, **extra))  # type: ignore[arg-type]

    return run


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LockStore]:
    if request.param == "memory":
        yield MemoryLockStore()
        return
    db = SqliteDatabase(tmp_path / "locks.db")
    db.register("locks", MIGRATIONS)
    async with db:
        yield SqliteLockStore(db)


async def test_default_is_open_at_epoch_zero(store: LockStore) -> None:
    assert store.peek(R1) == LockState() and await store.get(R1) == LockState()
    assert await store.entries(R1) == [] and await store.states() == []


async def test_apply_commits_state_and_entry_together(store: LockStore) -> None:
    await store.apply(R1, step("submit", ED, record=R1.room))
    await store.apply(R2, step("lease", EVE, record=R2.room))
    assert (await store.get(R1)).state == "submitted" and store.peek(R1).epoch == 1
    entries = await store.entries(R1)
    assert [e.action for e in entries] == ["submit"] and verify_chain(entries)[0]
    assert [r for r, _ in await store.states("submitted")] == [R1]
    assert sorted(r for r, _ in await store.states()) == sorted([R1, R2])


async def test_a_refused_step_changes_nothing(store: LockStore) -> None:
    await store.apply(R1, step("lease", ED))
    with pytest.raises(Conflict):
        await store.apply(R1, step("lease", EVE))
    assert store.peek(R1).lease_holder == "ed" and len(await store.entries(R1)) == 1


async def test_renewal_writes_state_without_an_entry(store: LockStore) -> None:
    await store.apply(R1, step("lease", ED, now=100))
    await store.apply(R1, step("renew", ED, now=130))
    assert store.peek(R1).lease_expires_at == 190 and len(await store.entries(R1)) == 1


async def test_concurrent_grants_have_one_winner(store: LockStore) -> None:
    people = [Principal(sub=f"u{i}", roles=frozenset({"editor"}), records=("*",)) for i in range(20)]
    results = await asyncio.gather(*(store.apply(R1, step("lease", p)) for p in people), return_exceptions=True)
    winners = [r for r in results if isinstance(r, Transition)]
    assert len(winners) == 1 and all(isinstance(r, Conflict) for r in results if r not in winners)
    assert store.peek(R1).epoch == 1


async def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    for attempt in range(2):
        db = SqliteDatabase(tmp_path / "locks.db")
        db.register("locks", MIGRATIONS)
        async with db:
            store = SqliteLockStore(db)
            if attempt == 0:
                await store.apply(R2, step("submit", ED, record=R2.room))
                await store.apply(R2, step("withdraw", ED, record=R2.room))
            else:
                state = await store.get(R2)
                assert state.state == "open" and state.epoch == 2
                entries = await store.entries(R2)
                assert [e.action for e in entries] == ["submit", "withdraw"]
                assert verify_chain(entries) == (True, "")
