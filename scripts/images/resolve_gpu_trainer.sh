#!/usr/bin/env bash
# The GPU trainer variant (TF_VARIANT=gpu) is not built here: its CUDA wheels are several
# GB and no GPU can run them. What is checked instead: its requirements, exactly as the
# image's deps step would install them (install_trainer.sh requirements, pinned by
# requirements.lock), resolve on the package index. pip's resolver report goes to $1
# (default build/images/trainer-gpu-resolved.json); tests/test_images.py reads it.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build/images/trainer-gpu-resolved.json}
mkdir -p "$(dirname "$out")"
reqs=$(mktemp)
trap 'rm -f "$reqs"' EXIT
TF_VARIANT=gpu bash scripts/install_trainer.sh requirements > "$reqs"
echo "==> resolving the GPU trainer's requirements (pip --dry-run, nothing installed)"
.venv/bin/python -m pip install --dry-run --ignore-installed --quiet \
  --report "$out.tmp" -r "$reqs" -c requirements.lock
mv "$out.tmp" "$out"
