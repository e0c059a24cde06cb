"""A `reset` from the hub: the page rebuilds from the hub's state and nothing typed is lost."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.server import RunningHub
from tests.webviewer.conftest import Opener
from tests.webviewer.helpers import eventually, hub_values, record

pytestmark = pytest.mark.browser


class HoldingProxy:
    """Sits on the page's sync socket; while `hold` is set, hub -> page messages wait."""

    def __init__(self) -> None:
        self.hold = False
        self.held: list[tuple[Any, str | bytes]] = []
        self.sockets = 0

    def route(self, ws: Any) -> None:
        self.sockets += 1
        server = ws.connect_to_server()

        def from_hub(message: str | bytes) -> None:
            if self.hold:
                self.held.append((ws, message))
            else:
                ws.send(message)

        server.on_message(from_hub)

    def release(self) -> None:
        self.hold = False
        held, self.held = self.held, []
        for ws, message in held:
            ws.send(message)


async def test_reset_rebuilds_and_reapplies_unconfirmed_edits(hub: RunningHub, opener: Opener) -> None:
    proxy = HoldingProxy()
    context = await opener.context()
    await context.route_web_socket(re.compile(r".*/sync/.*"), proxy.route)
    erin = await opener.page("erin", "Erin Editor", ["editor"], context=context)
    original = await erin.value("Notes")
    room = hub.ctx.rooms.loaded(record())
    [connection] = [conn for conn in room.connections if conn.principal.sub == "erin"]

    # The hub resets the connection; the page does not know yet and keeps typing.
    proxy.hold = True
    room.reset_connection(connection.id, "generation", "test")
    await erin.page.evaluate("window.collab.setField('Customer', 'Kept across the reset')")
    await erin.field("Notes").click()
    await erin.field("Notes").press("Control+End")
    await erin.page.keyboard.type(" +typed-before-reset")
    await eventually(lambda: proxy.held, what="the reset to be held")
    # The hub dropped those edits (the connection is resetting).
    assert (hub_values(hub) or {}).get("Customer") != "Kept across the reset"

    proxy.release()
    await erin.page.wait_for_function("() => document.body.dataset.lastReset === 'generation'")
    await erin.page.wait_for_function("() => JSON.parse(window.collab.getState()).rebuilds === 1")
    await erin.wait_synced()
    expected = original + " +typed-before-reset"
    await eventually(
        lambda: (hub_values(hub) or {}).get("Customer") == "Kept across the reset"
        and (hub_values(hub) or {}).get("Notes") == expected,
        what="the re-applied edits in the hub",
    )
    assert await erin.value("Notes") == expected
    assert await erin.value("Customer") == "Kept across the reset"
    await erin.page.wait_for_selector('#store-status[data-state="stored"]')
    assert proxy.sockets == 2
