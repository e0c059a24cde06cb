"""The web viewer's pure JavaScript (diffs, caret shifting, URL parameters) under `node --test`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SOURCES = Path(__file__).resolve().parents[2] / "webviewer"


@pytest.mark.node
def test_javascript_units() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    if not (SOURCES / "node_modules" / "yjs").exists():
        pytest.fail("webviewer/node_modules is missing: run `npm ci` in webviewer/ (tests/run.sh does)")
    result = subprocess.run([node, "--test", "test/"], cwd=SOURCES, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
