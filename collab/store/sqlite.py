"""The embedded SQLite database every SQLite-backed store shares.

One writer thread owns the write connection. Jobs (plain functions of a ``sqlite3.Connection``)
queue up while a commit is in flight and go into the next transaction together: group commit,
so many small updates share one fsync. Each job runs inside its own SAVEPOINT, so a job that
raises rolls back alone and the others in the batch still commit. A job's future resolves only
after COMMIT has returned, which with ``synchronous=FULL`` means the data is on disk.

Reads use a second connection (WAL lets readers run beside the writer) in a worker thread.

Schema: each component registers its migrations (a list of SQL scripts) under its own name;
``schema_versions`` remembers how many of them ran. Migrations only ever append.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from collab.errors import StoreError

__all__ = ["SqliteDatabase"]

T = TypeVar("T")
log = logging.getLogger("collab.store")

#: A job and where its result goes: a thread-safe Future (``submit``) or an asyncio future of
#: the loop that queued it (``queue``/``write``), resolved with one hand-off per commit.
_Sink = Future[Any] | asyncio.Future[Any]
_Job = tuple[Callable[[sqlite3.Connection], Any], _Sink]
_STOP = object()


class SqliteDatabase:
    """A SQLite file in WAL mode with ``synchronous=FULL`` and group commit."""

    def __init__(self, path: str | Path, *, group_commit_ms: float = 2.0) -> None:
        self.path = Path(path)
        self.group_commit_seconds = max(0.0, group_commit_ms / 1000.0)
        self._migrations: dict[str, Sequence[str]] = {}
        self._jobs: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self.commits = 0
        self.last_commit_seconds = 0.0
        #: Called (in the writer thread) with the commit duration in seconds, for metrics.
        self.on_commit: Callable[[float, int], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def register(self, component: str, migrations: Sequence[str]) -> None:
        """Declare a component's schema. Must be called before :meth:`start`."""
        if self._writer is not None:
            raise RuntimeError("register migrations before SqliteDatabase.start()")
        self._migrations[component] = migrations

    async def start(self) -> None:
        if self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ready: Future[None] = Future()
        self._writer = threading.Thread(
            target=self._run_writer, args=(ready,), name="collab-sqlite-writer", daemon=True
        )
        self._writer.start()
        await asyncio.wrap_future(ready)
        self._reader = self._connect()

    async def stop(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        self._jobs.put(_STOP)
        await asyncio.to_thread(writer.join)
        if self._reader is not None:
            with self._read_lock:
                self._reader.close()
            self._reader = None

    async def __aenter__(self) -> SqliteDatabase:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- work ------------------------------------------------------------------------------

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a write transaction; return its result once committed to disk."""
        return await self.queue(fn)

    def queue(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue ``fn`` now (call order is commit order) and return a future of the running loop
        that resolves after the commit. The hot path: no thread-safe Future per job."""
        self._check_running()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future))
        return future

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue ``fn`` from any thread; a thread-safe Future resolves after the commit."""
        self._check_running()
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future

    def _check_running(self) -> None:
        if self._writer is None:
            raise StoreError("the store is not running (SqliteDatabase.start() was not called or it stopped)")

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` against committed data on the reader connection."""
        return await asyncio.to_thread(self.read_sync, fn)

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        reader = self._reader
        if reader is None:
            raise StoreError("the store is not running")
        with self._read_lock:
            try:
                return fn(reader)
            finally:
                if reader.in_transaction:
                    reader.rollback()

    def pragma(self, name: str) -> Any:
        """Read a PRAGMA on the reader connection (tests assert WAL and FULL)."""
        return self.read_sync(lambda conn: conn.execute(f"PRAGMA {name}").fetchone()[0])

    # -- internals -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        for component, scripts in self._migrations.items():
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
            current = row[0] if row else 0
            if current > len(scripts):
                raise StoreError(
                    f"the database at {self.path} was written by a newer collab ({component} schema "
                    f"v{current}, this one knows v{len(scripts)}); upgrade collab"
                )
            for version in range(current, len(scripts)):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(scripts[version]):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
                        "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                        (component, version + 1),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def _run_writer(self, ready: Future[None]) -> None:
        try:
            conn = self._connect()
            self._migrate(conn)
        except BaseException as exc:  # noqa: BLE001 - start-up failure is handed to start()
            ready.set_exception(StoreError(f"cannot open the store at {self.path}: {exc}"))
            return
        ready.set_result(None)
        try:
            while True:
                first = self._jobs.get()
                if first is _STOP:
                    return
                batch: list[_Job] = [first]  # type: ignore[list-item]
                stop = self._drain(batch)
                self._commit(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _drain(self, batch: list[_Job]) -> bool:
        """Take what is queued; under load, wait up to the group-commit window for more."""
        deadline = time.monotonic() + self.group_commit_seconds
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if len(batch) < 2 or remaining <= 0:
                    return False
                try:
                    item = self._jobs.get(timeout=remaining)
                except queue.Empty:
                    return False
            if item is _STOP:
                return True
            batch.append(item)  # type: ignore[arg-type]

    def _commit(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        started = time.monotonic()
        results: list[tuple[_Sink, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, sink in batch:
                if not _claim(sink):
                    continue  # cancelled before its batch began: never run
                conn.execute("SAVEPOINT job")
                try:
                    value = fn(conn)
                except Exception as exc:  # noqa: BLE001 - handed to the job's caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((sink, None, exc))
                else:
                    conn.execute("RELEASE job")
                    results.append((sink, value, None))
            conn.execute("COMMIT")
        except BaseException as exc:
            log.exception("store commit failed; nothing in this batch was acknowledged")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = StoreError(f"commit failed: {exc}")
            _deliver([(sink, None, error) for _fn, sink in batch])
            return
        elapsed = time.monotonic() - started
        self.commits += 1
        self.last_commit_seconds = elapsed
        if self.on_commit is not None:
            self.on_commit(elapsed, len(results))
        _deliver(results)


def _claim(sink: _Sink) -> bool:
    if isinstance(sink, Future):
        return sink.set_running_or_notify_cancel()
    return not sink.done()  # an asyncio future cancelled by its caller (read across threads: benign)


def _deliver(results: list[tuple[_Sink, Any, BaseException | None]]) -> None:
    """Resolve a batch: thread-safe Futures directly, asyncio futures with one hand-off per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for sink, value, error in results:
        if isinstance(sink, Future):
            if sink.done():
                continue
            if error is None:
                sink.set_result(value)
            else:
                sink.set_exception(error)
        else:
            by_loop.setdefault(sink.get_loop(), []).append((sink, value, error))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
            pass


def _resolve(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in items:
        if future.done():
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
