"""The async FileMaker Data API client the hub uses (one per database, one token each).

``base_url`` is the server root (``https://fms.example.com``); paths are
``/fmi/data/{version}/databases/{database}/...``. Values go and come in FileMaker's own
formats (see ``collab.filemaker.values`` for the document side). Errors are the classes of
``collab.filemaker.errors``; an unreachable or stalled server is ``FileMakerUnavailable``.

Behaviour the hub relies on:
- lazy login, single-flight re-login on 952 with one replay (``collab.filemaker.session``);
- 301 (record open in FileMaker Pro) on edit/delete is retried ``retry_in_use`` times with
  jittered exponential backoff, then ``RecordInUse`` is raised;
- a find with no hits (401) and a range read of an empty table (101) are empty FoundSets;
- ``aclose()`` logs out. recordId is never treated as a record's identity.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
import msgspec

from collab.filemaker.errors import (
    FieldValidationError,
    NoRecordsMatch,
    RecordInUse,
    RecordMissing,
)
from collab.filemaker.models import (
    DataInfo,
    FieldMeta,
    FoundSet,
    LayoutMetadata,
    ProductInfo,
    Record,
    ScriptResult,
    ValueList,
    convert,
    flatten_names,
    found_set,
)
from collab.filemaker.session import DataAPISession, segment

__all__ = ["DataAPIClient", "exact_match"]

log = logging.getLogger("collab.filemaker")
T = TypeVar("T")
Sort = Sequence[Mapping[str, str]]

# Characters with a find-mode meaning of their own; "." and "/" only matter doubled ("..", "//").
_FIND_OPERATORS = frozenset('@#*\\"~!=<>≤≥…?')


def exact_match(value: str) -> str:
    """A find criterion matching ``value`` exactly: ``==`` plus the value with every find
    operator in it escaped by a backslash (a UUID or a number needs no escaping at all).
    An empty value finds empty fields (``=``).
    """
    if value == "":
        return "="
    out: list[str] = []
    for index, ch in enumerate(value):
        doubled = ch in "./" and (value[index - 1 : index] == ch or value[index + 1 : index + 2] == ch)
        out.append("\\" + ch if ch in _FIND_OPERATORS or doubled else ch)
    return "==" + "".join(out)


class DataAPIClient:
    """Data API calls for one database of one FileMaker Server, on one token.

    ``timeout`` bounds each whole HTTP exchange (seconds). ``retry_in_use`` is the number of
    retries after a 301, waiting about ``retry_backoff`` * 2**n (jittered) before retry n.
    ``on_request`` is told each exchange's outcome: ``ok``, ``error`` (a FileMaker code),
    ``unavailable``, plus ``login`` before every login (metrics).
    """

    def __init__(
        self,
        base_url: str,
        database: str,
        username: str,
        password: str,
        *,
        version: str = "vLatest",
        timeout: float = 10.0,
        verify: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_in_use: int = 3,
        on_request: Callable[[str], None] | None = None,
        retry_backoff: float = 0.25,
    ) -> None:
        if retry_in_use < 0:
            raise ValueError(f"retry_in_use must be 0 or more, got {retry_in_use}")
        self._session = DataAPISession(
            base_url,
            database,
            username,
            password,
            version=version,
            timeout=timeout,
            verify=verify,
            transport=transport,
            on_request=on_request,
        )
        self.database = database
        self._retry_in_use = retry_in_use
        self._backoff = retry_backoff

    def __repr__(self) -> str:
        return f"DataAPIClient({self._session.base_url!r}, {self.database!r})"

    async def __aenter__(self) -> DataAPIClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- sessions ----------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        return self._session.logged_in

    async def login(self) -> None:
        await self._session.login()

    async def logout(self) -> None:
        await self._session.logout()

    async def aclose(self) -> None:
        await self._session.aclose()

    # -- metadata ----------------------------------------------------------------------------

    async def product_info(self) -> ProductInfo:
        result = await self._session.call_open("GET", f"{self._session.root}/productInfo")
        return convert(result.get("productInfo", {}), ProductInfo)

    async def databases(self) -> list[str]:
        result = await self._session.call_open("GET", f"{self._session.root}/databases", basic=True)
        return [str(item["name"]) for item in result.get("databases", []) if "name" in item]

    async def layouts(self) -> list[str]:
        """Layout names, folders flattened (in FileMaker's order)."""
        result = await self._session.call("GET", f"{self._db}/layouts")
        return flatten_names(result.get("layouts", []), "folderLayoutNames")

    async def scripts(self) -> list[str]:
        """Script names, folders flattened."""
        result = await self._session.call("GET", f"{self._db}/scripts")
        return flatten_names(result.get("scripts", []), "folderScriptNames")

    async def layout_metadata(self, layout: str) -> LayoutMetadata:
        result = await self._session.call("GET", self._layout(layout))
        portals = result.get("portalMetaData") or {}
        return LayoutMetadata(
            fields=convert(result.get("fieldMetaData", []), list[FieldMeta]),
            portals=convert(portals, dict[str, list[FieldMeta]]),
            value_lists=convert(result.get("valueLists", []), list[ValueList]),
        )

    # -- reads -------------------------------------------------------------------------------

    async def get_record(self, layout: str, record_id: str) -> Record:
        result = await self._session.call("GET", f"{self._layout(layout)}/records/{segment(record_id)}")
        found = found_set(result)
        if not found.records:
            raise RecordMissing(101, "Record is missing", 200)
        return found.records[0]

    async def get_records(
        self, layout: str, *, offset: int = 1, limit: int = 100, sort: Sort | None = None
    ) -> FoundSet:
        """A page of the layout's table. An empty table is an empty FoundSet."""
        if offset < 1 or limit < 1:
            raise ValueError(f"offset and limit must be at least 1, got {offset} and {limit}")
        params = {"_limit": str(limit)}
        if offset > 1:  # _offset=1 on an empty table gives 101 on some servers
            params["_offset"] = str(offset)
        if sort:
            params["_sort"] = msgspec.json.encode([dict(item) for item in sort]).decode()
        try:
            result = await self._session.call("GET", f"{self._layout(layout)}/records", params=params)
        except RecordMissing:
            return self._empty(layout)
        return found_set(result)

    async def find(
        self,
        layout: str,
        query: list[dict[str, str]],
        *,
        sort: Sort | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> FoundSet:
        """Find requests (ORed; ``{"omit": "true"}`` excludes). No match is an empty FoundSet."""
        if not query or not all(isinstance(item, dict) and item for item in query):
            raise ValueError("a find needs at least one non-empty request, e.g. [{'Customer': 'Acme'}]")
        body: dict[str, Any] = {"query": [{k: str(v) for k, v in item.items()} for item in query]}
        if sort:
            body["sort"] = [dict(item) for item in sort]
        if offset is not None:
            body["offset"] = str(offset)
        if limit is not None:
            body["limit"] = str(limit)
        try:
            result = await self._session.call("POST", f"{self._layout(layout)}/_find", json=body)
        except NoRecordsMatch:
            return self._empty(layout)
        return found_set(result)

    async def find_one_by(self, layout: str, field: str, value: str) -> Record | None:
        """The record whose ``field`` is exactly ``value`` (a key lookup), or None.

        FileMaker's ``==`` ignores case for text; the answer is checked here, so only an
        exact, case-sensitive match counts.
        """
        return (await self.find_by_keys(layout, field, [value]))[value]

    async def find_by_keys(self, layout: str, field: str, values: Sequence[str]) -> dict[str, Record | None]:
        """Key lookups for several values in one find (one ORed request per value): each
        value's record (exact, case-sensitive match; the first if several), or None."""
        distinct = list(dict.fromkeys(values))
        if not distinct:
            return {}
        # Up to 10 case-insensitive matches per value, as a lone lookup would allow.
        found = await self.find(layout, [{field: exact_match(v)} for v in distinct], limit=10 * len(distinct))
        by_value: dict[str, list[Record]] = {}
        for record in found.records:
            by_value.setdefault(str(record.field_data.get(field, "")), []).append(record)
        out: dict[str, Record | None] = {}
        for value in distinct:
            hits = by_value.get(value, [])
            if len(hits) > 1:
                log.warning(
                    "%s/%s: more than one record has this %s; using the first", self.database, layout, field
                )
            out[value] = hits[0] if hits else None
        return out

    # -- writes ------------------------------------------------------------------------------

    async def create_record(self, layout: str, field_data: Mapping[str, Any]) -> tuple[str, str]:
        """Create a record; returns (recordId, modId)."""
        body = {"fieldData": dict(field_data)}
        result = await _naming_field(
            field_data, self._session.call("POST", f"{self._layout(layout)}/records", json=body)
        )
        return str(result["recordId"]), str(result.get("modId", "0"))

    async def edit_record(
        self, layout: str, record_id: str, field_data: Mapping[str, Any], *, mod_id: str | None
    ) -> str:
        """Change only the fields given; with ``mod_id`` FileMaker refuses (306) if the record
        changed since. Returns the new modId."""
        body: dict[str, Any] = {"fieldData": dict(field_data)}
        if mod_id is not None:
            body["modId"] = str(mod_id)
        path = f"{self._layout(layout)}/records/{segment(record_id)}"

        async def attempt() -> dict[str, Any]:
            return await _naming_field(field_data, self._session.call("PATCH", path, json=body))

        result = await self._retrying_in_use(attempt)
        return str(result.get("modId", ""))

    async def delete_record(self, layout: str, record_id: str) -> None:
        path = f"{self._layout(layout)}/records/{segment(record_id)}"
        await self._retrying_in_use(lambda: self._session.call("DELETE", path))

    async def run_script(self, layout: str, script: str, param: str | None = None) -> ScriptResult:
        params = {"script.param": param} if param is not None else None
        path = f"{self._layout(layout)}/script/{segment(script)}"
        result = await self._session.call("GET", path, params=params)
        raw = result.get("scriptResult")
        try:
            error = int(result.get("scriptError", 0) or 0)
        except (TypeError, ValueError):
            error = -1
        return ScriptResult(result=None if raw is None else str(raw), error=error)

    async def set_globals(self, values: Mapping[str, Any]) -> None:
        """Set global fields (fully qualified ``Table::gField``) for this session and later ones."""
        await self._session.set_globals(values)

    # -- helpers -----------------------------------------------------------------------------

    @property
    def _db(self) -> str:
        return self._session.db_path

    def _layout(self, layout: str) -> str:
        if not layout:
            raise ValueError("a layout name is required")
        return f"{self._session.db_path}/layouts/{segment(layout)}"

    def _empty(self, layout: str) -> FoundSet:
        return FoundSet(records=[], data_info=DataInfo(database=self.database, layout=layout))

    async def _retrying_in_use(self, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self._retry_in_use + 1):
            try:
                return await call()
            except RecordInUse:
                if attempt == self._retry_in_use:
                    raise
                ceiling = self._backoff * (2**attempt)
                # Equal jitter: always wait a little, never in lockstep with other writers.
                await asyncio.sleep(ceiling / 2 + random.uniform(0, ceiling / 2))
        raise AssertionError("unreachable")


async def _naming_field(field_data: Mapping[str, Any], call: Awaitable[T]) -> T:
    """Run ``call``; a validation error gets the field's name when it can be known."""
    try:
        return await call
    except FieldValidationError as exc:
        if exc.field is None:
            named = [name for name in field_data if name in exc.message]
            candidates = list(field_data) if len(field_data) == 1 else named
            if len(candidates) == 1:
                raise FieldValidationError(
                    exc.code, exc.message, exc.http_status, field=candidates[0]
                ) from None
        raise
