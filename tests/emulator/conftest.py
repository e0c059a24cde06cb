"""Emulator tests run the real thing: the Emulator's ASGI app under uvicorn on a free
loopback port, talked to over HTTP with httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from collab.filemaker.emulator import Emulator
from tests.support.server import free_port, run_app

FIRST_UUID = "8D1F5E2A-0001-4000-8000-000000000001"


class Api:
    """A thin Data API caller: paths are relative to /fmi/data/{version}/databases/Sales."""

    def __init__(self, http: httpx.AsyncClient, version: str = "vLatest") -> None:
        self.http = http
        self.version = version
        self.token: str | None = None

    def url(self, path: str, version: str | None = None) -> str:
        return f"/fmi/data/{version or self.version}/databases/Sales{path}"

    async def login(self, user: str = "admin", password: str = "admin") -> str:
        r = await self.http.post(self.url("/sessions"), auth=(user, password), json={})
        assert r.status_code == 200, r.text
        self.token = r.json()["response"]["token"]
        return self.token

    async def call(
        self, method: str, path: str, *, json: Any = None, params: Any = None, version: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if self.token and "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = f"Bearer {self.token}"
        return await self.http.request(method, self.url(path, version), json=json, params=params, headers=headers, **kw)


def code(response: httpx.Response) -> str:
    return str(response.json()["messages"][0]["code"])


def body(response: httpx.Response) -> Any:
    return response.json()["response"]


@pytest.fixture
def emulator() -> Emulator:
    emu = Emulator()
    yield emu
    emu.close()


@pytest.fixture
async def base_url(emulator: Emulator) -> AsyncIterator[str]:
    port = free_port()
    async with run_app(emulator.app, "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        yield client


@pytest.fixture
async def api(http: httpx.AsyncClient) -> Api:
    client = Api(http)
    await client.login()
    return client
