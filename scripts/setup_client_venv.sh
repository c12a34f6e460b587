#!/usr/bin/env bash
# Creates build/clients-venv with the KServe and Triton HTTP clients (requirements-clients.txt)
# for tests/test_v2_clients.py. Separate from .venv: tritonclient and TensorFlow pin
# incompatible ml-dtypes versions.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-build/clients-venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
echo "==> installing the KServe and Triton clients (requirements-clients.txt)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r requirements-clients.txt
touch "$VENV/.installed"
