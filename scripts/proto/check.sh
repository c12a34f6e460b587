#!/usr/bin/env bash
# check.sh: fails if serving/internal/gen is not what scripts/proto/generate.sh makes now
# (someone edited a generated file, or changed a pin without `make proto`).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash scripts/proto/generate.sh "$tmp/gen" >/dev/null
if ! diff -r "$tmp/gen" serving/internal/gen; then
  echo "serving/internal/gen is out of date: run make proto and commit the result" >&2
  exit 1
fi
echo "serving/internal/gen is up to date"
