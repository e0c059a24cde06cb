"""Every lock route and the socket write, against every kind of caller.

Callers: viewer, editor, approver, admin (tokens scoped to Sales/Invoices/*), an editor whose
token covers another record only ("scope"), the script key, and nobody. Before each call the
record is put into the state the route needs (by other people), so only the caller varies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pycrdt import Text

from collab.protocol.control import Rejected
from collab.records import RecordKey
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.locks.support import KEYS, bearer, handshake_outcome, token
from tests.support.server import hub_settings, run_hub

CALLERS = ("viewer", "editor", "approver", "admin", "scope", "api_key", "nobody")

# route -> (setup state, method, path, body, expected status per caller)
MATRIX: dict[str, tuple[str, str, str, dict[str, Any] | None, dict[str, int]]] = {
    "lock": ("open", "GET", "/lock", None, dict(viewer=200, editor=200, approver=200, admin=200, scope=403, api_key=200, nobody=401)),
    "audit": ("open", "GET", "/audit", None, dict(viewer=403, editor=200, approver=200, admin=200, scope=403, api_key=200, nobody=401)),
    "submit": ("open", "POST", "/approval/submit", None, dict(viewer=403, editor=200, approver=403, admin=200, scope=403, api_key=200, nobody=401)),
    "approve": ("submitted", "POST", "/approval/approve", None, dict(viewer=403, editor=403, approver=200, admin=200, scope=403, api_key=200, nobody=401)),
    "reject": ("submitted", "POST", "/approval/reject", {"comment": "no"}, dict(viewer=403, editor=403, approver=200, admin=200, scope=403, api_key=200, nobody=401)),
    "withdraw": ("submitted", "POST", "/approval/withdraw", None, dict(viewer=403, editor=403, approver=403, admin=200, scope=403, api_key=200, nobody=401)),
    "reopen-rejected": ("rejected", "POST", "/approval/reopen", None, dict(viewer=403, editor=200, approver=403, admin=200, scope=403, api_key=200, nobody=401)),
    "reopen-approved": ("approved", "POST", "/approval/reopen", None, dict(viewer=403, editor=403, approver=403, admin=200, scope=403, api_key=200, nobody=401)),
    "lease": ("open", "POST", "/lease", None, dict(viewer=403, editor=200, approver=403, admin=200, scope=403, api_key=200, nobody=401)),
    "release": ("leased", "DELETE", "/lease", None, dict(viewer=403, editor=403, approver=403, admin=200, scope=403, api_key=200, nobody=401)),
}


async def _reset(client: httpx.AsyncClient, url: str, key: dict[str, str], sam: dict[str, str], apo: dict[str, str], want: str) -> None:
    """Bring the record to ``want``: first back to open and unleased (script key), then onward (others)."""
    now = (await client.get(f"{url}/lock", headers=key)).json()
    if now["lease"]:
        assert (await client.delete(f"{url}/lease", headers=key)).status_code == 200
    if now["state"] == "submitted":
        assert (await client.post(f"{url}/approval/withdraw", headers=key)).status_code == 200
    elif now["state"] in ("approved", "rejected"):
        assert (await client.post(f"{url}/approval/reopen", headers=key)).status_code == 200
    steps = {
        "open": [],
        "leased": [("POST", "/lease", sam, None)],
        "submitted": [("POST", "/approval/submit", sam, None)],
        "rejected": [("POST", "/approval/submit", sam, None), ("POST", "/approval/reject", apo, {"comment": "x"})],
        "approved": [("POST", "/approval/submit", sam, None), ("POST", "/approval/approve", apo, None)],
    }[want]
    for method, path, who, body in steps:
        response = await client.request(method, url + path, headers=who, json=body)
        assert response.status_code == 200, (want, path, response.text)


async def test_every_route_against_every_caller(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data")
    record = f"Sales/Invoices/{KEYS[3]}"
    headers = {
        "viewer": bearer(token(settings, "vic", "viewer")),
        "editor": bearer(token(settings, "eddy", "editor")),
        "approver": bearer(token(settings, "ada", "approver")),
        "admin": bearer(token(settings, "root", "admin")),
        "scope": bearer(token(settings, "oscar", "editor", "approver", records=(f"Sales/Invoices/{KEYS[4]}",))),
        "api_key": {"X-API-Key": settings.server.api_key},
        "nobody": {},
    }
    sam, apo = bearer(token(settings, "sam", "editor")), bearer(token(settings, "apo", "approver"))
    url = f"/api/records/{record}"
    wrong: list[str] = []
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as client:
        for route, (state, method, path, body, expected) in MATRIX.items():
            for caller in CALLERS:
                await _reset(client, url, headers["api_key"], sam, apo, state)
                response = await client.request(method, url + path, headers=headers[caller], json=body)
                if response.status_code != expected[caller]:
                    wrong.append(f"{route} as {caller}: {response.status_code} {response.text[:120]}")
                elif response.status_code >= 400:
                    assert response.headers["content-type"].startswith("application/problem+json")
                    assert response.json()["code"] in ("not_allowed", "out_of_scope", "token_missing")

        listing = {caller: await client.get("/api/approvals?state=all", headers=headers[caller]) for caller in CALLERS}
        assert listing["nobody"].status_code == 401
        assert listing["viewer"].json()["count"] >= 1
        assert listing["scope"].json()["records"] == []  # sees nothing of records outside its scope
    assert wrong == [], "\n".join(wrong)


async def test_socket_writes_by_role(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data")
    record = RecordKey("Sales", "Invoices", KEYS[5])
    tokens = {
        "viewer": token(settings, "vic", "viewer"),
        "editor": token(settings, "eddy", "editor"),
        "approver": token(settings, "ada", "approver"),
        "admin": token(settings, "root", "admin"),
    }
    outcome: dict[str, str] = {}
    async with run_hub(settings) as hub:
        for role, tok in tokens.items():
            async with YClient(sync_url(hub.ws_url, record, token=tok, control="1")) as client:
                await client.synced.wait()
                await client.edit(lambda doc, r=role: doc.get("Notes", type=Text).insert(0, f"[{r}]"))
                await wait_for(
                    lambda c=client: c.stored >= c.sent or any(isinstance(m, Rejected) for m in c.controls)
                )
                outcome[role] = "rejected" if any(isinstance(m, Rejected) for m in client.controls) else "stored"
        scoped = token(settings, "oscar", "editor", records=(f"Sales/Invoices/{KEYS[4]}",))
        code, frames = await handshake_outcome(sync_url(hub.ws_url, record, token=scoped, control="1"))
        outcome["scope"] = f"closed {code}"
        assert frames == 0
        async with hub.ctx.rooms.open(record) as room:
            notes = room.values()["Notes"]
    assert outcome == {
        "viewer": "rejected",
        "editor": "stored",
        "approver": "rejected",
        "admin": "stored",
        "scope": "closed 4403",
    }
    assert "[editor]" in notes and "[admin]" in notes and "[viewer]" not in notes and "[approver]" not in notes
