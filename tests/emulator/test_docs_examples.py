"""docs/emulator.md's curl examples, run against a real ``collab emulator`` process.

Every ```console block is a sequence of ``$ command`` lines (continued with a trailing
backslash) followed by their exact output. The port 8989 becomes a free port; ``$TOKEN``
is the token the login example returned, and ``<token>`` stands for it in outputs.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "emulator.md"


def examples(text: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs from the ```console blocks, in order."""
    pairs: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        command: list[str] = []
        output: list[str] = []
        continuing = False
        for line in block.splitlines():
            if line.startswith("$ ") or continuing:
                if line.startswith("$ ") and command and not continuing:
                    pairs.append((" ".join(command), "\n".join(output)))
                    command, output = [], []
                command.append(line[2:] if line.startswith("$ ") else line.strip())
                continuing = line.endswith("\\")
                if continuing:
                    command[-1] = command[-1][:-1].rstrip()
            else:
                output.append(line)
        if command:
            pairs.append((" ".join(command), "\n".join(output)))
    return pairs


@pytest.fixture
def emulator_process() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "collab", "emulator", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # A reader thread, not select(): the banner arrives in one write, and select() on the
        # pipe cannot see lines already sitting in Python's buffer after the first readline().
        lines: queue.Queue[str] = queue.Queue()
        stdout = proc.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        deadline = time.monotonic() + 20
        banner = ""
        while "control API" not in banner:
            try:
                banner += lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"collab emulator did not start: {banner}") from None
        assert f"listening on http://127.0.0.1:{port}" in banner and "admin / admin" in banner
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_the_doc_has_the_promised_examples() -> None:
    commands = " ".join(c for c, _ in examples(DOC.read_text()))
    for needed in ("/sessions", "/_find", '"modId":"0"', "/lock"):
        assert needed in commands


def test_curl_examples_answer_exactly_as_documented(emulator_process: int) -> None:
    env = dict(os.environ)
    for command, expected in examples(DOC.read_text()):
        command = command.replace("127.0.0.1:8989", f"127.0.0.1:{emulator_process}")
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=20)
        output = done.stdout
        if "/sessions" in command and "-u admin:admin" in command:
            token = json.loads(output)["response"]["token"]
            env["TOKEN"] = token
        if "TOKEN" in env:
            output = output.replace(env["TOKEN"], "<token>")
        assert output.strip() == expected.strip(), command
