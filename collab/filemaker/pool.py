"""The hub's FileMaker connections: one Data API client (one token) per database.

Layout metadata is read once per layout and cached: field types decide how values convert
(``collab.filemaker.values``). ``forget_layout`` drops the cache entry when a layout changes
(a 102 after a field was renamed, for example).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import httpx

from collab.filemaker.client import DataAPIClient
from collab.filemaker.errors import DataAPIError, FileMakerUnavailable, InvalidLogin
from collab.filemaker.models import LayoutMetadata
from collab.settings import FileMakerSettings

if TYPE_CHECKING:
    from collab.metrics import Metrics

__all__ = ["FileMakerPool"]

log = logging.getLogger("collab.filemaker")

#: /readyz must answer quickly even when FileMaker stalls.
_CHECK_SECONDS = 5.0


class FileMakerPool:
    def __init__(
        self,
        settings: FileMakerSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._metrics = metrics
        self._clients: dict[str, DataAPIClient] = {}
        self._metadata: dict[tuple[str, str], LayoutMetadata] = {}
        self._metadata_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._closed = False

    def client(self, database: str | None = None) -> DataAPIClient:
        """The cached client for ``database`` (default: ``filemaker.database``)."""
        if self._closed:
            raise FileMakerUnavailable("the FileMaker connection pool is closed (the hub is shutting down)")
        name = database or self.settings.database
        client = self._clients.get(name)
        if client is None:
            if not self.settings.url:
                raise FileMakerUnavailable(
                    "no FileMaker Server is configured: set filemaker.url (COLLAB_FM_URL)"
                )
            client = DataAPIClient(
                self.settings.url,
                name,
                self.settings.username,
                self.settings.password,
                version=self.settings.api_version,
                timeout=self.settings.timeout_seconds,
                verify=self.settings.verify_tls,
                transport=self._transport,
                on_request=self._count,
            )
            self._clients[name] = client
        return client

    async def layout_metadata(self, database: str, layout: str) -> LayoutMetadata:
        """Cached layout metadata; concurrent first reads share one request."""
        key = (database, layout)
        cached = self._metadata.get(key)
        if cached is not None:
            return cached
        lock = self._metadata_locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._metadata.get(key)
            if cached is None:
                cached = await self.client(database).layout_metadata(layout)
                self._metadata[key] = cached
            return cached

    async def field_types(self, database: str, layout: str) -> dict[str, str]:
        """Field name -> fieldMetaData ``result`` (text, number, date, time, timeStamp, container)."""
        return (await self.layout_metadata(database, layout)).field_types()

    def forget_layout(self, database: str, layout: str) -> None:
        self._metadata.pop((database, layout), None)

    async def check(self) -> str | None:
        """None when FileMaker answers and accepts the account; otherwise a sentence for /readyz."""
        where = self.settings.url or "(not configured)"
        try:
            client = self.client()
            async with asyncio.timeout(min(_CHECK_SECONDS, self.settings.timeout_seconds)):
                await client.product_info()
                await client.login()
        except TimeoutError:
            return f"FileMaker Server at {where} did not answer within {_CHECK_SECONDS:g} s"
        except InvalidLogin:
            return f"FileMaker Server at {where} refused the account for database {self.settings.database}"
        except FileMakerUnavailable as exc:
            return exc.detail
        except DataAPIError as exc:
            return f"FileMaker Server at {where} answered with an error: {exc.detail}"
        return None

    async def aclose(self) -> None:
        """Log every session out and close the connections (shutdown)."""
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(client.aclose() for client in clients))

    def _count(self, outcome: str) -> None:
        if self._metrics is None:
            return
        if outcome == "login":
            self._metrics.fm_logins.inc()
        else:
            self._metrics.fm_requests.labels(outcome).inc()
