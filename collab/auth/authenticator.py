"""``TokenAuthenticator``: the hub's ``Authenticator`` (tokens and the WebSocket Origin allowlist).

Origins are compared as exact strings (no wildcards, no suffix or substring matching: that is
how cross-site WebSocket hijacking slips through). Allowed: ``server.allowed_origins`` and the
hub's own origin. ``"null"`` (what a FileMaker web viewer showing a ``data:`` URL sends) is
allowed only when it is listed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from urllib.parse import urlsplit

from collab.auth.principal import ANONYMOUS_EDITOR, Principal
from collab.auth.tokens import LEEWAY_SECONDS, token_expired, verify_token
from collab.errors import AccessDenied
from collab.settings import Settings

__all__ = ["TokenAuthenticator", "origin_of"]

#: Verified tokens remembered (a web viewer reconnecting, many tabs with one token): each
#: connection then shares one Principal, and the signature is checked once per token.
_CACHE_SIZE = 1024
_now = time.time


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as a browser writes it in the Origin header."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    port = parts.port
    return f"{scheme}://{host}" if port is None or port == default else f"{scheme}://{host}:{port}"


class TokenAuthenticator:
    def __init__(self, settings: Settings) -> None:
        server = settings.server
        self._secret = server.secret
        self._anonymous = server.allow_anonymous
        self._allow_missing = server.allow_missing_origin
        own = origin_of(settings.base_url)
        allowed = {origin for origin in server.allowed_origins if origin}
        if own:
            allowed.add(own)
            if server.demo and not server.public_url:
                # The demo prints 127.0.0.1 links; people also type localhost.
                allowed.add(own.replace("://127.0.0.1", "://localhost", 1))
        self.allowed_origins: frozenset[str] = frozenset(allowed)
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            if self._anonymous:
                return ANONYMOUS_EDITOR
            raise AccessDenied(
                "a token is required: pass ?token=... (WebSocket, EventSource) or Authorization: Bearer",
                status=401,
                code="token_missing",
            )
        cached = self._verified.get(token)
        if cached is not None:
            if cached.exp + LEEWAY_SECONDS >= _now():
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
            raise token_expired()
        principal = verify_token(self._secret, token)
        self._verified[token] = principal
        if len(self._verified) > _CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None or origin == "":
            return self._allow_missing
        return origin in self.allowed_origins
