"""Imports go one way: parts meet through collab.context and the hooks, never by importing each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "collab"

#: part -> parts it must never import (directly). The composition root (app.py) may import all.
FORBIDDEN: dict[str, set[str]] = {
    "protocol": {"rooms", "persist", "locks", "events", "webviewer", "auth", "filemaker", "store", "transports"},
    "bus": {"rooms", "persist", "locks", "events", "webviewer", "auth", "filemaker", "store", "transports"},
    "store": {"rooms", "persist", "locks", "events", "webviewer", "auth", "filemaker"},
    "filemaker": {"rooms", "persist", "locks", "events", "webviewer", "auth"},
    "auth": {"rooms", "persist", "locks", "events", "webviewer", "filemaker"},
    "rooms": {"persist", "locks", "events", "webviewer"},
    "locks": {"persist", "events", "webviewer"},
    "events": {"persist", "locks", "webviewer"},
    "persist": {"locks", "events", "webviewer"},
    "webviewer": {"persist", "locks", "events", "rooms"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("collab."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("collab."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_part_does_not_import_upward(part: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imports(path) & FORBIDDEN[part])
        for path in (PACKAGE / part).rglob("*.py")
    }
    assert {file: bad for file, bad in offenders.items() if bad} == {}


def test_only_the_composition_root_installs_components() -> None:
    importers = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "component" in path.read_text(encoding="utf-8") and "import component" in path.read_text(encoding="utf-8")
    ]
    assert importers == ["app.py"]
