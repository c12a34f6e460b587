#!/usr/bin/env bash
# Builds the Go predictor (build/predictor), linked against the TensorFlow C API in the
# tensorflow wheel (see scripts/link_libtensorflow.sh). Used by make, CI and the predictor image.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -e serving/third_party/tensorflow/include ] || bash scripts/link_libtensorflow.sh
out=${1:-build/predictor}
mkdir -p "$(dirname "$out")"
echo "==> building $out"
(cd serving && CGO_ENABLED=1 go build -trimpath -o "../$out" ./cmd/predictor)
