"""The status line and the side panels: waiting for FileMaker, field errors, leases, comments."""

from __future__ import annotations

import pytest

from tests.support.server import RunningHub
from tests.webviewer.conftest import Opener
from tests.webviewer.helpers import eventually, filemaker_values, record

pytestmark = pytest.mark.browser


async def test_waiting_for_filemaker_and_field_errors(hub: RunningHub, opener: Opener) -> None:
    emulator = hub.ctx.extras["emulator"]
    erin = await opener.page("erin", "Erin Editor", ["editor"])

    # A FileMaker Pro user holds the record open: writes get 301 and the page says it waits.
    emulator.lock_record("Sales", "Invoices", 1)
    await erin.field("Customer").fill("Waiting Customer")
    await erin.page.wait_for_selector('#wait-status[data-reason="record_in_use"]:not([hidden])')
    emulator.unlock_record("Sales", "Invoices", 1)
    await erin.page.wait_for_selector("#wait-status", state="hidden", timeout=30_000)
    await erin.page.wait_for_selector("#save-status:not([hidden])")
    await eventually(lambda: filemaker_values(hub).get("Customer") == "Waiting Customer", what="FileMaker's Customer")

    # FileMaker's validation refuses a value: the error shows next to the field, the value stays.
    await erin.field("Amount").fill("12 apples")
    error = erin.page.locator('[data-error-for="Amount"]')
    await error.wait_for(state="visible", timeout=30_000)
    assert await error.inner_text()
    assert await erin.value("Amount") == "12 apples"
    await erin.field("Amount").fill("12")
    await error.wait_for(state="hidden")


async def test_lease_and_comments(hub: RunningHub, opener: Opener) -> None:
    erin = await opener.page("erin", "Erin Editor", ["editor"])
    ed = await opener.page("ed", "Ed Other", ["editor"])

    await erin.page.click('#access button[data-action="lease"]')
    await erin.page.wait_for_selector('#access[data-lease="mine"][data-can-write="true"]')
    await ed.page.wait_for_selector('#access[data-lease="other"][data-can-write="false"]')
    await ed.page.wait_for_function("() => document.querySelector('[data-field=\"Notes\"]').readOnly")
    assert "Erin Editor" in await ed.page.inner_text("#access-text")
    await erin.page.click('#access button[data-action="release"]')
    await ed.page.wait_for_selector('#access[data-lease="none"][data-can-write="true"]')
    await ed.page.wait_for_function("() => !document.querySelector('[data-field=\"Notes\"]').readOnly")

    await erin.page.fill("#comment-text", "Can you check the amount?")
    await erin.page.click('#comment-form button[type="submit"]')
    await ed.page.wait_for_selector('#comments .comment:has-text("Can you check the amount?")')
    await ed.page.fill("#comment-text", "Checked, it is right.")
    await ed.page.click('#comment-form button[type="submit"]')
    await erin.page.wait_for_selector('#comments .comment:has-text("Checked, it is right.")')
    names = await erin.page.locator("#comments .comment strong").all_inner_texts()
    assert names == ["Erin Editor", "Ed Other"]


async def test_reconnects_after_the_hub_drops_the_connection(hub: RunningHub, opener: Opener) -> None:
    erin = await opener.page("erin", "Erin Editor", ["editor"])
    ed = await opener.page("ed", "Ed Other", ["editor"])
    room = hub.ctx.rooms.loaded(record())
    for _ in range(2):
        # The hub goes away for a moment (1012: restarting) and the page comes back by itself.
        before = {conn.id for conn in room.connections}
        room.close_all(1012, "restarting")
        await eventually(
            lambda before=before: {c.principal.sub for c in room.connections if c.id not in before} == {"erin", "ed"},
            what="both pages to reconnect",
        )
        await erin.page.wait_for_selector('#conn-status[data-state="synced"]')
        await erin.field("Notes").press("End")
        await erin.field("Notes").type("!")
    await ed.wait_contains("Notes", "!!")
    await ed.page.wait_for_selector('#presence li[data-user="erin"]')
    await erin.page.wait_for_selector('#store-status[data-state="stored"]')


async def test_viewer_is_read_only(hub: RunningHub, opener: Opener) -> None:
    vera = await opener.page("vera", "Vera Viewer", ["viewer"])
    await vera.page.wait_for_selector('#access[data-can-write="false"]')
    assert await vera.page.locator("#access-actions button").count() == 0
    assert await vera.field("Notes").evaluate("el => el.readOnly")
    assert await vera.page.evaluate("window.collab.setField('Customer', 'nope')") is False
    assert await vera.page.locator("#comment-text").is_disabled()
    await vera.page.wait_for_selector('#presence li[data-user="vera"]')
