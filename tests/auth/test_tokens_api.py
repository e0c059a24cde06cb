"""POST /api/tokens on a running hub, and ``collab token mint``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx
import pytest

from collab.auth.cli import token_mint
from collab.auth.tokens import mint_token, verify_token
from tests.support.server import hub_settings, run_hub


async def test_minting_needs_the_api_key_and_caps_the_ttl(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data", locks={"max_token_ttl_seconds": 600})
    key = settings.server.api_key
    body = {"user": "u9", "name": "Una", "roles": ["editor"], "records": ["Sales/Invoices/K-9"], "ttl_seconds": 99999}
    async with run_hub(settings) as hub, httpx.AsyncClient(base_url=hub.url) as client:
        made = await client.post("/api/tokens", json=body, headers={"X-API-Key": key})
        assert made.status_code == 201, made.text
        data = made.json()
        principal = verify_token(settings.server.secret, data["token"])
        assert principal.sub == "u9" and principal.records == ("Sales/Invoices/K-9",)
        assert principal.exp - time.time() <= 600 + 2
        assert data["expires_in"] == 600 and data["expires_at"].endswith("Z")
        assert data["webviewer_url"] == f"{hub.url}/webviewer/?record=Sales/Invoices/K-9&token={data['token']}"

        for headers in ({}, {"X-API-Key": key + "x"}, {"X-API-Key": ""}):
            refused = await client.post("/api/tokens", json=body, headers=headers)
            assert refused.status_code == 401 and refused.json()["code"] == "api_key_invalid"

        # A token, even an admin's, does not mint tokens: only the script key does.
        admin = mint_token(settings.server.secret, sub="a", roles=["admin"], records=["*"])
        refused = await client.post("/api/tokens", json=body, headers={"Authorization": f"Bearer {admin}"})
        assert refused.status_code == 401

        bad = await client.post("/api/tokens", json={"user": "u", "roles": ["root"]}, headers={"X-API-Key": key})
        assert bad.status_code == 400 and "unknown roles" in bad.json()["detail"]
        bad = await client.post("/api/tokens", content=b"{nope", headers={"X-API-Key": key})
        assert bad.status_code == 400


async def test_demo_banner_has_editor_and_approver_links(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data")
    async with run_hub(settings) as hub:
        banner = dict(hub.ctx.extras.get("banner", []))
    labels = [label for label in banner if label.startswith("demo ")]
    assert any("editor" in label for label in labels) and any("approver" in label for label in labels)
    for url in banner.values():
        if "/webviewer/" in url:
            token = url.split("token=", 1)[1]
            assert verify_token(settings.server.secret, token).records == ("Sales/Invoices/*",)


def test_cli_prints_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = hub_settings(tmp_path / "data")
    args = argparse.Namespace(user="cli", name="C", roles=["approver"], records=["Sales/*"], ttl=120)
    assert token_mint(args, settings) == 0
    principal = verify_token(settings.server.secret, capsys.readouterr().out.strip())
    assert principal.sub == "cli" and principal.roles == frozenset({"approver"})
    args.roles = ["wizard"]
    assert token_mint(args, settings) == 2
