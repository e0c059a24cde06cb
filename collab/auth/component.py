"""Auth component: sets ``ctx.auth``, serves ``POST /api/tokens``, prints demo web-viewer links.

``ctx.extras["banner"]`` (demo only): working URLs for a demo editor and a demo approver. The
tokens in them are printed on the console by ``collab serve``; they never go to a logger.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from collab.auth.authenticator import TokenAuthenticator
from collab.auth.expiry import ExpiryWatcher
from collab.auth.routes import mint_tokens, webviewer_url
from collab.auth.tokens import mint_token
from collab.context import Component, HubContext

__all__ = ["DEMO_USERS", "demo_record_key", "install"]

_SCHEMA = Path(__file__).resolve().parent.parent / "filemaker" / "emulator" / "schemas" / "sales.toml"
_KEY_FIELD = "UUID"

#: (label, user id, display name, roles) of the demo people the banner links log in as.
DEMO_USERS = (
    ("demo editor", "demo-editor", "Erin Editor", ("editor",)),
    ("demo approver", "demo-approver", "Avery Approver", ("approver",)),
)


def install(ctx: HubContext) -> Component:
    ctx.auth = TokenAuthenticator(ctx.settings)
    if ctx.settings.server.demo and ctx.settings.server.secret:
        ctx.extras.setdefault("banner", []).extend(_demo_banner(ctx))
    expiry = ExpiryWatcher(ctx)
    return Component(route_handlers=[mint_tokens], on_startup=[expiry.start], on_shutdown=[expiry.stop])


def _demo_banner(ctx: HubContext) -> list[tuple[str, str]]:
    settings = ctx.settings
    base = settings.base_url
    key = demo_record_key(ctx.extras.get("emulator"))
    ttl = settings.locks.max_token_ttl_seconds
    lines: list[tuple[str, str]] = []
    for label, sub, name, roles in DEMO_USERS:
        token = mint_token(
            settings.server.secret, sub=sub, name=name, roles=roles, records=["Sales/Invoices/*"], ttl_seconds=ttl
        )
        if key:
            lines.append((label, webviewer_url(base, token, [], f"Sales/Invoices/{key}")))
        if "approver" in roles or not key:
            lines.append(("approvals dashboard", webviewer_url(base, token, [])))
    return lines


def demo_record_key(emulator: Any = None, schema: Path = _SCHEMA) -> str:
    """The first demo invoice's key: from the running emulator if it says, else the schema file."""
    for candidate in (_from_emulator(emulator), _from_schema(schema)):
        if candidate:
            return candidate
    return ""


def _from_emulator(emulator: Any) -> str:
    if emulator is None:
        return ""
    for name in ("first_record_key", "demo_record_key"):
        value = emulator.get(name) if isinstance(emulator, dict) else getattr(emulator, name, None)
        if callable(value):
            value = value()
        if isinstance(value, str) and value:
            return value
    return ""


def _from_schema(path: Path) -> str:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return ""
    return next(_keys(data), "")


def _keys(node: Any) -> Iterator[str]:
    """Depth-first: the first table holding a text ``UUID`` is the first demo record."""
    if isinstance(node, dict):
        value = node.get(_KEY_FIELD)
        if isinstance(value, str) and value:
            yield value
        for child in node.values():
            yield from _keys(child)
    elif isinstance(node, list):
        for child in node:
            yield from _keys(child)
