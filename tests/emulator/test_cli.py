"""``collab emulator`` refuses a bad schema with one clear sentence and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bad_schema_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    done = subprocess.run(
        [sys.executable, "-m", "collab", "emulator", "--port", "0", "--schema", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"collab: schema file {missing} does not exist"
    assert "Traceback" not in done.stderr + done.stdout
