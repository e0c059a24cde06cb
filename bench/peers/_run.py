"""uvicorn settings shared by the Python peers: the same as collab's (no permessage-deflate)."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn


def run(app: Any) -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 1234
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        ws_per_message_deflate=False,
        ws_max_size=1_048_576 + 64,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
