"""One Data API session: the HTTP connection pool, the token, and reading envelopes.

- Lazy login; the token comes from ``X-FM-Data-Access-Token`` (or ``response.token``).
- 952 (expired token, server restart) triggers a *single-flight* re-login: a lock plus a
  generation counter, so however many calls fail with the same token, one login happens;
  each failed call is replayed exactly once.
- After 212 (wrong account or password) no login is tried for 30 seconds: FileMaker counts
  failed logins, and a hub retrying on every call could get the account locked.
- Errors are decided on ``messages[0].code``. A body that is not a Data API envelope
  (an HTML 502 page, a proxy's 503) and every transport failure or timeout become
  ``FileMakerUnavailable``.
- Neither the password nor the token is ever logged: log lines name paths without the
  token, and ``collab.logs`` scrubs the HTTP libraries' own lines.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from collab import logs
from collab.filemaker.errors import DataAPIError, FileMakerUnavailable, InvalidLogin, InvalidToken, error_for

__all__ = ["DataAPISession", "segment"]

log = logging.getLogger("collab.filemaker")
logs.install_redaction()

VERSIONS = ("v1", "v2", "vLatest")
LOGIN_HOLD_OFF_SECONDS = 30.0


def segment(value: str) -> str:
    """One percent-encoded path segment (a ``/`` in a layout name becomes ``%2F``)."""
    return quote(str(value), safe="")


class DataAPISession:
    def __init__(
        self,
        base_url: str,
        database: str,
        username: str,
        password: str,
        *,
        version: str = "vLatest",
        timeout: float = 10.0,
        verify: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"FileMaker URL must start with http:// or https://, got {base_url!r}")
        if version not in VERSIONS:
            raise ValueError(f"Data API version must be one of {VERSIONS}, got {version!r}")
        if not database:
            raise ValueError("a FileMaker database name is required")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.base_url = base_url.rstrip("/")
        self.database = database
        self.root = f"/fmi/data/{version}"
        self.db_path = f"{self.root}/databases/{segment(database)}"
        self.timeout = timeout
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._basic = f"Basic {credentials}"
        logs.register_secret(password)
        logs.register_secret(credentials)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            verify=verify,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._on_request = on_request
        self._token: str | None = None
        self._generation = 0
        self._lock = asyncio.Lock()
        #: Globals are session-scoped in FileMaker: re-sent after every new login.
        self._globals: dict[str, Any] = {}
        #: After 212 the same account is not tried again for a while (FileMaker counts failed
        #: logins and may lock the account); calls meanwhile get the same InvalidLogin.
        self._refused: tuple[float, InvalidLogin] | None = None
        self._closed = False

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    # -- requests ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """An authenticated call; on 952 re-login (single-flight) and replay exactly once."""
        token, generation = await self._current_token()
        try:
            return await self._exchange(method, path, json=json, params=params, token=token)
        except InvalidToken:
            await self._relogin(generation)
            token, _ = await self._current_token()
            return await self._exchange(method, path, json=json, params=params, token=token)

    async def call_open(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, basic: bool = False
    ) -> dict[str, Any]:
        """A call without a session token (productInfo, database names)."""
        headers = {"Authorization": self._basic} if basic else None
        return await self._exchange(method, path, params=params, headers=headers)

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        label: str | None = None,
        login: bool = False,
    ) -> dict[str, Any]:
        if self._closed:
            raise FileMakerUnavailable("the Data API client is closed")
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        label = label or f"{method} {path}"
        try:
            # httpx's timeouts are per phase (and an in-process transport has none): the
            # deadline bounds the whole exchange, so ``timeout`` means what it says.
            async with asyncio.timeout(self.timeout):
                response = await self._http.request(method, path, json=json, params=params, headers=sent)
        except (httpx.TimeoutException, TimeoutError) as exc:
            self._count("unavailable")
            raise FileMakerUnavailable(
                f"FileMaker Server at {self.base_url} did not answer {label} within {self.timeout:g} s"
            ) from exc
        except httpx.TransportError as exc:
            self._count("unavailable")
            reason = logs.redact(str(exc)) or type(exc).__name__
            raise FileMakerUnavailable(
                f"cannot reach FileMaker Server at {self.base_url} ({label}): {reason}"
            ) from exc
        try:
            body = self._decode(response, label, login=login)
        except FileMakerUnavailable:
            self._count("unavailable")
            raise
        except Exception:
            self._count("error")
            raise
        self._count("ok")
        return body

    def _decode(self, response: httpx.Response, label: str, *, login: bool = False) -> dict[str, Any]:
        status = response.status_code
        try:
            body = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            body = None
        messages = body.get("messages") if isinstance(body, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        if not isinstance(body, dict) or not isinstance(first, dict):
            if status == 401 and login:
                raise InvalidLogin(212, "HTTP 401 without a Data API response", status)
            if status == 401:  # FileMaker Cloud answers an expired session with an HTML 401
                raise InvalidToken(952, "HTTP 401 without a Data API response", status)
            raise FileMakerUnavailable(
                f"FileMaker Server at {self.base_url} answered {label} with HTTP {status} and no "
                "Data API response: the Data API engine may be stopped, or the URL is not a FileMaker Server",
                http_status=status,
            )
        try:
            code = int(first.get("code", ""))
        except (TypeError, ValueError):
            raise FileMakerUnavailable(
                f"FileMaker Server answered {label} with an unreadable error code {first.get('code')!r}",
                http_status=status,
            ) from None
        if code != 0:
            log.debug("Data API %s -> FileMaker error %d (HTTP %d)", label, code, status)
            raise error_for(code, str(first.get("message") or ""), status)
        log.debug("Data API %s -> ok", label)
        result = body.get("response")
        if not isinstance(result, dict):
            return {}
        header_token = response.headers.get("X-FM-Data-Access-Token") if login else None
        if header_token:  # some clients read only the header; both carry the same token
            result["token"] = header_token
        return result

    def _count(self, outcome: str) -> None:
        if self._on_request is not None:
            self._on_request(outcome)

    # -- the token ---------------------------------------------------------------------------

    async def _current_token(self) -> tuple[str, int]:
        token = self._token
        if token is not None:
            return token, self._generation
        async with self._lock:
            token = self._token or await self._login_locked()
            return token, self._generation

    async def _relogin(self, failed_generation: int) -> None:
        async with self._lock:
            if self._generation == failed_generation:  # nobody replaced the dead token yet
                self._drop_token()
                await self._login_locked()

    async def login(self) -> None:
        """Open a session now (otherwise the first call does). No-op when one is open."""
        await self._current_token()

    async def _login_locked(self) -> str:
        if self._refused is not None and time.monotonic() < self._refused[0]:
            raise self._refused[1]
        self._count("login")
        try:
            result = await self._exchange(
                "POST",
                f"{self.db_path}/sessions",
                json={},
                headers={"Authorization": self._basic},
                label=f"login to {self.database}",
                login=True,
            )
        except InvalidLogin as exc:
            self._refused = (time.monotonic() + LOGIN_HOLD_OFF_SECONDS, exc)
            log.warning("FileMaker refused the account for database %s (212)", self.database)
            raise
        self._refused = None
        token = result.get("token")
        if not isinstance(token, str) or not token:
            raise FileMakerUnavailable(
                f"FileMaker Server accepted the login to {self.database} but sent no token"
            )
        logs.register_secret(token)
        self._token = token
        self._generation += 1
        log.info("Data API session opened for database %s", self.database)
        if self._globals:
            try:
                await self._exchange(
                    "PATCH", f"{self.db_path}/globals", json={"globalFields": self._globals}, token=token
                )
            except DataAPIError as exc:  # the session is still good without them
                log.warning("could not set globals again after login to %s: %s", self.database, exc.detail)
        return token

    def _drop_token(self) -> None:
        if self._token is not None:
            logs.forget_secret(self._token)
        self._token = None
        self._generation += 1

    async def set_globals(self, values: Mapping[str, Any]) -> None:
        await self.call("PATCH", f"{self.db_path}/globals", json={"globalFields": dict(values)})
        self._globals.update(values)

    async def logout(self) -> None:
        """End the session. The logout URL carries the token, so it is never logged."""
        async with self._lock:
            token = self._token
            if token is None:
                return
            self._token = None
            self._generation += 1
        try:
            await self._exchange(
                "DELETE",
                f"{self.db_path}/sessions/{segment(token)}",
                headers={"Content-Type": "application/json"},
                label=f"logout from {self.database}",
            )
            log.info("Data API session closed for database %s", self.database)
        except InvalidToken:
            pass  # already expired: nothing to end
        finally:
            logs.forget_secret(token)

    async def aclose(self) -> None:
        """Log out (best effort) and close the connection pool. Safe to call twice."""
        if self._closed:
            return
        try:
            await self.logout()
        except Exception as exc:  # noqa: BLE001 - closing must finish even when FileMaker is down
            log.warning("Data API logout from %s failed: %s", self.database, getattr(exc, "detail", exc))
        finally:
            self._closed = True
            await self._http.aclose()
