#!/usr/bin/env bash
# Creates .venv and installs the pinned Python dependencies plus this project (editable).
# Re-running is cheap: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
echo "==> installing Python dependencies (requirements.lock)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r requirements.txt -c requirements.lock
"$VENV/bin/python" -m pip install --quiet --no-deps -e .
