#!/usr/bin/env bash
# Creates build/kserve-venv for make bench's KServe peer: kserve and what it pulls in, with
# TensorFlow and the packages the two share taken from .venv instead of installed again
# (tensorflow-cpu alone is ~500 MB). A .pth file appends .venv's site-packages to the
# venv's path, after its own, so pip sees those packages as installed; requirements.lock,
# as constraints, makes a kserve requirement that .venv's versions do not meet fail the
# install instead of shadowing them with a second copy TensorFlow was not built against.
# The venv is made from .venv's interpreter, so the two share a Python version.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=build/kserve-venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  .venv/bin/python -m venv "$VENV"
fi
shared=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
own=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "$shared" > "$own/_dotvenv_site_packages.pth"
VENV=$VENV REQUIREMENTS=requirements-kserve.txt LOCK=requirements.lock PROJECT_INSTALL=none \
  bash scripts/setup_venv.sh
bash scripts/pip_check.sh "$VENV/bin/python"  # kserve's requirements and .venv's, met together
