"""The lock and approval HTTP API on a running hub with the emulator: the whole story."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.locks.support import BASE, KEYS, bearer, eventually, fm_record, token
from tests.support.server import hub_settings, run_hub


async def test_submit_approve_reaches_filemaker_and_survives_restart(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data", writeback={"debounce_ms": 50, "ceiling_ms": 200})
    ed, ann = bearer(token(settings, "ed", "editor")), bearer(token(settings, "ann", "approver"))
    url = f"{BASE}/{KEYS[0]}"
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as client:
        first = (await client.get(f"{url}/lock", headers=ed)).json()
        assert first["state"] == "open" and first["epoch"] == 0 and first["can_edit"] is True
        assert first["actions"] == ["submit", "lease"] and first["can_submit"] is True

        own = await client.post(f"{url}/approval/approve", headers=ed)
        assert own.status_code == 403 and own.json()["code"] == "not_allowed"

        submitted = await client.post(f"{url}/approval/submit", headers=ed, json={"expected_epoch": 0})
        assert submitted.status_code == 200, submitted.text
        body = submitted.json()
        assert body["state"] == "submitted" and body["epoch"] == 1 and body["can_edit"] is False
        assert body["reason"] == "submitted" and body["actions"] == ["withdraw"]

        stale = await client.post(f"{url}/approval/approve", headers=ann, json={"expected_epoch": 0})
        assert stale.status_code == 409 and stale.json()["code"] == "stale_epoch"
        waiting = (await client.get("/api/approvals?state=submitted", headers=ann)).json()
        assert [r["key"] for r in waiting["records"]] == [KEYS[0]] and waiting["records"][0]["can_approve"]

        no_comment = await client.post(f"{url}/approval/reject", headers=ann, json={})
        assert no_comment.status_code == 409 and no_comment.json()["code"] == "comment_required"
        approved = await client.post(f"{url}/approval/approve", headers=ann, json={"expected_epoch": 1, "comment": "ok"})
        assert approved.status_code == 200 and approved.json()["state"] == "approved"

        fm = await eventually(lambda: fm_record(client, KEYS[0]), lambda r: r.get("Status") == "Approved")
        assert fm["ApprovedBy"] == "Ann" and fm["ApprovedAt"]

        audit = (await client.get(f"{url}/audit", headers=ann)).json()
        assert audit["chain_ok"] is True and [e["action"] for e in audit["entries"]] == ["submit", "approve"]
        assert audit["entries"][0]["values_hash"] == audit["entries"][1]["values_hash"]  # nothing changed meanwhile
        assert audit["entries"][1]["role"] == "approver" and audit["entries"][1]["prev"] == audit["entries"][0]["hash"]

        events = (await client.get("/api/events?since=0&types=approval.changed", headers=ann)).json()["events"]
        mine = [e for e in events if e["key"] == KEYS[0]]
        assert [e["payload"]["state"] for e in mine] == ["submitted", "approved"]
        assert [e["actor"] for e in mine] == ["ed", "ann"]

    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as client:
        again = (await client.get(f"{url}/lock", headers=ed)).json()
        assert again["state"] == "approved" and again["epoch"] == 2 and again["approvals"] == ["ann"]
        assert (await client.get(f"{url}/audit", headers=ann)).json()["chain_ok"] is True


async def test_lease_conflicts_and_release(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data")
    ed, eve = bearer(token(settings, "ed", "editor")), bearer(token(settings, "eve", "editor"))
    admin = bearer(token(settings, "root", "admin"))
    url = f"{BASE}/{KEYS[1]}"
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as client:
        taken = (await client.post(f"{url}/lease", headers=ed)).json()
        assert taken["holder"] == "ed" and taken["leased_by_me"] and taken["epoch"] == 1
        renewed = (await client.post(f"{url}/lease", headers=ed)).json()
        assert renewed["epoch"] == 1 and renewed["lease_expires_at"] >= taken["lease_expires_at"]

        theirs = (await client.get(f"{url}/lock", headers=eve)).json()
        assert theirs["can_edit"] is False and theirs["reason"] == "leased" and theirs["holder_name"] == "Ed"
        for method, path in (("POST", "/lease"), ("POST", "/approval/submit")):
            refused = await client.request(method, f"{url}{path}", headers=eve)
            assert refused.status_code == 409 and refused.json()["code"] == "leased"
        refused = await client.delete(f"{url}/lease", headers=eve)
        assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"

        stale = await client.delete(f"{url}/lease?expected_epoch=0", headers=ed)
        assert stale.status_code == 409 and stale.json()["code"] == "stale_epoch"
        released = await client.delete(f"{url}/lease?expected_epoch=1", headers=ed)
        assert released.status_code == 200 and released.json()["lease"] is False and released.json()["epoch"] == 2
        gone = await client.delete(f"{url}/lease", headers=ed)
        assert gone.status_code == 409 and gone.json()["code"] == "not_leased"

        assert (await client.post(f"{url}/lease", headers=eve)).json()["epoch"] == 3
        assert (await client.delete(f"{url}/lease", headers=admin)).status_code == 200


async def test_unknown_layout_and_action(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data")
    admin = bearer(token(settings, "root", "admin", records=("*",)))
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as client:
        missing = await client.get("/api/records/Sales/Nope/K/lock", headers=admin)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        bogus = await client.post(f"{BASE}/{KEYS[2]}/approval/delete", headers=admin)
        assert bogus.status_code == 404
        bad = await client.post(f"{BASE}/{KEYS[2]}/approval/submit", headers=admin, content=b"{oops")
        assert bad.status_code == 400
        nowhere = await client.post(f"{BASE}/NO-SUCH-INVOICE/lease", headers=admin)
        assert nowhere.status_code == 404, nowhere.text
        assert (await client.get(f"{BASE}/NO-SUCH-INVOICE/lock", headers=admin)).json()["state"] == "open"


async def test_two_distinct_approvers(tmp_path: Path) -> None:
    import msgspec

    from collab.settings import DEMO_LAYOUT

    base = hub_settings(tmp_path / "data", writeback={"debounce_ms": 50, "ceiling_ms": 200})
    settings = base.replace(layouts=[msgspec.structs.replace(DEMO_LAYOUT, approvals_required=2)])
    ed, ann, abe = (bearer(token(settings, name, role)) for name, role in (("ed", "editor"), ("ann", "approver"), ("abe", "approver")))
    url = f"{BASE}/{KEYS[5]}"
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as client:
        assert (await client.post(f"{url}/approval/submit", headers=ed)).status_code == 200
        one = (await client.post(f"{url}/approval/approve", headers=ann)).json()
        assert one["state"] == "submitted" and one["approval_count"] == 1 and one["approvals_required"] == 2
        again = await client.post(f"{url}/approval/approve", headers=ann)
        assert again.status_code == 409 and again.json()["code"] == "already_approved"
        two = (await client.post(f"{url}/approval/approve", headers=abe)).json()
        assert two["state"] == "approved" and two["approvals"] == ["ann", "abe"]
        fm = await eventually(lambda: fm_record(client, KEYS[5]), lambda r: r.get("Status") == "Approved")
        assert fm["ApprovedBy"] == "Ann, Abe"
