"""``POST /api/records/{database}/{layout}/{key}/refresh``: FileMaker says "this record changed".

Called by a script trigger through Insert From URL. The hub re-reads the record at once and
merges FileMaker's changes into the live document; the answer is flat JSON a script reads
with JSONGetElement: ``{"ok": true, "changed": ["Notes"], "mod_id": "7"}``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from collab.auth.http import require_principal, require_record
from collab.context import HubContext
from collab.errors import CloseCode
from collab.filemaker.errors import DataAPIError, FileMakerError, FileMakerUnavailable, RecordMissing
from collab.records import RecordKey
from collab.rooms.seeding import RoomUnavailable
from collab.transports.problems import problem

__all__ = ["refresh_record"]


@post(
    "/api/records/{database:str}/{layout:str}/{key:str}/refresh",
    status_code=200,
    summary="FileMaker changed this record: re-read it and merge the change into the live document",
)
async def refresh_record(
    request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]
) -> Response[dict[str, Any]]:
    ctx: HubContext = request.app.state.ctx
    record = RecordKey.from_parts(database, layout, key)
    require_record(require_principal(request), record)
    if ctx.settings.layout(database, layout) is None:
        return problem(404, "layout_unknown", f"layout {database}/{layout} is not configured in the hub")
    try:
        changed, mod_id = await ctx.extras["writeback_poller"].refresh(record)
    except RecordMissing:
        return problem(404, "record_missing", f"FileMaker has no record {record.room}")
    except RoomUnavailable as exc:
        if exc.close_code == CloseCode.NOT_FOUND:
            return problem(404, "record_missing", f"FileMaker has no record {record.room}")
        return problem(503, "filemaker_unreachable", exc.detail)
    except FileMakerUnavailable as exc:
        return problem(503, "filemaker_unreachable", f"FileMaker did not answer: {exc.detail}")
    except FileMakerError as exc:
        return problem(502, "filemaker_error", f"FileMaker answered error {exc.code}: {exc.message}")
    except DataAPIError as exc:
        return problem(502, "filemaker_error", exc.detail)
    return Response({"ok": True, "changed": changed, "mod_id": mod_id}, status_code=200)
