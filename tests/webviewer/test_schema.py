"""The layout schema API and the page routes, over real HTTP against the demo hub."""

from __future__ import annotations

import httpx

from collab.auth.tokens import mint_token
from collab.settings import DEMO_LAYOUT
from collab.webviewer.schema import build_schema
from tests.support.server import RunningHub


def token(hub: RunningHub, records: list[str], roles: list[str] | None = None) -> str:
    return mint_token(
        hub.settings.server.secret, sub="t", name="Tess", roles=roles or ["viewer"], records=records, ttl_seconds=300
    )


async def test_schema_of_the_demo_layout(hub: RunningHub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        response = await client.get(
            "/api/layouts/Sales/Invoices/schema",
            headers={"Authorization": f"Bearer {token(hub, ['Sales/Invoices/*'])}"},
        )
    assert response.status_code == 200
    schema = response.json()
    assert schema["key_field"] == "UUID" and schema["types_known"] is True
    fields = {field["name"]: field for field in schema["fields"]}
    assert list(fields) == DEMO_LAYOUT.fields
    assert fields["Notes"] == {
        "name": "Notes", "type": "text", "kind": "text", "editable": True, "merged": True, "key": False, "status": ""
    }
    assert fields["Amount"]["type"] == "number" and fields["Amount"]["kind"] == "map" and fields["Amount"]["editable"]
    assert fields["DueDate"]["type"] == "date"
    assert fields["UUID"]["key"] and not fields["UUID"]["editable"]
    assert fields["Status"]["status"] == "state" and not fields["Status"]["editable"]
    assert not fields["InvoiceNo"]["editable"]
    assert schema["status_fields"] == {"state": "Status", "approved_by": "ApprovedBy", "approved_at": "ApprovedAt"}


async def test_schema_needs_a_token_for_the_layout(hub: RunningHub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        assert (await client.get("/api/layouts/Sales/Invoices/schema")).status_code == 401
        other = {"Authorization": f"Bearer {token(hub, ['Other/Layout/*'])}"}
        denied = await client.get("/api/layouts/Sales/Invoices/schema", headers=other)
        assert denied.status_code == 403 and denied.json()["code"] == "out_of_scope"
        everything = {"Authorization": f"Bearer {token(hub, ['*'])}"}
        missing = await client.get("/api/layouts/Sales/Nowhere/schema", headers=everything)
        assert missing.status_code == 404


def test_schema_without_filemaker_types() -> None:
    schema = build_schema(DEMO_LAYOUT, None)
    assert schema.types_known is False
    notes = next(field for field in schema.fields if field.name == "Notes")
    assert notes.type == "text" and notes.kind == "text"
    assert next(field for field in schema.fields if field.name == "Amount").type == ""


async def test_pages_and_assets(hub: RunningHub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        moved = await client.get("/webviewer?record=Sales/Invoices/x&token=abc")
        assert moved.status_code == 308 and moved.headers["location"] == "webviewer/?record=Sales/Invoices/x&token=abc"
        assert (await client.get("/webviewer?x=1", follow_redirects=True)).url.path == "/webviewer/"
        page = await client.get("/webviewer/?record=Sales/Invoices/x")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert 'src="assets/app.js"' in page.text
        dashboard = await client.get("/webviewer/approvals/")
        assert dashboard.status_code == 308 and dashboard.headers["location"] == "../approvals"
        assert (await client.get("/webviewer/approvals/", follow_redirects=True)).url.path == "/webviewer/approvals"
        assert 'src="assets/dashboard.js"' in (await client.get("/webviewer/approvals")).text
        for asset in ("app.js", "dashboard.js", "app.css"):
            assert (await client.get(f"/webviewer/assets/{asset}")).status_code == 200
        assert (await client.get("/webviewer/assets/nope.js")).status_code == 404
