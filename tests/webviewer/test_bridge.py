"""The FileMaker bridge: a late `window.FileMaker`, and `window.collab` called by FileMaker scripts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.server import RunningHub
from tests.webviewer.conftest import Opener
from tests.webviewer.helpers import WebViewer, eventually, filemaker_values, hub_values

pytestmark = pytest.mark.browser

# FileMaker injects its object only after the page has loaded; this one appears 1.5 s after
# the page is up (window.collab exists), so the test can act before it is there.
LATE_FILEMAKER = """
window.__fmCalls = [];
window.__fmInjectedAt = 0;
(function wait () {
  if (!window.collab) { setTimeout(wait, 20); return; }
  setTimeout(function () {
    window.__fmInjectedAt = Date.now();
    window.FileMaker = {
      PerformScript: function (script, parameter) {
        window.__fmCalls.push({ fn: 'PerformScript', script: script, parameter: parameter, at: Date.now() });
      },
      PerformScriptWithOption: function (script, parameter, option) {
        window.__fmCalls.push({ fn: 'PerformScriptWithOption', script: script, parameter: parameter, option: option, at: Date.now() });
      }
    };
  }, 1500);
})();
"""


async def perform_javascript(viewer: WebViewer, function: str, *parameters: str) -> Any:
    """What the Perform JavaScript in Web Viewer step does: call a named function with text parameters."""
    return await viewer.page.evaluate(
        "([name, args]) => { const path = name.split('.'); let target = window;"
        " for (const part of path.slice(0, -1)) target = target[part];"
        " return target[path[path.length - 1]](...args) }",
        [function, list(parameters)],
    )


async def calls(viewer: WebViewer) -> list[dict[str, Any]]:
    raw = await viewer.page.evaluate("window.__fmCalls")
    out = []
    for call in raw:
        event = json.loads(call["parameter"])
        out.append({**call, "event": event})
    return out


async def wait_event(viewer: WebViewer, name: str, **match: Any) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        for call in await calls(viewer):
            event = call["event"]
            if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                return call
        return None

    found: dict[str, Any] = await eventually(find, what=f"a {name} event {match}")
    return found


async def test_bridge_and_perform_javascript(hub: RunningHub, opener: Opener) -> None:
    editor = await opener.page(
        "erin", "Erin Editor", ["editor"], query="fmscript=Collab%20Bridge", init_script=LATE_FILEMAKER
    )
    # Before FileMaker's object exists, events are queued, not lost.
    assert await editor.page.evaluate("typeof window.FileMaker") == "undefined"
    assert json.loads(await perform_javascript(editor, "collab.getState", "early"))["filemaker"] is False
    early = await wait_event(editor, "state", id="early")
    injected = await editor.page.evaluate("window.__fmInjectedAt")
    assert injected and early["at"] >= injected
    assert early["fn"] == "PerformScriptWithOption"
    assert early["script"] == "Collab Bridge" and early["option"] == "0"
    assert early["event"]["record"].startswith("Sales/Invoices/")

    # setField with text parameters, as FileMaker passes them; numbers become numbers.
    assert await perform_javascript(editor, "collab.setField", "Customer", "Bridge Customer Inc") is True
    assert await perform_javascript(editor, "collab.setField", "Amount", "1999.5") is True
    assert await perform_javascript(editor, "collab.setField", "InvoiceNo", "7") is False  # read-only
    assert await editor.value("Customer") == "Bridge Customer Inc"
    await eventually(lambda: (hub_values(hub) or {}).get("Amount") == 1999.5, what="the hub's Amount")
    saved = await wait_event(editor, "saved")
    assert saved["event"]["modId"]
    await eventually(
        lambda: filemaker_values(hub).get("Customer") == "Bridge Customer Inc", what="FileMaker's Customer"
    )

    await perform_javascript(editor, "collab.focusField", "Notes")
    assert await editor.page.evaluate("document.activeElement.dataset.field") == "Notes"

    # Approval actions from FileMaker, and the approval and lock events coming back to it.
    await perform_javascript(editor, "collab.submit", "sent from a FileMaker script")
    approval = await wait_event(editor, "approval", state="submitted")
    assert approval["event"]["previous"] == "open"
    lock = await wait_event(editor, "lock", canWrite=False)
    assert lock["event"]["reason"] == "submitted"
    assert await perform_javascript(editor, "collab.setField", "Customer", "too late") is False

    approver = await opener.page("avery", "Avery Approver", ["approver"])
    await approver.page.wait_for_selector('#access[data-state="submitted"] button[data-action="approve"]')
    await perform_javascript(approver, "collab.approve", "approved from FileMaker")
    await wait_event(editor, "approval", state="approved")

    state = json.loads(await perform_javascript(editor, "collab.getState", "req-7"))
    assert state["access"]["state"] == "approved" and state["canWrite"] is False
    assert state["values"]["Customer"] == "Bridge Customer Inc"
    assert state["filemaker"] is True
    reply = await wait_event(editor, "state", id="req-7")
    assert reply["event"]["state"]["access"]["state"] == "approved"
    # A refused action is reported to FileMaker too (an editor cannot approve).
    await perform_javascript(editor, "collab.approve", "")
    refused = await wait_event(editor, "action", action="approve", ok=False)
    assert refused["event"]["message"]


IMMEDIATE_FILEMAKER = """
window.__fmCalls = [];
window.FileMaker = {
  PerformScriptWithOption: function (script, parameter, option) {
    window.__fmCalls.push({ fn: 'PerformScriptWithOption', script: script, parameter: parameter, option: option, at: Date.now() });
  }
};
"""


async def test_refused_token_is_reported_and_replaced(hub: RunningHub, opener: Opener) -> None:
    erin = await opener.page("erin", "Erin Editor", ["editor"], init_script=IMMEDIATE_FILEMAKER)
    # The token stops working (here: replaced by a bad one) and the connection drops.
    assert await perform_javascript(erin, "collab.setToken", "not.a.token") is True
    await erin.context.set_offline(True)
    await erin.page.wait_for_selector('#conn-status[data-state="offline"]')
    await erin.context.set_offline(False)
    closed = await wait_event(erin, "closed", code=4401)
    assert closed["script"] == "collab event"
    await erin.page.wait_for_selector('#conn-status[data-state="refused"]')
    # FileMaker mints a new one and hands it over; the page carries on where it was.
    fresh = opener.token("erin", "Erin Editor", ["editor"])
    await perform_javascript(erin, "collab.setToken", fresh)
    await erin.page.wait_for_selector('#conn-status[data-state="synced"]')
    await erin.page.wait_for_selector("#notice", state="hidden")
    assert await perform_javascript(erin, "collab.setField", "Customer", "After a new token") is True
    await eventually(lambda: (hub_values(hub) or {}).get("Customer") == "After a new token", what="the edit")
