#!/usr/bin/env bash
# Installs staticcheck into build/tools/bin from the Go module proxy for `make lint`.
# honnef.co/go/tools v0.8.2 (staticcheck 2026.1.x) is the release that builds with and
# understands the Go here (1.26); older ones refuse newer language versions.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v0.8.2
bin=build/tools/bin/staticcheck
# grep without -q reads all of go's output: -q would stop early, SIGPIPE go and fail the pipe.
if [ -x "$bin" ] && go version -m "$bin" | grep "honnef.co/go/tools[[:space:]]*$version" >/dev/null; then
  exit 0
fi
echo "==> installing staticcheck ($version)"
GOBIN="$PWD/build/tools/bin" GOFLAGS=-buildvcs=false go install "honnef.co/go/tools/cmd/staticcheck@$version"
