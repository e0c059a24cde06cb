"""The Data API route table under /fmi/data/{v1,v2,vLatest}, and one call end to end:
faults (stall, outage, fail_next), 404/405/415, the handler, the call log entry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collab.filemaker.emulator import routes_meta as meta
from collab.filemaker.emulator import routes_records as rec
from collab.filemaker.emulator.asgi import Request, Response, fm_error
from collab.filemaker.emulator.codes import FMError

if TYPE_CHECKING:
    from collab.filemaker.emulator.emulator import Emulator

__all__ = ["BAD_GATEWAY_HTML", "VERSIONS", "data_call"]

VERSIONS = ("v1", "v2", "vLatest")

Handler = Callable[["Emulator", Request, dict[str, str]], Awaitable[Response]]

BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Endpoint:
    action: str
    handler: Handler
    #: What the body must be: "json" (always), "json?" (only when a body is sent), "multipart", "".
    body: str = ""


_DB = ("databases", "{db}")
_LAYOUT = (*_DB, "layouts", "{layout}")
ROUTES: list[tuple[tuple[str, ...], dict[str, Endpoint]]] = [
    (("productInfo",), {"GET": Endpoint("productInfo", meta.product_info)}),
    (("databases",), {"GET": Endpoint("databases", meta.databases)}),
    ((*_DB, "sessions"), {"POST": Endpoint("login", meta.login, "json")}),
    ((*_DB, "sessions", "{token}"), {"DELETE": Endpoint("logout", meta.logout)}),
    ((*_DB, "layouts"), {"GET": Endpoint("layouts", meta.layouts)}),
    ((*_DB, "scripts"), {"GET": Endpoint("scripts", meta.scripts)}),
    ((*_DB, "globals"), {"PATCH": Endpoint("globals", meta.globals_, "json")}),
    (_LAYOUT, {"GET": Endpoint("metadata", meta.layout_metadata)}),
    (
        (*_LAYOUT, "records"),
        {"GET": Endpoint("range", rec.get_range), "POST": Endpoint("create", rec.create, "json")},
    ),
    (
        (*_LAYOUT, "records", "{id}"),
        {
            "GET": Endpoint("get", rec.get_record),
            "PATCH": Endpoint("edit", rec.edit, "json"),
            "DELETE": Endpoint("delete", rec.delete),
            "POST": Endpoint("duplicate", rec.duplicate, "json?"),
        },
    ),
    ((*_LAYOUT, "_find"), {"POST": Endpoint("find", rec.find, "json")}),
    ((*_LAYOUT, "script", "{script}"), {"GET": Endpoint("script", rec.run_named_script)}),
    (
        (*_LAYOUT, "records", "{id}", "containers", "{field}", "{rep}"),
        {"POST": Endpoint("upload", rec.upload, "multipart")},
    ),
]


def _match(segments: list[str]) -> tuple[dict[str, Endpoint], dict[str, str]] | None:
    for pattern, methods in ROUTES:
        if len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for want, got in zip(pattern, segments, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return methods, params
    return None


def _check_body(emu: Emulator, req: Request, kind: str) -> None:
    if not emu.strict_content_type or not kind:
        return
    if kind == "multipart":
        if req.content_type != "multipart/form-data":
            raise FMError("1705", "Content-Type must be multipart/form-data", http_status=415)
    elif (kind == "json" or req.body.strip()) and req.content_type != "application/json":
        raise FMError("1705", "Content-Type must be application/json", http_status=415)


async def _handle(emu: Emulator, req: Request) -> tuple[Response, str]:
    segs = req.segments
    if len(segs) < 3 or segs[0] != "data" or segs[1] not in VERSIONS:
        return fm_error(FMError("1700", http_status=404)), "unknown"
    found = _match(segs[2:])
    if found is None:
        return fm_error(FMError("1700", http_status=404)), "unknown"
    methods, params = found
    endpoint = methods.get(req.method)
    if endpoint is None:
        return fm_error(FMError("1704", http_status=405)), "unknown"
    params["version"] = segs[1]
    try:
        _check_body(emu, req, endpoint.body)
        if req.repeated:
            raise FMError("960", f"Parameter(s) given more than once: {','.join(req.repeated)}", http_status=400)
        failure = emu.faults.take_failure()
        if failure is not None:
            raise FMError(failure[0], http_status=failure[1])
        return await endpoint.handler(emu, req, params), endpoint.action
    except FMError as err:
        return fm_error(err), endpoint.action


def _logged_path(path: str) -> str:
    """The path for the call log, with a logout's token replaced: tokens never reach a log."""
    head, sep, tail = path.partition("/sessions/")
    return f"{head}{sep}<token>" if sep and tail else path


async def data_call(emu: Emulator, req: Request) -> Response:
    """One /fmi/data call with the current faults applied, logged in ``emu.calls``."""
    if emu.faults.stall_seconds > 0:
        await asyncio.sleep(emu.faults.stall_seconds)
    outage = emu.faults.current_outage()
    if outage is not None:
        if outage == "502":
            response = Response(502, BAD_GATEWAY_HTML, "text/html")
        else:  # "refused" reached the app: only a TCP front can refuse (see front.py)
            response = Response(503, b"", "text/plain", [("connection", "close")])
        emu.calls.add(emu.now(), req.method, _logged_path(req.path), "outage", response.status, "")
        return response
    response, action = await _handle(emu, req)
    emu.calls.add(emu.now(), req.method, _logged_path(req.path), action, response.status, response.code)
    return response
