#!/usr/bin/env bash
# Installs fake-gcs-server (a GCS emulator; it enforces generation preconditions, which the
# publish tests rely on) into build/tools/bin from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.56.1
bin=build/tools/bin/fake-gcs-server
# grep without -q reads all of go's output: -q would stop early, SIGPIPE go and fail the pipe.
if [ -x "$bin" ] && go version -m "$bin" | grep "fake-gcs-server[[:space:]]*$version" >/dev/null; then
  exit 0
fi
echo "==> installing fake-gcs-server $version"
GOBIN="$PWD/build/tools/bin" go install "github.com/fsouza/fake-gcs-server@$version"
