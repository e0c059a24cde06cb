"""Edit leases and live connections: renewed while the holder's socket lives, released after
the grace period once it is gone, kept when the holder comes back in time."""

from __future__ import annotations

from pathlib import Path

import httpx

from collab.protocol.control import AccessState
from collab.records import RecordKey
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.locks.support import KEYS, bearer, eventually, token
from tests.support.server import hub_settings, run_hub

RECORD = RecordKey("Sales", "Invoices", KEYS[2])
URL = f"/api/records/{RECORD.room}"


async def test_lease_follows_the_holders_connection(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data", locks={"lease_ttl_seconds": 0.9, "lease_grace_seconds": 0.3})
    ed_tok = token(settings, "ed", "editor")
    ed, eve = bearer(ed_tok), bearer(token(settings, "eve", "editor"))
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as http:
        service = hub.ctx.locks
        holder = YClient(sync_url(hub.ws_url, RECORD, token=ed_tok, control="1"))
        await holder.connect()
        await holder.synced.wait()
        granted = (await http.post(f"{URL}/lease", headers=ed)).json()
        await wait_for(lambda: any(isinstance(m, AccessState) and m.lease_holder == "ed" for m in holder.controls))

        # Renewed while connected: still held after several TTLs, same epoch (renewals are not grants).
        first_expiry = granted["lease_expires_at"]
        later = await eventually(
            lambda: http.get(f"{URL}/lock", headers=eve),
            lambda r: r.json()["lease_expires_at"] > first_expiry and r.json()["holder"] == "ed",
        )
        assert later.json()["epoch"] == granted["epoch"]
        held_since = service.clock()
        await eventually(lambda: _after(service, held_since + 2.0), bool)  # > 2 TTLs of real time
        assert (await http.get(f"{URL}/lock", headers=eve)).json()["holder"] == "ed"

        # Gone: released by the hub after the grace period, with an audit entry.
        await holder.close()
        released = await eventually(lambda: http.get(f"{URL}/lock", headers=eve), lambda r: not r.json()["lease"])
        assert released.json()["epoch"] == granted["epoch"] + 1
        audit = (await http.get(f"{URL}/audit", headers=ed)).json()
        last = audit["entries"][-1]
        assert last["action"] == "expire" and last["role"] == "system" and audit["chain_ok"]

        # A reconnect within the grace period keeps the lease.
        assert (await http.post(f"{URL}/lease", headers=ed)).status_code == 200
        holder = YClient(sync_url(hub.ws_url, RECORD, token=ed_tok, control="1"))
        await holder.connect()
        await holder.synced.wait()
        await holder.close()
        holder = YClient(sync_url(hub.ws_url, RECORD, token=ed_tok, control="1"))
        await holder.connect()
        await holder.synced.wait()
        resumed = service.clock()
        await eventually(lambda: _after(service, resumed + 1.0), bool)
        assert (await http.get(f"{URL}/lock", headers=eve)).json()["holder"] == "ed"
        await holder.close()


async def _after(service: object, moment: float) -> bool:
    return float(service.clock()) >= moment  # type: ignore[attr-defined]


async def test_a_lapsed_lease_tells_connections_they_may_write_again(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data", locks={"lease_ttl_seconds": 0.9, "lease_grace_seconds": 0.3})
    eve_tok = token(settings, "eve", "editor")
    script = {"X-API-Key": settings.server.api_key}
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url, timeout=20) as http:
        eve = YClient(sync_url(hub.ws_url, RECORD, token=eve_tok, control="1"))
        await eve.connect()
        await eve.synced.wait()
        # A script takes the lease over HTTP and never renews it.
        assert (await http.post(f"{URL}/lease", headers=script)).status_code == 200
        await wait_for(lambda: _last_access(eve) is not None and _last_access(eve).reason == "leased")  # type: ignore[union-attr]
        await wait_for(lambda: _last_access(eve) is not None and _last_access(eve).can_write, timeout=5)  # type: ignore[union-attr]
        assert (await http.get(f"{URL}/lock", headers=bearer(eve_tok))).json()["lease"] is False
        await eve.close()


def _last_access(client: YClient) -> AccessState | None:
    states = [m for m in client.controls if isinstance(m, AccessState)]
    return states[-1] if states else None
