"""Edits made while offline are kept in the page and merge after reconnecting."""

from __future__ import annotations

import pytest

from tests.support.server import RunningHub
from tests.webviewer.conftest import Opener
from tests.webviewer.helpers import eventually, filemaker_values, hub_values

pytestmark = pytest.mark.browser


async def test_offline_edits_merge_on_reconnect(hub: RunningHub, opener: Opener) -> None:
    alice = await opener.page("alice", "Alice Archer", ["editor"])
    bob = await opener.page("bob", "Bob Baker", ["editor"])
    await alice.page.wait_for_selector('#presence li[data-user="bob"]')

    await alice.context.set_offline(True)
    await alice.page.wait_for_selector('#conn-status[data-state="offline"]')
    # (Chromium's offline emulation does not cut open WebSockets; the page closes its own on the
    # browser's `offline` event, as a web viewer losing the network would.)

    # Alice keeps typing offline: Notes at the end, and a map field.
    await alice.field("Notes").click()
    await alice.field("Notes").press("Control+End")
    await alice.page.keyboard.type(" +offline-alice")
    await alice.field("Customer").fill("Offline Customer Ltd")
    await alice.page.wait_for_selector('#store-status[data-state="pending"]')
    # Meanwhile Bob edits the same text field at the start.
    await bob.field("Notes").click()
    await bob.field("Notes").press("Control+Home")
    await bob.page.keyboard.type("online-bob+ ")
    await bob.page.wait_for_selector('#store-status[data-state="stored"]')
    assert "offline-alice" not in await bob.value("Notes")
    assert "online-bob" not in await alice.value("Notes")

    await alice.context.set_offline(False)
    for viewer in (alice, bob):
        await viewer.wait_contains("Notes", "online-bob+ ", " +offline-alice")
        await viewer.page.wait_for_function(
            "() => document.querySelector('[data-field=\"Customer\"]').value === 'Offline Customer Ltd'"
        )
    await alice.page.wait_for_selector('#store-status[data-state="stored"]')
    await alice.page.wait_for_selector('#presence li[data-user="bob"]')
    await bob.page.wait_for_selector('#presence li[data-user="alice"]')
    final = await alice.value("Notes")
    assert final == await bob.value("Notes")
    assert final.startswith("online-bob+ ") and final.endswith(" +offline-alice")
    await eventually(lambda: (hub_values(hub) or {}).get("Notes") == final, what="the hub's Notes")
    await eventually(
        lambda: filemaker_values(hub).get("Notes") == final
        and filemaker_values(hub).get("Customer") == "Offline Customer Ltd",
        what="FileMaker to hold both",
        timeout=20,
    )
