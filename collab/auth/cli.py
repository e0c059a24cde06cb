"""``collab token mint``: print a signed web-viewer token (for shells and deploy scripts)."""

from __future__ import annotations

import argparse
import sys

from collab.auth.tokens import mint_token
from collab.settings import Settings

__all__ = ["token_mint"]


def _demo_secret(settings: Settings) -> str:
    # Without COLLAB_SECRET, sign with the secret `collab serve --demo` keeps in the data dir,
    # so tokens minted here work against the demo hub.
    path = settings.data_path / "demo-secret"
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def token_mint(args: argparse.Namespace, settings: Settings) -> int:
    secret = settings.server.secret or _demo_secret(settings)
    if not secret:
        print("collab: no secret to sign with: set COLLAB_SECRET (or server.secret in --config)", file=sys.stderr)
        return 2
    ttl = min(int(args.ttl), settings.locks.max_token_ttl_seconds)
    try:
        token = mint_token(
            secret,
            sub=args.user,
            name=args.name or "",
            roles=args.roles or ["editor"],
            records=args.records or [],
            ttl_seconds=ttl,
        )
    except ValueError as exc:
        print(f"collab: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0
