"""Keeps Data API secrets out of httpx's and httpcore's own log lines.

httpx logs every request URL at INFO (the logout URL carries the session token) and httpcore
logs response headers at DEBUG (``X-FM-Data-Access-Token``). Filters on those loggers replace
any secret a client registered, and any ``/sessions/<token>`` path, with ``[redacted]``.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["forget_secret", "install", "register_secret", "scrub"]

_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_SESSION_PATH = re.compile(r"(/sessions/)[^\s\"'?#]+")
# httpcore logs header tuples, e.g. (b'X-FM-Data-Access-Token', b'<token>'), before any
# client could register the new token.
_HEADER_VALUE = re.compile(
    r"(?i)((?:x-fm-data-access-token|authorization)['\"]?\s*[,:]\s*(?:b?['\"])?"
    r"(?:(?:basic|bearer|fmid)\s+)?)[^'\"\s)\]]+"
)
_secrets: set[str] = set()
_guard = threading.Lock()


def register_secret(value: str) -> None:
    if len(value) >= 4:  # shorter strings would redact ordinary words
        with _guard:
            _secrets.add(value)


def forget_secret(value: str) -> None:
    with _guard:
        _secrets.discard(value)


def scrub(text: str) -> str:
    text = _SESSION_PATH.sub(r"\1[redacted]", text)
    text = _HEADER_VALUE.sub(r"\1[redacted]", text)
    with _guard:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


class _Filter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not drop the record
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _Filter()


def install() -> None:
    """Idempotent: attach the filter to the HTTP libraries' loggers."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
