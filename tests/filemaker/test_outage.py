"""An outage surfaces as one clear error type: FileMakerUnavailable.

Covered: the web server's HTML 502 when the Data API engine is down, a proxy's non-JSON
503, connection refused, a connection closed without an answer, and a stall longer than
the client's timeout. Each is a real socket; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from collab.filemaker.client import DataAPIClient
from collab.filemaker.errors import FileMakerError, FileMakerUnavailable, ModIdMismatch
from tests.filemaker.conftest import Target, emulator_config
from tests.support.server import free_port, run_app


async def _html_503(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return  # no lifespan support: uvicorn (lifespan="auto") carries on
    body = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
    await send({"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def _hang_up_server() -> AsyncIterator[int]:
    """Accepts connections and closes them without a byte: a crashed engine behind a port."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _client(url: str, **options: Any) -> DataAPIClient:
    return DataAPIClient(url, "Sales", "admin", "admin", timeout=options.pop("timeout", 2.0), **options)


async def test_connection_refused_is_unavailable() -> None:
    port = free_port()  # nothing listens here
    async with _client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(FileMakerUnavailable, match="cannot reach FileMaker Server"):
            await client.get_record("Invoices", "1")


async def test_connection_closed_without_answer_is_unavailable() -> None:
    async with _hang_up_server() as port, _client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(FileMakerUnavailable):
            await client.find("Invoices", [{"Customer": "Acme"}])


async def test_non_json_503_from_a_proxy_is_unavailable() -> None:
    port = free_port()
    config = emulator_config(_html_503, port)
    async with run_app(_html_503, "127.0.0.1", port, config), _client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(FileMakerUnavailable, match="HTTP 503") as caught:
            await client.layouts()
    assert caught.value.http_status == 503
    assert not isinstance(caught.value, FileMakerError)


async def test_html_502_when_the_engine_is_down(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client()
    await client.login()
    emulator.set_outage("502")
    with pytest.raises(FileMakerUnavailable, match="HTTP 502") as caught:
        await client.get_records("Invoices", limit=1)
    assert caught.value.http_status == 502
    emulator.set_outage(None)
    found = await client.get_records("Invoices", limit=1)  # back as soon as the engine is
    assert len(found.records) == 1


async def test_emulated_refusal_is_unavailable(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client()
    emulator.set_outage("refused")
    with pytest.raises(FileMakerUnavailable):
        await client.get_records("Invoices", limit=1)
    emulator.set_outage(None)
    assert len((await client.get_records("Invoices", limit=1)).records) == 1


async def test_stall_beyond_the_timeout_is_unavailable(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client(timeout=0.3)
    await client.login()
    emulator.stall(2.0)
    started = time.monotonic()
    with pytest.raises(FileMakerUnavailable, match="did not answer"):
        await client.get_records("Invoices", limit=1)
    assert time.monotonic() - started < 1.5  # the timeout fired, not the stall's end
    emulator.stall(0)


def _answering(status: int, body: bytes) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"application/json"), (b"x-fm-data-access-token", b"tok-123456")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"{}"),
        (200, b"not json at all"),
        (500, b'{"messages": [], "response": {}}'),
        (500, b'{"messages": [{"code": "abc", "message": "?"}], "response": {}}'),
        (200, b""),
    ],
)
async def test_bodies_that_are_not_data_api_answers(status: int, body: bytes) -> None:
    port = free_port()
    app = _answering(status, body)
    async with run_app(app, "127.0.0.1", port, emulator_config(app, port)):
        async with _client(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(FileMakerUnavailable):
                await client.product_info()


async def test_the_code_decides_not_the_http_status() -> None:
    port = free_port()
    app = _answering(200, b'{"messages": [{"code": "306", "message": ""}], "response": {}}')
    async with run_app(app, "127.0.0.1", port, emulator_config(app, port)):
        async with _client(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(ModIdMismatch, match="306: Record modification ID does not match"):
                await client.edit_record("Invoices", "1", {"Notes": "x"}, mod_id="3")
