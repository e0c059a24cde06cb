"""A socket is closed (1008) within seconds once its token expires; others stay open."""

from __future__ import annotations

import time
from pathlib import Path

from collab.auth.tokens import LEEWAY_SECONDS, mint_token
from collab.records import RecordKey
from tests.hub.ysync import YClient, sync_url
from tests.locks.support import KEYS
from tests.support.server import hub_settings, run_hub

RECORD = RecordKey("Sales", "Invoices", KEYS[0])


async def test_expired_token_closes_its_socket(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data")
    secret = settings.server.secret
    # Valid for about one more second, leeway included.
    short = mint_token(secret, sub="ed", roles=["editor"], records=["*"], ttl_seconds=LEEWAY_SECONDS + 1,
                       now=time.time() - LEEWAY_SECONDS)
    long = mint_token(secret, sub="eve", roles=["editor"], records=["*"])
    async with run_hub(settings) as hub:
        stays = YClient(sync_url(hub.ws_url, RECORD, token=long))
        goes = YClient(sync_url(hub.ws_url, RECORD, token=short))
        for client in (stays, goes):
            await client.connect()
            await client.synced.wait()
        started = time.monotonic()
        assert await goes.wait_closed(timeout=10) == 1008
        assert time.monotonic() - started < 1 + 5  # expiry plus at most one sweep and some slack
        assert "token expired" in goes.close_reason
        assert stays.ws is not None and stays.close_code is None and stays._reader is not None and not stays._reader.done()
        await stays.close()
