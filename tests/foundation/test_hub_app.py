"""HubApp's routing: /sync sockets straight to their endpoint, the rest to Litestar behind
uvicorn's proxy-headers middleware (trusted loopback proxies)."""

from __future__ import annotations

from typing import Any

from collab.app import HubApp


def _scope(kind: str, path: str) -> dict[str, Any]:
    return {
        "type": kind,
        "path": path,
        "scheme": "ws" if kind == "websocket" else "http",
        "client": ("127.0.0.1", 5000),
        "headers": [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")],
    }


async def test_forwarded_headers_apply_to_litestar_but_sync_sockets_skip_them() -> None:
    seen: dict[str, dict[str, Any]] = {}

    async def http_side(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen[scope["path"]] = scope

    async def sync_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["sync"] = scope

    app = HubApp(http_side, [("/sync/", sync_endpoint)])  # type: ignore[arg-type]
    await app(_scope("http", "/readyz"), None, None)
    await app(_scope("websocket", "/events"), None, None)
    await app(_scope("websocket", "/sync/Sales/Invoices/k"), None, None)
    assert seen["/readyz"]["client"][0] == "203.0.113.7" and seen["/readyz"]["scheme"] == "https"
    assert seen["/events"]["client"][0] == "203.0.113.7" and seen["/events"]["scheme"] == "wss"
    assert seen["sync"]["client"] == ("127.0.0.1", 5000) and seen["sync"]["scheme"] == "ws"
