"""The FileMaker calculation in docs/filemaker.md ("Tokens for web viewers"), byte for byte.

Each helper below is one FileMaker function, with FileMaker's semantics: text goes in as
UTF-8, Base64EncodeRFC(4648; ...) has no line breaks, CryptAuthCode returns raw HMAC bytes,
JSONSetElement writes compact JSON with keys sorted. The token the calculation makes must be
accepted by the hub, over HTTP, like any token the hub minted itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from collab.auth.tokens import verify_token
from tests.support.server import hub_settings, run_hub

SECRET = "a-FileMaker-shared-secret-0123456789abcdef"

#: Seconds from 0001-01-01 (FileMaker's timestamp zero) to 1970-01-01 (Unix time zero).
FM_EPOCH_OFFSET = 62135596800


def Get_CurrentTimeUTCMilliseconds() -> int:  # named after the FileMaker function
    delta = datetime.now(UTC) - datetime(1, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def Base64EncodeRFC_4648(data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")  # RFC 4648: no line breaks, with padding


def Substitute(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def CryptAuthCode(data: str, algorithm: str, key: str) -> bytes:
    assert algorithm == "SHA256"
    return hmac.new(key.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).digest()


def JSONSetElement(pairs: dict[str, Any]) -> str:
    return json.dumps(pairs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def filemaker_token(secret: str, user: str, name: str, roles: list[str], record: str, ttl: int) -> str:
    """The documented calculation, one Let() variable per line."""
    now = Get_CurrentTimeUTCMilliseconds() // 1000 - FM_EPOCH_OFFSET
    header = '{"alg":"HS256","typ":"JWT"}'
    payload = JSONSetElement({"sub": user, "name": name, "roles": roles, "records": [record], "exp": now + ttl})
    url = (("+", "-"), ("/", "_"), ("=", ""))
    h = Substitute(Base64EncodeRFC_4648(header), *url)
    p = Substitute(Base64EncodeRFC_4648(payload), *url)
    signing_input = h + "." + p
    sig = Substitute(Base64EncodeRFC_4648(CryptAuthCode(signing_input, "SHA256", secret)), *url)
    return signing_input + "." + sig


def test_filemaker_clock_conversion_matches_unix_time() -> None:
    assert abs(Get_CurrentTimeUTCMilliseconds() // 1000 - FM_EPOCH_OFFSET - time.time()) < 2


def test_calculation_bytes_are_a_valid_hs256_jwt() -> None:
    token = filemaker_token(SECRET, "u-17", "Zoë Müller", ["approver"], "Sales/Invoices/K-1", 600)
    header, payload, signature = token.split(".")
    assert "=" not in token and "+" not in token and "/" not in token
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"HS256","typ":"JWT"}'
    assert json.loads(base64.urlsafe_b64decode(payload + "==="))["name"] == "Zoë Müller"
    expected = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=") == expected
    principal = verify_token(SECRET, token)
    assert principal.sub == "u-17" and principal.roles == frozenset({"approver"})
    assert principal.records == ("Sales/Invoices/K-1",)


def test_a_wrong_secret_in_the_calculation_is_refused() -> None:
    token = filemaker_token("not-the-hub-secret-0123456789", "u", "", ["editor"], "Sales/Invoices/K", 60)
    try:
        verify_token(SECRET, token)
    except Exception as exc:  # AccessDenied
        assert getattr(exc, "status", None) == 401
    else:
        raise AssertionError("a token signed with another secret was accepted")


async def test_the_hub_accepts_the_calculations_token(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data", server={"secret": SECRET})
    token = filemaker_token(SECRET, "fm-user", "FM User", ["viewer"], "Sales/Invoices/K-1", 600)
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url) as client:
        ok = await client.get("/api/records/Sales/Invoices/K-1/lock", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["state"] == "open"
        other = await client.get(
            "/api/records/Sales/Invoices/K-2/lock", headers={"Authorization": f"Bearer {token}"}
        )
        assert other.status_code == 403 and other.json()["code"] == "out_of_scope"
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        bad = await client.get("/api/records/Sales/Invoices/K-1/lock", headers={"Authorization": f"Bearer {forged}"})
        assert bad.status_code == 401
