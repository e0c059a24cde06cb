"""collab needs rooms that are records in FileMaker: create them in the demo emulator through
its Data API, and mint a token the benchmark's clients pass as the ``token`` parameter."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

DATABASE = "Sales"
LAYOUT = "Invoices"
ACCOUNT = ("admin", "admin")


def record_keys(prefix: str, count: int) -> list[str]:
    """Deterministic UUIDs, so a restarted hub (same data dir) finds the same records."""
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"collab-bench/{prefix}/{i}")).upper() for i in range(count)]


def mint(secret: str, ttl_seconds: int = 7200) -> str:
    try:
        from collab.auth.tokens import mint_token

        return mint_token(secret, sub="bench", name="Bench", roles=["editor"], records=["*"], ttl_seconds=ttl_seconds)
    except ImportError:  # before collab.auth existed: the same claims, signed directly
        import jwt

        now = int(time.time())
        claims = {"sub": "bench", "name": "Bench", "roles": ["editor"], "records": ["*"], "iat": now, "exp": now + ttl_seconds}
        return jwt.encode(claims, secret, algorithm="HS256")


class FileMaker:
    """The few Data API calls the benchmark makes against the emulator."""

    def __init__(self, base_url: str) -> None:
        self.base = f"{base_url}/fmi/data/vLatest/databases/{DATABASE}"
        self.token = ""

    async def login(self, client: httpx.AsyncClient) -> str:
        res = await client.post(f"{self.base}/sessions", auth=ACCOUNT, json={})
        res.raise_for_status()
        self.token = res.json()["response"]["token"]
        return self.token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def find(self, client: httpx.AsyncClient, key: str) -> str | None:
        res = await client.post(
            f"{self.base}/layouts/{LAYOUT}/_find",
            headers=self._headers(),
            json={"query": [{"UUID": f"=={key}"}], "limit": 1},
        )
        if res.status_code != 200:
            return None
        data = res.json()["response"].get("data") or []
        return str(data[0]["recordId"]) if data else None

    async def create(self, client: httpx.AsyncClient, key: str, n: int) -> str:
        body: dict[str, Any] = {"fieldData": {"UUID": key, "Customer": f"Bench {n}", "Notes": ""}}
        res = await client.post(f"{self.base}/layouts/{LAYOUT}/records", headers=self._headers(), json=body)
        if res.status_code != 200:
            raise RuntimeError(f"emulator refused a record: {res.status_code} {res.text[:300]}")
        return str(res.json()["response"]["recordId"])


async def login(base_url: str) -> str:
    async with httpx.AsyncClient(timeout=30.0) as client:
        return await FileMaker(base_url).login(client)


async def ensure_records(base_url: str, keys: list[str], *, check_existing: bool, concurrency: int = 16) -> tuple[dict[str, str], str]:
    """recordId per key (created if missing) and a Data API token for polling."""
    fm = FileMaker(base_url)
    ids: dict[str, str] = {}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        await fm.login(client)
        sem = asyncio.Semaphore(concurrency)

        async def one(n: int, key: str) -> None:
            async with sem:
                found = await fm.find(client, key) if check_existing else None
                ids[key] = found or await fm.create(client, key, n)

        await asyncio.gather(*(one(n, key) for n, key in enumerate(keys)))
    return ids, fm.token
