"""The servers the benchmark compares, how to start each one, and how clients reach it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
NODE_DIR = BENCH / "node"


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    #: "yws": plain y-websocket protocol (official WebsocketProvider); "hocuspocus": its provider.
    kind: str
    #: Command with ``{port}`` (and for collab ``{data_dir}``, ``{config}``) placeholders.
    cmd: tuple[str, ...]
    #: Holds a document (relays do not, so S4 cold load means nothing for them).
    has_doc: bool = True
    scenarios: tuple[str, ...] = ("S1", "S2", "S3", "S4", "S5")
    notes: str = ""
    env: dict[str, str] = field(default_factory=dict)


PY = sys.executable

PEERS: dict[str, Peer] = {
    p.name: p
    for p in [
        Peer(
            "collab",
            "collab",
            "yws",
            (PY, "-m", "collab", "serve", "--port", "{port}", "--data-dir", "{data_dir}"),
            scenarios=("S1", "S2", "S3", "S4", "S5", "S6"),
            notes="collab serve (SQLite store) against the Data API emulator in its own process",
        ),
        Peer(
            "ws-relay",
            "Node ws relay",
            "yws",
            ("node", str(NODE_DIR / "ws_relay.mjs"), "{port}"),
            has_doc=False,
            scenarios=("S1", "S2", "S3", "S5"),
        ),
        Peer(
            "uvicorn-relay",
            "uvicorn relay",
            "yws",
            (PY, "-m", "bench.peers.asgi_relay", "{port}"),
            has_doc=False,
            scenarios=("S1", "S2", "S3", "S5"),
        ),
        Peer(
            "litestar-relay",
            "Litestar relay",
            "yws",
            (PY, "-m", "bench.peers.litestar_relay", "{port}"),
            has_doc=False,
            scenarios=("S1", "S2", "S3", "S5"),
        ),
        Peer(
            "litestar-pycrdt",
            "Litestar relay + pycrdt apply",
            "yws",
            (PY, "-m", "bench.peers.litestar_relay", "{port}", "--apply"),
            scenarios=("S1", "S2", "S3", "S4", "S5"),
        ),
        Peer(
            "y-websocket",
            "y-websocket server",
            "yws",
            ("node", str(NODE_DIR / "yws_server.mjs"), "{port}"),
        ),
        Peer(
            "hocuspocus",
            "Hocuspocus",
            "hocuspocus",
            ("node", str(NODE_DIR / "hocuspocus_server.mjs"), "{port}"),
        ),
        Peer(
            "pycrdt-websocket",
            "pycrdt-websocket (no deflate)",
            "yws",
            (PY, "-m", "bench.peers.pycrdt_ws", "{port}"),
        ),
    ]
}

ORDER = list(PEERS)
