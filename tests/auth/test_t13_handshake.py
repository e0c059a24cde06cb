"""T13: bad tokens and foreign Origins are refused before any document byte; no token is logged.

The hub runs with the logging ``collab serve`` configures (``configure_logging``); every log
record (caplog) and everything written to stderr (uvicorn's lines included) is searched for
any piece of any token used here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from pycrdt import Doc, Text

from collab.auth.tokens import mint_token
from collab.logs import configure_logging
from collab.protocol.sync import step1_frame, update_frame
from collab.records import RecordKey
from tests.hub.ysync import sync_url
from tests.locks.support import KEYS, handshake_outcome
from tests.support.server import hub_settings, run_hub

ALLOWED = "https://app.example.com"
RECORD = RecordKey("Sales", "Invoices", KEYS[6])
OTHER = RecordKey("Sales", "Invoices", KEYS[7])


@pytest.fixture
def hub_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    uvicorn = {name: list(logging.getLogger(name).filters) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    configure_logging("info")
    root.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        root.handlers[:], root.level = saved
        for name, filters in uvicorn.items():
            logging.getLogger(name).filters[:] = filters


def _pieces(token: str) -> list[str]:
    """The token and each of its three parts: none may appear in a log line."""
    return [token, *(part for part in token.split(".") if len(part) > 8)]


async def _http_with_query_token(port: int, path: str) -> str:
    """A raw HTTP request (not httpx: the test's own client would log the URL itself)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data.split(b"\r\n", 1)[0].decode()


async def test_bad_handshakes_get_no_document_bytes_and_tokens_stay_out_of_logs(
    tmp_path: Path, hub_logging: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = hub_settings(tmp_path / "data", server={"allowed_origins": [ALLOWED]})
    secret = settings.server.secret
    good = mint_token(secret, sub="ed", roles=["editor"], records=[RECORD.room])
    expired = mint_token(secret, sub="ed", roles=["editor"], records=[RECORD.room], ttl_seconds=1, now=time.time() - 120)
    header, _, signature = good.split(".")
    forged = jwt.utils.base64url_encode(b'{"sub":"ed","roles":["admin"],"records":["*"],"exp":4102444800}').decode()
    tampered = f"{header}.{forged}.{signature}"
    foreign_secret = mint_token("someone-else's-secret-0123456789", sub="ed", roles=["admin"], records=["*"])
    out_of_scope = mint_token(secret, sub="ed", roles=["editor"], records=[OTHER.room])
    used = [good, expired, tampered, foreign_secret, out_of_scope]

    token_cases = {
        "missing": (None, 4401),
        "expired": (expired, 4401),
        "tampered": (tampered, 4401),
        "wrong secret": (foreign_secret, 4401),
        "out of scope": (out_of_scope, 4403),
    }
    foreign_origins = [
        "null",
        "http://evil.test",
        "http://app.example.com",  # http instead of https
        "https://app.example.com:8443",  # port mismatch
        "https://app.example.com.evil.test",  # suffix trick
        "https://evil-app.example.com",
        f"{ALLOWED}/",
    ]
    results: dict[str, tuple[int | None, int]] = {}
    async with run_hub(settings) as hub:
        for name, (tok, _) in token_cases.items():
            params = {"token": tok} if tok else {}
            results[name] = await handshake_outcome(sync_url(hub.ws_url, RECORD, **params), origin=ALLOWED)
        for origin in foreign_origins:
            results[origin] = await handshake_outcome(sync_url(hub.ws_url, RECORD, token=good), origin=origin)
        # The control case: the same socket with an allowed Origin and a good token gets the document.
        admitted = await handshake_outcome(sync_url(hub.ws_url, RECORD, token=good), origin=ALLOWED)

        # An update sent straight after the handshake with a bad token is never applied.
        import websockets

        async with websockets.connect(sync_url(hub.ws_url, RECORD, token=tampered), origin=websockets.typing.Origin(ALLOWED)) as ws:
            intruder = Doc()
            intruder.get("Notes", type=Text).insert(0, "INTRUDER")
            try:
                await ws.send(step1_frame(intruder.get_state()))
                await ws.send(update_frame(intruder.get_update()))
                await ws.wait_closed()
            except websockets.ConnectionClosed:
                pass
        async with hub.ctx.rooms.open(RECORD) as room:
            assert "INTRUDER" not in room.values()["Notes"]

        status = await _http_with_query_token(settings.server.port, f"/api/records/{RECORD.room}/lock?token={good}")
        assert " 200 " in status
        status = await _http_with_query_token(settings.server.port, f"/api/records/{RECORD.room}/lock?token={tampered}")
        assert " 401 " in status

    for name, (_, code) in token_cases.items():
        assert results[name] == (code, 0), name
    for origin in foreign_origins:
        assert results[origin] == (1008, 0), origin
    assert admitted[0] is None and admitted[1] > 0

    logged = [record.getMessage() for record in hub_logging.records]
    logged += capfd.readouterr().err.splitlines()
    assert any("WebSocket /sync/" in line for line in logged)  # uvicorn did log the handshakes...
    leaks = [line for line in logged for token in used for piece in _pieces(token) if piece in line]
    assert leaks == []  # ...with the token redacted
