"""``collab emulator``: the Data API emulator on its own, behind its TCP front."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from collab.filemaker.emulator.emulator import Emulator
from collab.filemaker.emulator.front import serve

__all__ = ["run_emulator"]


def _banner(emulator: Emulator, host: str, port: int, db: str | None) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{shown}:{port}"
    lines = [f"FileMaker Data API emulator listening on {base}", f"  Data API:     {base}/fmi/data/vLatest"]
    for name, database in emulator.schema.databases.items():
        account = database.accounts[0]
        lines.append(f"  database:     {name} (layouts: {', '.join(database.layouts)})")
        lines.append(f"  account:      {account.name} / {account.password}")
    lines.append(f"  control API:  {base}/fmi/emulator/  (FileMaker Pro user, clock, faults, call log)")
    where = f"SQLite file {Path(db).resolve()}" if db else "in memory (nothing survives a restart)"
    lines.append(f"  records:      {where}")
    lines.append("Stop with Ctrl+C.")
    return "\n".join(lines)


async def _run(emulator: Emulator, host: str, port: int, db: str | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(emulator, host, port) as front:
        print(_banner(emulator, host, front.port, db), flush=True)
        await stop.wait()


def run_emulator(args: argparse.Namespace) -> int:
    emulator = Emulator(args.schema, args.db)
    try:
        asyncio.run(_run(emulator, args.host, args.port, args.db))
    except OSError as exc:
        print(f"collab emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 2
    finally:
        emulator.close()
    return 0
