"""``Emulator``: the FileMaker Data API emulator as one object.

``.app`` is the ASGI callable (every route under /fmi/); the methods are the simulated
FileMaker Pro user and the fault injection, the same operations the control API offers
under /fmi/emulator/. Time is the wall clock plus whatever ``advance_clock`` added.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collab.errors import SettingsError
from collab.filemaker.emulator.asgi import Receive, Scope, Send, fm_error, read_request, send_response
from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.control import control_call
from collab.filemaker.emulator.dispatch import data_call
from collab.filemaker.emulator.faults import CallLog, Faults, Outage
from collab.filemaker.emulator.model import resolve_layout
from collab.filemaker.emulator.schema import Database, TableDef, TreeFolder, load_schema
from collab.filemaker.emulator.scripts import ScriptFn, resolve_builtin
from collab.filemaker.emulator.sessions import Sessions
from collab.filemaker.emulator.store import RecordStore
from collab.filemaker.emulator.values import parse_value
from collab.filemaker.emulator.writes import Locks, Writer

if TYPE_CHECKING:
    from collab.filemaker.emulator.front import TcpFront

__all__ = ["Emulator"]


class Emulator:
    """A FileMaker Data API backed by SQLite.

    Args:
        schema: schema file (TOML); None is the bundled ``Sales`` demo.
        db: SQLite file that survives restarts (seeded only when new); None keeps it in memory.
        clock: seconds since the epoch (default ``time.time``); ``advance_clock`` adds to it.
        max_sessions: optional session cap; one login more gets 956.
        strict_content_type: answer 415 when a JSON or multipart endpoint gets another type.
        filter_databases: ``GET /databases`` needs Basic auth and lists only matching files.
    """

    def __init__(
        self,
        schema: str | Path | None = None,
        db: str | Path | None = None,
        *,
        clock: Callable[[], float] | None = None,
        max_sessions: int | None = None,
        strict_content_type: bool = True,
        filter_databases: bool = False,
        call_log_size: int = 2000,
    ) -> None:
        self.schema = load_schema(schema)
        self._clock = clock or time.time
        self._offset = 0.0
        self.strict_content_type = strict_content_type
        self.filter_databases = filter_databases
        self.store = RecordStore(db)
        self.sessions = Sessions(self.now, cap=max_sessions)
        self.locks: Locks = {}
        self.writer = Writer(self.store, self.now, self.locks, self.schema.databases)
        self.faults = Faults()
        #: Called with the new outage mode (the TCP front resets idle connections on "refused").
        self.outage_listeners: list[Callable[[Outage | None], None]] = []
        self.calls = CallLog(call_log_size)
        self.scripts: dict[str, dict[str, ScriptFn | None]] = {}
        for name, database in self.schema.databases.items():
            self.scripts[name] = {s.name: resolve_builtin(s.run) for s in database.scripts}
        self._app = self._make_app()
        if self.store.is_new:
            self._seed()

    # -- ASGI ---------------------------------------------------------------------------

    @property
    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        """The ASGI application (a plain coroutine function, so servers detect ASGI 3)."""
        return self._app

    def _make_app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await self._serve(scope, receive, send)

        return app

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        try:
            req = await read_request(scope, receive)
        except FMError as err:
            await send_response(send, fm_error(err))
            return
        if req.segments[:1] == ["emulator"]:
            response = await control_call(self, req)
        else:
            response = await data_call(self, req)
        await send_response(send, response)

    def container_url(self, base_url: str) -> Callable[[str], str]:
        return lambda key: f"{base_url}/fmi/emulator/containers/{key}"

    # -- clock, scripts ---------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's time forward (token expiry, timestamps, ``//``)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def register_script(self, database: str, name: str, fn: ScriptFn | None, *, folder: str | None = None) -> None:
        """Make ``name`` a script of ``database``, run by ``fn`` (see scripts.ScriptCall)."""
        db = self._database(database)
        self.scripts[database][name] = fn
        if folder is not None:
            target = next((i for i in db.script_tree if isinstance(i, TreeFolder) and i.folder == folder), None)
            if target is None:
                target = TreeFolder(folder=folder)
                db.script_tree.append(target)
            if name not in target.items:
                target.items.append(name)

    def script(self, database: str, name: str) -> tuple[bool, ScriptFn | None]:
        scripts = self.scripts.get(database, {})
        return name in scripts, scripts.get(name)

    # -- the FileMaker Pro user -------------------------------------------------------

    def _database(self, name: str) -> Database:
        db = self.schema.databases.get(name)
        if db is None:
            raise KeyError(f"no database named {name!r}")
        return db

    def _table(self, database: str, layout_or_table: str) -> tuple[str, TableDef]:
        db = self._database(database)
        if layout_or_table in db.layouts:
            name = db.layouts[layout_or_table].table
            return name, db.tables[name]
        if layout_or_table in db.tables:
            return layout_or_table, db.tables[layout_or_table]
        raise KeyError(f"{database} has no layout or table named {layout_or_table!r}")

    def lock_record(self, database: str, layout_or_table: str, record_id: int, holder: str = "FileMaker Pro user") -> None:
        """Hold the record open, as a user editing it in FileMaker Pro: writes get 301."""
        table, _ = self._table(database, layout_or_table)
        self.writer.row(database, table, record_id)
        self.locks[(database, table, int(record_id))] = holder

    def unlock_record(self, database: str, layout_or_table: str, record_id: int) -> bool:
        table, _ = self._table(database, layout_or_table)
        return self.locks.pop((database, table, int(record_id)), None) is not None

    def lock_holder(self, database: str, layout_or_table: str, record_id: int) -> str | None:
        table, _ = self._table(database, layout_or_table)
        return self.locks.get((database, table, int(record_id)))

    def locks_json(self) -> list[dict[str, Any]]:
        return [{"database": d, "table": t, "recordId": str(r), "holder": h} for (d, t, r), h in self.locks.items()]

    def user_edit(
        self, database: str, layout_or_table: str, record_id: int, field_data: dict[str, Any], dateformats: int = 0
    ) -> int:
        """Commit field values as the FileMaker Pro user does; returns the new modId."""
        table, tdef = self._table(database, layout_or_table)
        return self.writer.user_edit(database, table, tdef, int(record_id), field_data, dateformats).mod

    def record(self, database: str, layout_or_table: str, record_id: int) -> dict[str, Any]:
        """Stored values (ISO dates) with recordId and modId, straight from the table."""
        table, _ = self._table(database, layout_or_table)
        row = self.writer.row(database, table, record_id)
        return {"recordId": str(row.id), "modId": str(row.mod), "fieldData": dict(row.data)}

    def demo_record_key(self) -> str:
        """The ``UUID`` of the first record of the first table that has one ("" if none)."""
        for name, database in self.schema.databases.items():
            for tname, table in database.tables.items():
                if table.field("UUID") is not None:
                    rows = self.store.all(name, tname)
                    if rows:
                        return str(rows[0].data.get("UUID", ""))
        return ""

    def record_count(self, database: str, layout: str) -> int:
        view = resolve_layout(self.schema.databases, database, layout)
        return self.store.count(database, view.table_name)

    # -- faults -----------------------------------------------------------------------

    def restart(self) -> None:
        """FileMaker Server restarts: every token dies and every open record is released."""
        self.sessions.kill_all()
        self.locks.clear()

    def kill_tokens(self) -> int:
        return self.sessions.kill_all()

    def set_outage(self, mode: Outage | None, seconds: float | None = None, *, hard: bool = False) -> None:
        """Start (or with None end) an outage; ``seconds`` ends it by itself (real time).

        "502": the web server answers an HTML 502 page. "refused": behind the TCP front
        (``collab emulator``, ``serve()``) Data API connections are reset; with ``hard`` the
        front closes its listening socket, so connecting fails (ECONNREFUSED) and the
        control API is unreachable too until ``seconds`` pass or ``set_outage(None)``.
        """
        if seconds is not None and seconds <= 0:
            raise ValueError("an outage lasts a positive number of seconds")
        self.faults.outage = mode
        self.faults.outage_until = None if mode is None or seconds is None else time.monotonic() + seconds
        self.faults.outage_hard = hard and mode == "refused"
        for listener in list(self.outage_listeners):
            listener(mode)

    def stall(self, seconds: float) -> None:
        """Delay every Data API response by ``seconds`` (0 ends the stall)."""
        self.faults.stall_seconds = max(0.0, float(seconds))

    def fail_next(self, n: int, code: str | int, http_status: int = 500) -> None:
        """The next ``n`` Data API calls fail with FileMaker code ``code``."""
        self.faults.fail_count, self.faults.fail_code, self.faults.fail_http_status = int(n), str(code), int(http_status)

    def clear_faults(self) -> None:
        self.faults.clear()

    def state(self) -> dict[str, Any]:
        return {
            "now": self.now(),
            "databases": list(self.schema.databases),
            "sessions": len(self.sessions.live()),
            "locks": self.locks_json(),
            "faults": self.faults.as_json(),
            "calls": self.calls.last_seq,
        }

    def close(self) -> None:
        self.store.close()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractAsyncContextManager[TcpFront]:
        """Serve over TCP like ``collab emulator`` (with a real "refused" outage mode)."""
        from collab.filemaker.emulator.front import serve

        return serve(self, host, port)

    # -- seeding ----------------------------------------------------------------------

    @staticmethod
    def _seed_values(db: str, tname: str, table: TableDef, index: int, values: dict[str, Any]) -> dict[str, Any]:
        """Seed values in the stored form; dates and times must be ISO in the schema file."""
        data: dict[str, Any] = {}
        for key, raw in values.items():
            f = table.field(key)
            try:
                data[key] = parse_value(f, raw, 2) if f is not None else raw
            except FMError:
                raise SettingsError(
                    f"{db}: seed record {index} of table {tname}: {key} = {raw!r} is not a valid {f.result if f else 'value'}"
                    " (dates are YYYY-MM-DD, timestamps YYYY-MM-DD HH:MM:SS)"
                ) from None
        return data

    def _seed(self) -> None:
        with self.store.transaction():
            for name, database in self.schema.databases.items():
                for tname, table in database.tables.items():
                    for i, values in enumerate(table.records, 1):
                        data = self._seed_values(name, tname, table, i, values)
                        self.writer.auto_fill(name, tname, table, data, set(values))
                        self.store.insert(name, tname, data)
            self.store.set_meta("seeded", "1")
