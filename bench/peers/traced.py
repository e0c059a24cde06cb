"""Run a module under tracemalloc: ``python -m bench.peers.traced MODULE [ARGS...]``.

SIGUSR1 writes a snapshot (after a full collection) to ``$BENCH_TRACEMALLOC_OUT``; the file
appears complete (written aside, then renamed). Used by ``python -m bench memory``.
"""

from __future__ import annotations

import gc
import os
import runpy
import signal
import sys
import tracemalloc
from typing import Any

FRAMES = 16


def _dump(*_: Any) -> None:
    out = os.environ["BENCH_TRACEMALLOC_OUT"]
    gc.collect()
    tracemalloc.take_snapshot().dump(out + ".part")
    os.replace(out + ".part", out)


def main() -> None:
    module, args = sys.argv[1], sys.argv[2:]
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, _dump)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
