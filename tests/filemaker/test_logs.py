"""No credential or token reaches a log line, at any level, from us or from httpx/httpcore."""

from __future__ import annotations

import base64
import logging

import pytest

from collab.filemaker.client import DataAPIClient
from collab.filemaker.errors import InvalidLogin
from tests.filemaker.conftest import Target

PASSWORD = "admin"  # the demo account's; too common a word to search for, so we check forms of it


async def test_no_credential_or_token_in_logs(
    emulator_target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = emulator_target.require_emulator()
    caplog.set_level(logging.DEBUG)  # httpx logs URLs at INFO, httpcore headers at DEBUG
    # collab serve quiets these two; turn them up so the redaction itself is what is tested.
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    client = emulator_target.client()
    tokens: list[str] = []

    await client.layouts()
    tokens.append(_token(client))
    emulator.restart()  # force a 952 and a re-login
    await client.get_records("Invoices", limit=1)
    tokens.append(_token(client))
    await client.logout()  # the logout URL carries the token
    await client.layouts()
    tokens.append(_token(client))
    await client.aclose()

    secret_password = "s3cret-Pa55word-xyz"
    bad = DataAPIClient(emulator_target.url, "Sales", "admin", secret_password)
    with pytest.raises(InvalidLogin):
        await bad.layouts()
    await bad.aclose()

    assert len(set(tokens)) == 3
    assert any(r.name == "httpx" for r in caplog.records), "httpx logging was not captured"
    # uvicorn.access lines come from the emulator's own web server (FileMaker Server's side
    # of the wire, where the logout URL is a request line); the hub runs without access logs.
    ours = [record for record in caplog.records if record.name != "uvicorn.access"]
    text = "\n".join(_rendered(record) for record in ours)
    for secret in [*tokens, secret_password, _basic("admin", PASSWORD), _basic("admin", secret_password)]:
        assert secret not in text


def _token(client: DataAPIClient) -> str:
    token = client._session._token  # white-box: the test needs the secret it hunts for
    assert token
    return token


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _rendered(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    if record.exc_text:
        parts.append(record.exc_text)
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return " ".join(parts)
