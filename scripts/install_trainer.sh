#!/usr/bin/env bash
# The trainer image's Python environment (Dockerfiles/trainer.Dockerfile), in two steps so
# the dependency layer is cached across code changes:
#   install_trainer.sh deps     pinned requirements into $VENV (setup_venv.sh); with
#                               TF_VARIANT=gpu, TensorFlow's CUDA build at the locked version
#   install_trainer.sh package  this project, non-editable, without dependencies
#   install_trainer.sh requirements   print the requirements the deps step would use
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TF_VARIANT=${TF_VARIANT:-cpu}

requirements() {
  case $TF_VARIANT in
    cpu) cat requirements.txt ;;
    gpu)
      # Same TensorFlow release as the CPU wheel the tests ran with; the [and-cuda] extra
      # brings CUDA and cuDNN as pip wheels, so the base image needs no CUDA toolkit.
      local tf
      tf=$(sed -n 's/^tensorflow[-_]cpu==//p' requirements.lock)
      [ -n "$tf" ] || { echo "install_trainer: no tensorflow-cpu pin in requirements.lock" >&2; exit 1; }
      sed "s/^tensorflow-cpu==[^ ]*/tensorflow[and-cuda]==$tf/" requirements.txt
      ;;
    *) echo "install_trainer: TF_VARIANT must be cpu or gpu, not '$TF_VARIANT'" >&2; exit 2 ;;
  esac
}

case ${1:-} in
  requirements) requirements ;;
  deps)
    reqs=$(mktemp)
    requirements > "$reqs"
    VENV=$VENV REQUIREMENTS=$reqs PROJECT_INSTALL=none bash scripts/setup_venv.sh
    rm -f "$reqs"
    ;;
  package) "$VENV/bin/python" -m pip install --quiet --no-deps . ;;
  *) echo "usage: install_trainer.sh deps|package|requirements" >&2; exit 2 ;;
esac
