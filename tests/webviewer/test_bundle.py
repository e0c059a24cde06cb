"""The committed bundle (collab/webviewer/dist) is exactly what the sources and package-lock build."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "webviewer"
DIST = ROOT / "collab" / "webviewer" / "dist"


def files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_committed_bundle_matches_sources(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (the committed bundle is used as is)")
    if not (SOURCES / "node_modules" / "esbuild").exists():
        pytest.fail("webviewer/node_modules is missing: run `npm ci` in webviewer/ (tests/run.sh does)")
    out = tmp_path / "dist"
    result = subprocess.run(
        [node, "scripts/build.mjs", "--outdir", str(out)], cwd=SOURCES, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    built, committed = files(out), files(DIST)
    assert sorted(built) == sorted(committed), "the bundle's file list differs: run `npm run build` in webviewer/"
    stale = [name for name in built if built[name] != committed[name]]
    assert not stale, f"{stale} differ from a fresh build: run `npm run build` in webviewer/ and commit dist/"


def test_bundle_targets_web_viewer_engines() -> None:
    for name in ("app.js", "dashboard.js"):
        code = (DIST / name).read_text(encoding="utf-8")
        # ES2019 output: esbuild lowers optional chaining and nullish coalescing (ES2020).
        assert "??" not in code and "?." not in code, name
        assert not code.startswith("import") and "export " not in code[:200], f"{name} must be a classic script"
