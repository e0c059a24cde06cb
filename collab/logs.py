"""Logging set-up. Tokens never reach a log line: query strings and headers are redacted.

Two layers: patterns that recognise secrets by their place (``token=``, ``Authorization:``,
a Data API ``/sessions/<token>`` path, any JWT), and secrets registered at run time (the
FileMaker password and session tokens) that are replaced wherever they appear. The filter sits
on the loggers that see URLs and headers: uvicorn's, Litestar's, ours, httpx's and httpcore's.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["RedactTokens", "configure_logging", "forget_secret", "install_redaction", "redact", "register_secret"]

_PATTERNS = [
    re.compile(r"(?i)((?:^|[?&\s])(?:token|access_token|api_key|password)=)[^&\s\"']+"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic)\s+)[^\s\"']+"),
    re.compile(r"(?i)(x-api-key:\s*)[^\s\"']+"),
    re.compile(r"(?i)(x-fm-data-access-token:\s*)[^\s\"']+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),  # any JWT
    re.compile(r"(/sessions/)[^\s\"'?#]+"),  # Data API logout URL carries the session token
    # httpcore logs header tuples, e.g. (b'X-FM-Data-Access-Token', b'<token>'), before any
    # client could register the new token.
    re.compile(
        r"(?i)((?:x-fm-data-access-token|authorization)['\"]?\s*[,:]\s*(?:b?['\"])?"
        r"(?:(?:basic|bearer|fmid)\s+)?)[^'\"\s)\]]+"
    ),
]
_secrets: set[str] = set()
_guard = threading.Lock()


def register_secret(value: str) -> None:
    """Redact ``value`` wherever it appears from now on (shorter than 4 would hit ordinary words)."""
    if len(value) >= 4:
        with _guard:
            _secrets.add(value)


def forget_secret(value: str) -> None:
    with _guard:
        _secrets.discard(value)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]" if m.lastindex else "[redacted]", text)
    with _guard:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


class RedactTokens(logging.Filter):
    """Rewrites each record's message with secrets replaced by ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not drop the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACTED_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "litestar",
    "collab",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def install_redaction() -> None:
    """Put the filter on the loggers that see URLs, whoever configured the handlers."""
    for name in _REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every Data API request at INFO; keep the hub's log about the hub.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets", "websockets.server"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        # "connection open" per socket at INFO: off the connect path unless asked for.
        logger.setLevel(level.upper())
    install_redaction()
