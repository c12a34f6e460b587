#!/usr/bin/env bash
# The bench peers image's extra Python packages (Dockerfiles/bench-peers.Dockerfile), added
# to the trainer image's venv ($VENV, which already holds TensorFlow): the Python serving
# baselines of `make bench` at the pins requirements-dev.txt gives them (Flask + gunicorn,
# FastAPI + uvicorn + uvloop + httptools) and KServe's ModelServer with what it pulls in
# (requirements-kserve.txt), constrained by requirements.lock so that nothing the trainer
# installed changes version (scripts/setup_venv.sh).
#   install_bench_peers.sh              install into $VENV
#   install_bench_peers.sh requirements print the requirements it would install
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
BASELINES=(flask gunicorn fastapi uvicorn uvloop httptools)

requirements() {
  local name line
  for name in "${BASELINES[@]}"; do
    line=$(grep -iE "^$name==" requirements-dev.txt | sed 's/[[:space:]]*#.*//') || true
    [ -n "$line" ] || { echo "install_bench_peers: no $name== pin in requirements-dev.txt" >&2; exit 1; }
    echo "$line"
  done
  grep -vE '^[[:space:]]*(#|$)' requirements-kserve.txt
}

case ${1:-install} in
  requirements) requirements ;;
  install)
    reqs=$(mktemp)
    requirements > "$reqs"
    VENV=$VENV REQUIREMENTS=$reqs LOCK=requirements.lock PROJECT_INSTALL=none bash scripts/setup_venv.sh
    rm -f "$reqs"
    "$VENV/bin/python" -m pip check  # the peers' requirements and the trainer's, met together
    ;;
  *) echo "usage: install_bench_peers.sh [install|requirements]" >&2; exit 2 ;;
esac
