from __future__ import annotations

import logging

import pytest

from collab.logs import RedactTokens, redact

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(
    "line",
    [
        f'127.0.0.1:5000 - "WebSocket /sync/Sales/Invoices/A?token={JWT}&control=1" [accepted]',
        f"Authorization: Bearer {JWT}",
        "X-API-Key: s3cr3t-key-value",
        f"token in the middle {JWT} of a sentence",
        "GET /api/events/stream?since=4&token=abcdefgh",
    ],
)
def test_secrets_are_redacted(line: str) -> None:
    cleaned = redact(line)
    assert "[redacted]" in cleaned
    for secret in (JWT, "s3cr3t-key-value", "abcdefgh", JWT.split(".")[2]):
        assert secret not in cleaned


def test_filter_rewrites_formatted_records() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s"', ("ip", f"/x?token={JWT}"), None
    )
    RedactTokens().filter(record)
    assert JWT not in record.getMessage()
