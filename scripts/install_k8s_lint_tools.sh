#!/usr/bin/env bash
# Installs the manifest tools that `make lint-k8s` and the tests use into build/tools/bin
# (K8S_TOOLS_BIN), from the Go module proxy: kustomize renders the overlays; kube-score
# lints them for security and reliability. (kube-linter, the first choice, is refused by
# the module proxy here.) Skips a tool already installed at the pinned version.
# Pins need go <= the Go here (1.26): kustomize v5.8.3 already requires go 1.27.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mkdir -p "${K8S_TOOLS_BIN:-build/tools/bin}" && cd "${K8S_TOOLS_BIN:-build/tools/bin}" && pwd)
tools=(
  "kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.2"
  "kube-score github.com/zegl/kube-score/cmd/kube-score@v1.20.0"
)
for entry in "${tools[@]}"; do
  read -r name module <<< "$entry"
  stamp="$bin/.$name-${module##*@}"
  if [ -x "$bin/$name" ] && [ -e "$stamp" ]; then continue; fi
  echo "==> installing $module into $bin"
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "$module"
  rm -f "$bin/.$name-"*
  touch "$stamp"
done
