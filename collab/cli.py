"""The ``collab`` command: serve the hub, run the emulator, mint tokens, verify the audit trail.

Errors are printed as one sentence a FileMaker developer can act on, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from collab.errors import CollabError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collab", description="Real-time collaboration hub for FileMaker.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the hub")
    serve.add_argument("--config", metavar="FILE", help="TOML settings file")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--data-dir", help="where the store lives (default ./collab-data, or COLLAB_DATA_DIR)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="also serve the bundled FileMaker Data API emulator with the Sales demo",
    )

    emulator = commands.add_parser("emulator", help="run the FileMaker Data API emulator on its own")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8989)
    emulator.add_argument("--schema", metavar="FILE", help="database schema file (default: the Sales demo)")
    emulator.add_argument("--db", metavar="FILE", help="SQLite file for the records (default: in memory)")

    token = commands.add_parser("token", help="web-viewer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    mint = token_commands.add_parser("mint", help="print a signed token (uses COLLAB_SECRET)")
    mint.add_argument("--config", metavar="FILE")
    mint.add_argument("--user", required=True, help="user id (claim sub)")
    mint.add_argument("--name", default="", help="display name")
    mint.add_argument(
        "--role",
        action="append",
        dest="roles",
        default=[],
        help="viewer, editor, approver or admin (repeatable)",
    )
    mint.add_argument(
        "--record",
        action="append",
        dest="records",
        default=[],
        help="record pattern, e.g. Sales/Invoices/* (repeatable)",
    )
    mint.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")

    audit = commands.add_parser("audit", help="audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_commands.add_parser("verify", help="check the hash chain of every record's audit trail")
    verify.add_argument("--config", metavar="FILE")
    verify.add_argument("--data-dir")
    verify.add_argument("--record", help="only this record (database/layout/key)")
    return parser


def _settings(args: argparse.Namespace, **server: Any) -> Any:
    from collab.settings import load_settings

    overrides: dict[str, dict[str, Any]] = {"server": {k: v for k, v in server.items() if v is not None}}
    if getattr(args, "data_dir", None):
        overrides["server"]["data_dir"] = args.data_dir
    return load_settings(getattr(args, "config", None), overrides=overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            from collab.server import serve

            return serve(args)
        if args.command == "emulator":
            from collab.filemaker.emulator.cli import run_emulator

            return int(run_emulator(args))
        if args.command == "token":
            from collab.auth.cli import token_mint

            return int(token_mint(args, _settings(args, demo=True)))
        if args.command == "audit":
            from collab.locks.cli import audit_verify

            return int(audit_verify(args, _settings(args, demo=True)))
    except CollabError as exc:
        print(f"collab: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
