"""``collab audit verify`` against a real SQLite store, before and after tampering."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from collab.auth.principal import Principal
from collab.cli import main
from collab.locks.cli import audit_verify
from collab.locks.machine import Request, Transition, decide
from collab.locks.sqlite_store import MIGRATIONS, SqliteLockStore
from collab.locks.state import LockState
from collab.records import RecordKey
from collab.settings import load_settings
from collab.store.sqlite import SqliteDatabase

ED = Principal(sub="ed", roles=frozenset({"editor"}), records=("*",))
ANN = Principal(sub="ann", roles=frozenset({"approver"}), records=("*",))


async def _history(path: Path) -> None:
    db = SqliteDatabase(path)
    db.register("locks", MIGRATIONS)
    async with db:
        store = SqliteLockStore(db)
        for key in ("A", "B"):
            record = RecordKey("Sales", "Invoices", key)
            for action, who, comment in (("submit", ED, ""), ("reject", ANN, "fix it"), ("reopen", ED, "")):
                req = Request(action=action, principal=who, now=10.0, comment=comment, record=record.room)  # type: ignore[arg-type]

                def step(state: LockState, req: Request = req) -> Transition:
                    return decide(state, req)

                await store.apply(record, step)


async def test_verify_passes_then_catches_tampering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(None, environ={}, overrides={"server": {"demo": True, "data_dir": str(tmp_path)}})
    await _history(settings.store_path)
    args = argparse.Namespace(record=None)
    assert audit_verify(args, settings) == 0
    out = capsys.readouterr().out
    assert "Sales/Invoices/A: 3 entries, chain verifies" in out and "2 records checked, 0 broken" in out

    with sqlite3.connect(settings.store_path) as conn:
        data = json.loads(conn.execute("SELECT data FROM lock_audit WHERE record='Sales/Invoices/B' AND seq=2").fetchone()[0])
        data["comment"] = "looks fine"
        conn.execute("UPDATE lock_audit SET data=? WHERE record='Sales/Invoices/B' AND seq=2", (json.dumps(data),))
    assert audit_verify(args, settings) == 1
    out = capsys.readouterr().out
    assert "Sales/Invoices/B: BROKEN: entry 2 was altered" in out and "Sales/Invoices/A: 3 entries" in out

    assert audit_verify(argparse.Namespace(record="Sales/Invoices/A"), settings) == 0
    with sqlite3.connect(settings.store_path) as conn:  # cut the newest entry off A's trail
        conn.execute("DELETE FROM lock_audit WHERE record='Sales/Invoices/A' AND seq=3")
    capsys.readouterr()
    assert audit_verify(argparse.Namespace(record="Sales/Invoices/A"), settings) == 1
    assert "entries removed" in capsys.readouterr().out
    with sqlite3.connect(settings.store_path) as conn:
        conn.execute("DELETE FROM lock_audit WHERE record='Sales/Invoices/A'")
    assert audit_verify(argparse.Namespace(record="Sales/Invoices/A"), settings) == 1
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert main(["audit", "verify", "--data-dir", str(tmp_path), "--record", "Sales/Invoices/A"]) == 1


def test_verify_without_a_store(tmp_path: Path) -> None:
    settings = load_settings(None, environ={}, overrides={"server": {"demo": True, "data_dir": str(tmp_path / "none")}})
    assert audit_verify(argparse.Namespace(record=None), settings) == 2
    assert not (tmp_path / "none").exists()
