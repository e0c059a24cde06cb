"""The Data API emulator (``collab emulator``) as the benchmark runs it: with indexed finds.

The bundled emulator answers a find by decoding every row of the table from SQLite and
matching each one in Python, about 60 ms per find at the 3,209 records the benchmark
creates. S3 opens 3,000 rooms and the hub finds each record by its key field when it seeds
the room, so connecting would measure the emulator (and time out). FileMaker Server answers
such a find from an index. This wrapper changes no behaviour of the emulator, only cost:

- ``RecordStore.all`` keeps the decoded rows of a table in memory (copies handed out, the
  cache kept in step with inserts and updates, dropped on deletes and on any transaction
  that fails);
- the list and find routes (which only read) get the cached rows without a copy;
- a find whose requests are each one ``==VALUE`` criterion on the same field (VALUE letters,
  digits and dashes only, as the benchmark's UUIDs are; the hub's key lookups, alone or
  batched) first narrows the rows to those whose field equals one of the VALUEs ignoring
  case (an index built once per cached table), then runs the emulator's own find on them,
  so its result is the same.

Usage: ``python -m bench.peers.fm_emulator --port P --db FILE`` (the ``collab emulator`` flags).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from collab.filemaker.emulator import routes_records
from collab.filemaker.emulator import store as store_mod
from collab.filemaker.emulator.store import RecordStore, Row

_SIMPLE = re.compile(r"^==([0-9A-Za-z-]+)$")
#: (id of a cached row list, field) -> (that list, rows by lower-cased field value)
_INDEX: dict[tuple[int, str], tuple[list[Row], dict[str, list[Row]]]] = {}


def _install() -> None:
    original_all = RecordStore.all
    original_insert = RecordStore.insert
    original_update = RecordStore.update
    original_delete = RecordStore.delete
    original_transaction = RecordStore.transaction

    def cache(self: RecordStore) -> dict[tuple[str, str], list[Row]]:
        found: dict[tuple[str, str], list[Row]] | None = getattr(self, "_bench_cache", None)
        if found is None:
            found = {}
            self._bench_cache = found  # type: ignore[attr-defined]
        return found

    def cached_rows(self: RecordStore, db: str, tbl: str) -> list[Row]:
        rows = cache(self).get((db, tbl))
        if rows is None:
            rows = original_all(self, db, tbl)
            cache(self)[(db, tbl)] = rows
            _INDEX.clear()
        return rows

    def all_rows(self: RecordStore, db: str, tbl: str) -> list[Row]:
        return [Row(r.id, r.mod, dict(r.data)) for r in cached_rows(self, db, tbl)]

    def dropping(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: RecordStore, db: str, tbl: str, *args: Any) -> Any:
            cache(self).pop((db, tbl), None)
            _INDEX.clear()
            return fn(self, db, tbl, *args)

        return wrapper

    @contextmanager
    def transaction(self: RecordStore) -> Iterator[None]:
        try:
            with original_transaction(self):
                yield
        except BaseException:
            cache(self).clear()
            _INDEX.clear()
            raise

    def insert(self: RecordStore, db: str, tbl: str, data: dict[str, Any]) -> Row:
        row = original_insert(self, db, tbl, data)
        rows = cache(self).get((db, tbl))
        if rows is not None:  # ids only grow: appending keeps the ORDER BY id of ``all``
            rows.append(Row(row.id, row.mod, json.loads(json.dumps(data))))
            _INDEX.clear()
        return row

    def update(self: RecordStore, db: str, tbl: str, row: Row) -> None:
        original_update(self, db, tbl, row)
        rows = cache(self).get((db, tbl))
        if rows is not None:
            for i, old in enumerate(rows):
                if old.id == row.id:
                    rows[i] = Row(row.id, row.mod, json.loads(json.dumps(row.data)))
                    break
            _INDEX.clear()

    RecordStore.all = all_rows  # type: ignore[method-assign]
    RecordStore.insert = insert  # type: ignore[method-assign]
    RecordStore.update = update  # type: ignore[method-assign]
    RecordStore.delete = dropping(original_delete)  # type: ignore[method-assign]
    RecordStore.transaction = transaction  # type: ignore[method-assign]

    original_find = routes_records.run_find

    def simple_key(request: dict[str, Any]) -> tuple[str, str] | None:
        """(field, value) of a request that is one ``==VALUE`` criterion and no omit."""
        criteria = {k: v for k, v in request.items() if k != "omit" and v is not None and str(v) != ""}
        if len(criteria) != 1 or str(request.get("omit", "false")).lower() == "true":
            return None
        ((name, value),) = criteria.items()
        m = _SIMPLE.match(str(value))
        return (name, m.group(1).lower()) if m and "::" not in name else None

    def run_find(rows: Sequence[Row], requests: Sequence[dict[str, Any]], *args: Any, **kwargs: Any) -> list[Row]:
        keys = [simple_key(request) for request in requests]
        names = {key[0] for key in keys if key is not None}
        if keys and all(key is not None for key in keys) and len(names) == 1:
            (name,) = names
            index_key = (id(rows), name)
            index = _INDEX.get(index_key)
            if index is None or index[0] is not rows:
                table: dict[str, list[Row]] = {}
                for r in rows:
                    table.setdefault(str(r.data.get(name, "")).lower(), []).append(r)
                index = _INDEX[index_key] = (rows, table)
            hits = {r.id: r for key in keys if key is not None for r in index[1].get(key[1], [])}
            rows = [hits[i] for i in sorted(hits)]  # rows come ordered by id
        return original_find(rows, requests, *args, **kwargs)

    routes_records.run_find = run_find  # type: ignore[assignment]

    # The list and find routes only read rows: hand them the cached rows themselves.
    def request_rows(self: Any) -> list[Row]:
        return cached_rows(self.emu.store, self.view.database, self.view.table_name)

    routes_records._Request.rows = request_rows  # type: ignore[method-assign]
    assert store_mod.RecordStore is RecordStore


def main() -> int:
    _install()
    from collab.filemaker.emulator.cli import run_emulator

    parser = argparse.ArgumentParser(prog="bench.peers.fm_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8989)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--db", default=None)
    return int(run_emulator(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
