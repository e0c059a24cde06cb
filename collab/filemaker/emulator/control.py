"""The emulator's own JSON control API under /fmi/emulator/ (never /fmi/admin/, which is
FileMaker Server's Admin API): the simulated FileMaker Pro user, the clock, faults, the
call log, and container downloads. Every route mirrors a Python method of ``Emulator``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from collab.filemaker.emulator.asgi import Request, Response
from collab.filemaker.emulator.codes import FMError

if TYPE_CHECKING:
    from collab.filemaker.emulator.emulator import Emulator

__all__ = ["ControlError", "control_call"]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(status: int, value: Any) -> Response:
    return Response(status, json.dumps(value, separators=(",", ":")).encode())


def _body(req: Request) -> dict[str, Any]:
    if not req.body.strip():
        return {}
    try:
        value = json.loads(req.body)
    except ValueError:
        raise ControlError(400, "the body must be a JSON object") from None
    if not isinstance(value, dict):
        raise ControlError(400, "the body must be a JSON object")
    return value


def _number(body: dict[str, Any], key: str, default: float | None = None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(400, f"{key!r} must be a number >= 0")
    return float(value)


async def _route(emu: Emulator, req: Request, parts: list[str]) -> Response:
    m = req.method
    body = _body(req) if m in ("POST", "PUT", "PATCH") else {}
    if parts == [] and m == "GET":
        return _json(200, emu.state())
    if parts == ["clock"] and m == "POST":
        emu.advance_clock(_number(body, "advance"))
        return _json(200, {"now": emu.now()})
    if parts == ["restart"] and m == "POST":
        emu.restart()
        return _json(200, {"restarted": True})
    if parts == ["sessions"] and m == "DELETE":
        return _json(200, {"killed": emu.kill_tokens()})
    if parts == ["outage"] and m == "PUT":
        mode = body.get("mode")
        if mode not in ("502", "refused", None):
            raise ControlError(400, "'mode' must be \"502\", \"refused\" or null")
        seconds = body.get("seconds")
        hard = body.get("hard", False)
        if hard is not False and (hard is not True or mode != "refused" or seconds is None):
            raise ControlError(400, "'hard' needs mode \"refused\" and 'seconds' (the control API goes away too)")
        emu.set_outage(mode, None if seconds is None else _number(body, "seconds"), hard=hard)
        return _json(200, emu.faults.as_json())
    if parts == ["stall"] and m == "PUT":
        emu.stall(_number(body, "seconds"))
        return _json(200, emu.faults.as_json())
    if parts == ["fail-next"] and m == "POST":
        count = int(_number(body, "count", 1))
        emu.fail_next(count, str(body.get("code", "951")), int(_number(body, "httpStatus", 500)))
        return _json(200, emu.faults.as_json())
    if parts == ["faults"] and m == "DELETE":
        emu.clear_faults()
        return _json(200, emu.faults.as_json())
    if parts == ["calls"] and m == "GET":
        since = int(req.query.get("since", "0") or 0)
        entries = emu.calls.entries(since, req.query.get("action") or None)
        return _json(200, {"last": emu.calls.last_seq, "calls": [e.as_json() for e in entries]})
    if parts == ["calls"] and m == "DELETE":
        emu.calls.clear()
        return _json(200, {"cleared": True})
    if parts == ["locks"] and m == "GET":
        return _json(200, {"locks": emu.locks_json()})
    if len(parts) >= 6 and parts[0] == "databases" and parts[2] == "layouts" and parts[4] == "records":
        db, layout, rid = parts[1], parts[3], parts[5]
        record_id = int(rid) if rid.isdigit() else -1
        if parts[6:] == ["lock"] and m == "PUT":
            emu.lock_record(db, layout, record_id, str(body.get("holder", "FileMaker Pro user")))
            return _json(200, {"locked": True, "holder": emu.lock_holder(db, layout, record_id)})
        if parts[6:] == ["lock"] and m == "DELETE":
            return _json(200, {"locked": False, "released": emu.unlock_record(db, layout, record_id)})
        if parts[6:] == [] and m == "PATCH":
            values = body.get("fieldData")
            if not isinstance(values, dict):
                raise ControlError(400, "'fieldData' must be an object of field values")
            mod = emu.user_edit(db, layout, record_id, values, int(body.get("dateformats", 0)))
            return _json(200, {"modId": str(mod)})
        if parts[6:] == [] and m == "GET":
            return _json(200, emu.record(db, layout, record_id))
    if len(parts) == 3 and parts[0] == "containers" and m == "GET":
        item = emu.store.container(f"{parts[1]}/{quote(parts[2], safe='')}")
        if item is None:
            raise ControlError(404, "no such container")
        return Response(200, item.data, item.mime or "application/octet-stream")
    raise ControlError(404, f"no control route {m} /fmi/emulator/{'/'.join(parts)}")


async def control_call(emu: Emulator, req: Request) -> Response:
    """Answer one /fmi/emulator/... request; errors are ``{"error": "..."}``."""
    try:
        return await _route(emu, req, [p for p in req.segments[1:] if p != ""])
    except ControlError as exc:
        return _json(exc.status, {"error": str(exc)})
    except FMError as exc:
        return _json(404 if exc.code in ("101", "105", "802") else 400, {"error": exc.message, "code": exc.code})
    except (KeyError, ValueError) as exc:
        return _json(400, {"error": str(exc)})
