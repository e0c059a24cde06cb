"""Write-back component: ``ctx.writeback`` (the outbox writer), modId polling and ``/refresh``.

Installed after the hub (rooms) so its start-up resume can open rooms, and shut down before
it, so the final flush still has rooms and the FileMaker pool.
"""

from __future__ import annotations

from collab.context import Component, HubContext
from collab.persist.outbox import MemoryOutbox, Outbox
from collab.persist.poller import Poller
from collab.persist.routes import refresh_record
from collab.persist.service import WritebackService
from collab.persist.sqlite_outbox import MIGRATIONS, SqliteOutbox

__all__ = ["install"]


def install(ctx: HubContext) -> Component:
    outbox: Outbox
    if ctx.db is not None:
        ctx.db.register("persist", MIGRATIONS)
        outbox = SqliteOutbox(ctx.db)
    else:
        outbox = MemoryOutbox()
    service = WritebackService(ctx, outbox)
    poller = Poller(service)
    ctx.writeback = service
    ctx.observers.append(service)
    ctx.extras["writeback_poller"] = poller

    async def start() -> None:
        await service.start()
        await poller.start()

    async def stop() -> None:
        await poller.stop()
        await service.stop()

    return Component(route_handlers=[refresh_record], on_startup=[start], on_shutdown=[stop])
