"""Tokens and the Origin allowlist, without a server: pure functions over settings."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from collab.auth import authenticator
from collab.auth.authenticator import TokenAuthenticator, origin_of
from collab.auth.component import demo_record_key
from collab.auth.principal import ANONYMOUS_EDITOR
from collab.auth.tokens import LEEWAY_SECONDS, mint_token, verify_token
from collab.errors import AccessDenied
from collab.records import RecordKey
from collab.settings import Settings, load_settings

SECRET = "s3cret-for-tests-0123456789-abcdefgh"


def _settings(**server: object) -> Settings:
    base: dict[str, object] = {"secret": SECRET, "port": 8123}
    base.update(server)
    return load_settings(None, environ={}, overrides={"server": base, "filemaker": {"url": "http://fms.test"}})


def test_round_trip_carries_every_claim() -> None:
    token = mint_token(SECRET, sub="u1", name="Zoë", roles=["editor", "approver"], records=["Sales/Invoices/*"])
    principal = verify_token(SECRET, token)
    assert principal.sub == "u1" and principal.name == "Zoë"
    assert principal.roles == frozenset({"editor", "approver"})
    assert principal.may_open(RecordKey("Sales", "Invoices", "abc"))
    assert not principal.may_open(RecordKey("Sales", "Customers", "abc"))
    assert principal.exp > time.time()


def test_one_record_scope_is_exact() -> None:
    principal = verify_token(SECRET, mint_token(SECRET, sub="u", records=["Sales/Invoices/K1"]))
    assert principal.may_open(RecordKey("Sales", "Invoices", "K1"))
    assert not principal.may_open(RecordKey("Sales", "Invoices", "K10"))


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: mint_token(SECRET, sub="u", ttl_seconds=1, now=time.time() - 60), "token_expired"),
        (lambda: mint_token("another-secret-entirely!!", sub="u"), "token_invalid"),
        (lambda: mint_token(SECRET, sub="u")[:-3] + "AAA", "token_invalid"),
        (lambda: jwt.encode({"sub": "u"}, SECRET, algorithm="HS256"), "token_invalid"),  # no exp
        (lambda: jwt.encode({"sub": "u", "exp": time.time() + 60}, SECRET, algorithm="HS512"), "token_invalid"),
        (lambda: "not.a.token", "token_invalid"),
    ],
    ids=["expired", "wrong-secret", "tampered", "no-exp", "wrong-alg", "garbage"],
)
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_bad_tokens_are_401(make: object, code: str) -> None:
    token = make()  # type: ignore[operator]
    with pytest.raises(AccessDenied) as info:
        verify_token(SECRET, token)
    assert info.value.status == 401 and info.value.code == code
    assert token not in info.value.detail


def test_tampered_payload_is_refused() -> None:
    header, _, signature = mint_token(SECRET, sub="u", roles=["viewer"]).split(".")
    forged = jwt.utils.base64url_encode(b'{"sub":"u","roles":["admin"],"records":["*"],"exp":9999999999}')
    with pytest.raises(AccessDenied):
        verify_token(SECRET, f"{header}.{forged.decode()}.{signature}")


def test_unknown_roles_are_refused_when_minting_and_dropped_when_verifying() -> None:
    with pytest.raises(ValueError):
        mint_token(SECRET, sub="u", roles=["root"])
    token = jwt.encode({"sub": "u", "roles": ["root", "viewer"], "exp": time.time() + 60}, SECRET, algorithm="HS256")
    assert verify_token(SECRET, token).roles == frozenset({"viewer"})


def test_missing_token_is_401_unless_anonymous_is_allowed() -> None:
    with pytest.raises(AccessDenied) as info:
        TokenAuthenticator(_settings()).authenticate(None)
    assert info.value.status == 401 and info.value.code == "token_missing"
    assert TokenAuthenticator(_settings(allow_anonymous=True)).authenticate(None) is ANONYMOUS_EDITOR


def test_verified_tokens_are_shared_until_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = TokenAuthenticator(_settings())
    token = mint_token(SECRET, sub="u", roles=["editor"], records=["*"], ttl_seconds=60)
    first = auth.authenticate(token)
    assert auth.authenticate(token) is first  # one Principal for every connection with it
    with pytest.raises(AccessDenied):
        auth.authenticate(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))  # not from the cache
    later = time.time() + 60 + LEEWAY_SECONDS + 1
    monkeypatch.setattr(authenticator, "_now", lambda: later)
    with pytest.raises(AccessDenied) as info:
        auth.authenticate(token)
    assert info.value.code == "token_expired"


def test_origin_allowlist_is_exact() -> None:
    auth = TokenAuthenticator(_settings(allowed_origins=["https://app.example.com"]))
    assert auth.origin_allowed("https://app.example.com")
    assert auth.origin_allowed("http://127.0.0.1:8123")  # the hub's own origin
    for foreign in (
        "null",
        "http://evil.test",
        "http://app.example.com",  # scheme mismatch
        "https://app.example.com:8443",  # port mismatch
        "https://app.example.com.evil.test",  # suffix trick
        "https://evil-app.example.com",
        "https://app.example.com/",
        "HTTPS://APP.EXAMPLE.COM",
        "http://127.0.0.1:8124",
    ):
        assert not auth.origin_allowed(foreign), foreign
    assert auth.origin_allowed(None)  # allow_missing_origin defaults to True (plugins, scripts)
    assert not TokenAuthenticator(_settings(allow_missing_origin=False)).origin_allowed(None)


def test_null_origin_only_when_listed() -> None:
    assert TokenAuthenticator(_settings(allowed_origins=["null"])).origin_allowed("null")


def test_origin_of_drops_default_ports_and_paths() -> None:
    assert origin_of("https://Hub.Example.com:443/x?y") == "https://hub.example.com"
    assert origin_of("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert origin_of("nonsense") == ""


def test_demo_record_key_falls_back_gracefully(tmp_path: Path) -> None:
    assert demo_record_key({"first_record_key": "K-1"}) == "K-1"
    schema = tmp_path / "s.toml"
    schema.write_text('[[layouts.Invoices.records]]\nInvoiceNo = 1\nUUID = "U-1"\n')
    assert demo_record_key(None, schema) == "U-1"
    assert demo_record_key(None, tmp_path / "missing.toml") == ""
