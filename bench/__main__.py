"""``python -m bench run`` / ``report`` / ``profile`` / ``memory``: see docs/performance.md."""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.peers_def import BENCH, ORDER


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="collab against the reference Yjs servers")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the scenarios and write a JSON result file")
    run.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds per peer (the smoke test)")
    run.add_argument("--runs", type=int, default=None, help="repetitions (default 3, or 1 with --quick)")
    run.add_argument("--peers", help=f"comma-separated subset of: {','.join(ORDER)}")
    run.add_argument("--scenarios", help="comma-separated subset of S1..S6")
    run.add_argument("--server-cpu", default="0", help="core for the servers (taskset), default 0")
    run.add_argument("--client-cpu", default="1", help="core for the load generator, default 1")
    run.add_argument("--workdir", help="where data dirs and server logs go (default: a temp dir, removed)")
    run.add_argument("--out", help="result file (default bench/results/<UTC timestamp>.json)")
    report = commands.add_parser("report", help="print the markdown table of a result file")
    report.add_argument("file", nargs="?", help="result file (default: the newest in bench/results/)")
    prof = commands.add_parser("profile", help="py-spy the collab hub under S2 (or S6) load")
    prof.add_argument("--scenario", default="S2", choices=["S2", "S6"])
    prof.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    prof.add_argument("--quick", action="store_true")
    prof.add_argument("--out", default=str(BENCH / "results" / "profile"), help="output folder")
    mem = commands.add_parser("memory", help="tracemalloc the collab hub: where an idle connection's memory goes")
    mem.add_argument("--connections", type=int, default=1000)
    mem.add_argument("--per-room", type=int, default=1, help="connections per record (default 1)")
    mem.add_argument("--top", type=int, default=25, help="lines per table")
    args = parser.parse_args(argv)

    if args.command == "memory":
        from bench.memory import memory

        memory(args.connections, args.per_room, args.top)
        return 0

    if args.command == "profile":
        from bench.profile import profile

        profile(args.scenario, Path(args.out), args.rate, "quick" if args.quick else "full")
        return 0

    if args.command == "run":
        from bench.report import render
        from bench.run import make_options
        from bench.run import run as run_bench

        runs = args.runs if args.runs is not None else (1 if args.quick else 3)
        opts = make_options(
            "quick" if args.quick else "full",
            runs,
            args.peers.split(",") if args.peers else None,
            args.scenarios.split(",") if args.scenarios else None,
            args.server_cpu,
            args.client_cpu,
            args.workdir,
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path(args.out) if args.out else BENCH / "results" / f"{stamp}.json"
        try:
            result = run_bench(opts, out)
        finally:
            if not args.workdir:
                shutil.rmtree(opts.workdir, ignore_errors=True)
        print(render(result))
        print(f"\nresults: {out}", file=sys.stderr)
        return 0

    from bench.report import load, render

    path = Path(args.file) if args.file else None
    if path is None:
        files = sorted((BENCH / "results").glob("*.json"))
        if not files:
            print("no results in bench/results/: run `python -m bench run` first", file=sys.stderr)
            return 1
        path = files[-1]
    print(render(load(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
