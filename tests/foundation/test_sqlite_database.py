"""The shared SQLite database: durability settings, group commit, per-job isolation, migrations."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from collab.errors import StoreError
from collab.store.sqlite import SqliteDatabase

MIGRATIONS = ["CREATE TABLE items (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE)"]


async def test_pragmas_read_back_wal_full_and_foreign_keys(tmp_path: Path) -> None:
    async with SqliteDatabase(tmp_path / "c.db") as db:
        assert db.pragma("journal_mode") == "wal"
        assert db.pragma("synchronous") == 2  # FULL
        assert db.pragma("foreign_keys") == 1


async def test_concurrent_writes_share_commits_and_all_land(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db", group_commit_ms=5)
    db.register("test", MIGRATIONS)
    async with db:

        def insert(value: str):  # type: ignore[no-untyped-def]
            return lambda conn: conn.execute("INSERT INTO items(value) VALUES (?)", (value,)).lastrowid

        ids = await asyncio.gather(*(db.write(insert(f"v{i}")) for i in range(200)))
        assert len(set(ids)) == 200
        assert db.commits < 200  # group commit batched them
        count = await db.read(lambda conn: conn.execute("SELECT count(*) FROM items").fetchone()[0])
        assert count == 200


async def test_a_failing_job_rolls_back_alone(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db", group_commit_ms=20)
    db.register("test", MIGRATIONS)
    async with db:
        ok1 = db.submit(lambda conn: conn.execute("INSERT INTO items(value) VALUES ('a')"))
        bad = db.submit(
            lambda conn: conn.execute("INSERT INTO items(value) VALUES ('a')")
        )  # UNIQUE violation
        ok2 = db.submit(lambda conn: conn.execute("INSERT INTO items(value) VALUES ('b')"))
        await asyncio.wrap_future(ok1)
        await asyncio.wrap_future(ok2)
        with pytest.raises(sqlite3.IntegrityError):
            await asyncio.wrap_future(bad)
        values = await db.read(
            lambda conn: [r[0] for r in conn.execute("SELECT value FROM items ORDER BY value")]
        )
        assert values == ["a", "b"]


async def test_committed_data_survives_reopen_and_migrations_run_once(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    for round_ in range(2):
        db = SqliteDatabase(path)
        db.register("test", MIGRATIONS)
        async with db:
            await db.write(
                lambda conn, r=round_: conn.execute("INSERT INTO items(value) VALUES (?)", (f"r{r}",))
            )
    db = SqliteDatabase(path)
    db.register("test", MIGRATIONS)
    async with db:
        assert await db.read(lambda conn: conn.execute("SELECT count(*) FROM items").fetchone()[0]) == 2
        version = await db.read(
            lambda conn: conn.execute("SELECT version FROM schema_versions").fetchone()[0]
        )
        assert version == 1


async def test_newer_schema_is_refused_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = SqliteDatabase(path)
    db.register("test", [*MIGRATIONS, "CREATE TABLE more (x)"])
    async with db:
        pass
    older = SqliteDatabase(path)
    older.register("test", MIGRATIONS)
    with pytest.raises(StoreError, match="newer collab"):
        await older.start()


async def test_write_before_start_is_a_clear_error(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db")
    with pytest.raises(StoreError, match="not running"):
        await db.write(lambda conn: None)
