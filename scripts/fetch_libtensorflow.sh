#!/usr/bin/env bash
# Gets the TensorFlow C API for the predictor build: it ships inside the tensorflow wheel
# (see scripts/link_libtensorflow.sh). A checkout with .venv (make, CI) links that venv's
# wheel. The predictor image's build stage has no .venv and needs no working TensorFlow:
# it installs the locked tensorflow-cpu wheel alone (--no-deps) into $VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
tf=$(sed -n 's/^tensorflow[-_]cpu==//p' requirements.lock)
[ -n "$tf" ] || { echo "fetch_libtensorflow: no tensorflow-cpu pin in requirements.lock" >&2; exit 1; }
if [ -x .venv/bin/python ] && .venv/bin/python -m pip show -q tensorflow-cpu 2>/dev/null; then
  PYTHON=.venv/bin/python
else
  VENV=${VENV:-build/tf-wheel}
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  echo "==> tensorflow-cpu==$tf wheel (C API only) into $VENV"
  "$VENV/bin/python" -m pip install --quiet --no-deps "tensorflow-cpu==$tf"
  PYTHON=$VENV/bin/python
fi
PYTHON=$PYTHON bash scripts/link_libtensorflow.sh
