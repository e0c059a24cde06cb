"""``collab audit verify``: check every record's audit hash chain in the store, read-only."""

from __future__ import annotations

import argparse
import sqlite3

from collab.locks.audit import verify_chain
from collab.locks.sqlite_store import read_all_entries, read_all_states
from collab.records import RecordKey
from collab.settings import Settings

__all__ = ["audit_verify"]


def audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """0 when every chain verifies, 1 when one is broken, 2 when there is nothing to read."""
    path = settings.store_path
    if not path.exists():
        print(f"collab: no store at {path} (set --data-dir or COLLAB_DATA_DIR)")
        return 2
    record: str | None = None
    if getattr(args, "record", None):
        try:
            record = RecordKey.parse(args.record).room
        except ValueError as exc:
            print(f"collab: {exc}")
            return 2
    # Read-only: verifying must never change (or create) what it checks, even beside a running hub.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            trails = read_all_entries(conn, record)
            states = read_all_states(conn)
        except sqlite3.OperationalError:
            print(f"no audit trail in {path} yet (no lock or approval action has happened)")
            return 0
    finally:
        conn.close()
    # A record whose state names entries that are all gone still gets checked (and fails).
    for name, state in states.items():
        if state.seq and name not in trails and record in (None, name):
            trails[name] = []
    if not trails:
        print(f"{record or 'the store'}: no audit entries")
        return 0
    broken = 0
    for name, entries in sorted(trails.items()):
        ok, problem = verify_chain(entries, states.get(name))
        if ok:
            print(f"{name}: {len(entries)} entries, chain verifies (last epoch {entries[-1].epoch if entries else 0})")
        else:
            broken += 1
            print(f"{name}: BROKEN: {problem}")
    print(f"{len(trails)} records checked, {broken} broken")
    return 1 if broken else 0
