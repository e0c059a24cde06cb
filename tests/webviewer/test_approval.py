"""The approval flow across two pages and the dashboard: submit, read-only, approve."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.server import RunningHub
from tests.webviewer.conftest import Opener
from tests.webviewer.helpers import DEMO_KEY, eventually, filemaker_values, hub_values

pytestmark = pytest.mark.browser

ROW = f'tr[data-record="Sales/Invoices/{DEMO_KEY}"]'


async def test_submit_dashboard_approve(hub: RunningHub, opener: Opener, artifacts: Path) -> None:
    erin = await opener.page("erin", "Erin Editor", ["editor"])
    ed = await opener.page("ed", "Ed Other", ["editor"])
    dashboard = await opener.dashboard("avery", "Avery Approver")
    await dashboard.page.wait_for_selector("#empty:not([hidden])")

    # Both editors may write while the record is open.
    for viewer in (erin, ed):
        await viewer.page.wait_for_selector('#access[data-state="open"][data-can-write="true"]')
        assert not await viewer.field("Notes").evaluate("el => el.readOnly")

    await erin.page.fill("#action-comment", "ready for review")
    await erin.page.click('#access button[data-action="submit"]')

    # The other page turns read-only; so does the submitter's own page.
    for viewer in (ed, erin):
        await viewer.page.wait_for_selector('#access[data-state="submitted"][data-can-write="false"]')
        await viewer.page.wait_for_function("() => document.querySelector('[data-field=\"Notes\"]').readOnly")
        await viewer.page.wait_for_function("() => document.querySelector('[data-field=\"Customer\"]').readOnly")
    await erin.page.wait_for_selector('#access button[data-action="withdraw"]')
    assert await ed.page.locator('#access button[data-action="approve"]').count() == 0

    # The dashboard lists it, live (SSE), with the submitter and the record's values.
    await dashboard.page.wait_for_selector(ROW)
    row = dashboard.page.locator(ROW)
    await row.locator("td.summary").filter(has_text="Customer").wait_for()
    assert "Erin Editor" in (await row.inner_text())
    await dashboard.screenshot(artifacts / "webviewer-dashboard.png")

    await row.locator("input.comment").fill("looks right")
    await row.locator('button[data-action="approve"]').click()

    # Both pages show it, the dashboard no longer lists it, and FileMaker's status fields say so.
    for viewer in (erin, ed):
        await viewer.page.wait_for_selector('#access[data-state="approved"][data-can-write="false"]')
        await viewer.page.wait_for_function(
            "() => document.querySelector('[data-field=\"Status\"]').value === 'Approved'"
        )
        await viewer.page.wait_for_function(
            "() => document.querySelector('[data-field=\"ApprovedBy\"]').value.indexOf('Avery Approver') !== -1"
        )
    await dashboard.page.wait_for_selector(ROW, state="detached")
    await dashboard.page.wait_for_selector("#empty:not([hidden])")
    assert (hub_values(hub) or {}).get("Status") == "Approved"
    await eventually(lambda: filemaker_values(hub).get("Status") == "Approved", what="FileMaker's Status field")
    fm = filemaker_values(hub)
    assert "Avery Approver" in fm["ApprovedBy"]
    assert fm["ApprovedAt"]
    await erin.screenshot(artifacts / "webviewer-approved.png")
