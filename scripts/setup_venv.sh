#!/usr/bin/env bash
# Creates .venv and installs the pinned Python dependencies plus this project (editable).
# Re-running is cheap: pip skips what is already installed. The trainer image reuses it
# (scripts/install_trainer.sh): REQUIREMENTS swaps the requirements file (CUDA TensorFlow),
# PROJECT_INSTALL=none leaves the project out (installed later, non-editable). The test
# clients' venv (make clients-venv) sets VENV, REQUIREMENTS and LOCK= (no constraints file).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
REQUIREMENTS=${REQUIREMENTS:-requirements-dev.txt}
LOCK=${LOCK-requirements.lock}
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
echo "==> installing Python dependencies ($REQUIREMENTS${LOCK:+, pinned by $LOCK}) into $VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS" ${LOCK:+-c "$LOCK"}
# requirements-dev-nodeps.txt: packages whose dependencies .venv has under other names.
if [ "$REQUIREMENTS" = requirements-dev.txt ]; then
  "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements-dev-nodeps.txt
fi
[ "${PROJECT_INSTALL:-editable}" = none ] || "$VENV/bin/python" -m pip install --quiet --no-deps -e .
