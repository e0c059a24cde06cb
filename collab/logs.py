"""Logging set-up. Tokens never reach a log line: query strings and headers are redacted."""

from __future__ import annotations

import logging
import re

__all__ = ["RedactTokens", "configure_logging", "install_redaction", "redact"]

_PATTERNS = [
    re.compile(r"(?i)((?:^|[?&\s])(?:token|access_token|api_key|password)=)[^&\s\"']+"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic)\s+)[^\s\"']+"),
    re.compile(r"(?i)(x-api-key:\s*)[^\s\"']+"),
    re.compile(r"(?i)(x-fm-data-access-token:\s*)[^\s\"']+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),  # any JWT
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]" if m.lastindex else "[redacted]", text)
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


_REDACTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar", "collab")


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
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    install_redaction()
