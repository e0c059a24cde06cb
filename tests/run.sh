#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run it.
#   bash tests/run.sh            # whole suite
#   bash tests/run.sh -k sync    # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=25.1"
.venv/bin/python -m pip install -q -e . --group test --group lint --group bench

# Node packages for the test clients, the web viewer bundle and the benchmark peers.
for dir in tests/js webviewer bench; do
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

.venv/bin/ruff check collab tests bench
.venv/bin/mypy
exec .venv/bin/pytest "$@"
