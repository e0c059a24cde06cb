"""FileMaker's Insert From URL is curl: drive the script recipes with the curl binary itself.

The options are exactly the ones docs/filemaker.md ("Script recipes") puts in the cURL options
calculation: ``--max-time 30 -D $headers --header "Authorization: Bearer ..."`` (and for POSTs
``-X POST --header "Content-Type: application/json" --data @$body``). FileMaker fills ``$headers``
and reads ``@$body`` from variables; here they are files.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from collab.settings import Settings
from tests.events.conftest import FAST_EVENTS
from tests.support.server import RunningHub, hub_settings, run_hub

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")

KEY = "8D1F5E2A-0002-4000-8000-000000000002"
RECORD = f"Sales/Invoices/{KEY}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return hub_settings(tmp_path / "data", events=FAST_EVENTS)


@pytest.fixture
async def demo(settings: Settings) -> AsyncIterator[RunningHub]:
    async with run_hub(settings) as running:
        yield running


class Curl:
    def __init__(self, base: str, tmp: Path) -> None:
        self.base = base
        self.tmp = tmp
        self.calls = 0

    async def __call__(self, path: str, *, token: str = "", api_key: str = "", body: Any = None) -> tuple[int, dict[str, Any]]:
        """One Insert From URL step; returns (HTTP status from the -D header file, JSON body)."""
        self.calls += 1
        headers = self.tmp / f"headers-{self.calls}.txt"
        options = ["--max-time", "30", "-D", str(headers)]
        if token:
            options += ["--header", f"Authorization: Bearer {token}"]
        if api_key:
            options += ["-H", f"X-API-Key: {api_key}"]
        if body is not None:
            data = self.tmp / f"body-{self.calls}.json"
            data.write_text(json.dumps(body))
            options += ["-X", "POST", "--header", "Content-Type: application/json", "--data", f"@{data}"]
        process = await asyncio.create_subprocess_exec(
            "curl", "-sS", *options, self.base + path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        status_line = headers.read_text().splitlines()[0]  # "HTTP/1.1 200 OK", what a script tests
        result: dict[str, Any] = json.loads(out)
        return int(status_line.split()[1]), result


async def test_script_recipes_with_curl(demo: RunningHub, tmp_path: Path) -> None:
    curl = Curl(demo.url, tmp_path)
    key = demo.settings.server.api_key

    # Token fetch (the tokens section): X-API-Key -> a token for the editor and the approver.
    status, minted = await curl("/api/tokens", api_key=key, body={"user": "ed", "name": "Ed", "roles": ["editor"],
                                                                   "records": ["Sales/Invoices/*"]})
    assert status == 201, minted
    editor = minted["token"]
    status, minted = await curl("/api/tokens", api_key=key, body={"user": "ann", "roles": ["approver"],
                                                                   "records": ["Sales/Invoices/*"]})
    approver = minted["token"]

    # Check the lock before editing.
    status, lock = await curl(f"/api/records/{RECORD}/lock", token=editor)
    assert status == 200 and lock["state"] == "open" and lock["can_edit"] is True

    # Long-poll loop, first call without since ("from now"); keep "next" as the cursor.
    status, first = await curl(f"/api/events?record={RECORD}", token=approver)
    assert status == 200 and first["events"] == [] and isinstance(first["poll_after_ms"], int)
    cursor = first["next"]
    held = asyncio.create_task(curl(f"/api/events?since={cursor}&wait=25&record={RECORD}", token=approver))

    status, submitted = await curl(f"/api/records/{RECORD}/approval/submit", token=editor,
                                   body={"expected_epoch": lock["epoch"]})
    assert status == 200 and submitted["state"] == "submitted", submitted
    status, woke = await asyncio.wait_for(held, 30)
    assert status == 200
    approval = next(e for e in woke["events"] if e["type"] == "approval.changed")
    assert approval["payload"]["state"] == "submitted" and approval["actor"] == "ed"
    cursor = woke["next"]

    # Approve from a script, then the loop sees it; the lock says so too.
    status, approved = await curl(f"/api/records/{RECORD}/approval/approve", token=approver,
                                  body={"expected_epoch": submitted["epoch"], "comment": "ok from a script"})
    assert status == 200 and approved["state"] == "approved", approved
    status, more = await curl(f"/api/events?since={cursor}&wait=25&record={RECORD}&types=approval.changed",
                              token=approver)
    assert [e["payload"]["state"] for e in more["events"]] == ["approved"] and more["next"] > cursor
    status, lock = await curl(f"/api/records/{RECORD}/lock", token=editor)
    assert lock["state"] == "approved" and lock["can_edit"] is False

    # Record state in one call; a refused write comes back as a problem with a stable code.
    status, state = await curl(f"/api/records/{RECORD}", token=editor)
    assert status == 200 and state["state"] == "approved" and state["values"]["UUID"] == KEY
    status, refused = await curl(f"/api/records/{RECORD}/fields", token=editor, body={"fields": {"Notes": "late"}})
    assert (status, refused["code"]) == (409, "approved")
    status, denied = await curl(f"/api/records/{RECORD}/lock", token="not-a-token")
    assert status == 401 and denied["code"]
