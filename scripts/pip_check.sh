#!/usr/bin/env bash
# Usage: scripts/pip_check.sh PYTHON
# `pip check` for PYTHON's environment, except what requirements-dev-nodeps.txt installs
# without its dependencies on purpose (tensorflow-serving-api asks for "tensorflow", which
# tensorflow-cpu provides): those packages' unmet requirements are expected; any other
# unmet or conflicting requirement fails.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$1
report=$("$python" -m pip check 2>&1) || true
expected=$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' requirements-dev-nodeps.txt)
unmet=$(grep -v '^No broken requirements found\.$' <<<"$report" || true)
for name in $expected; do
  unmet=$(grep -iv "^$name [^ ]* requires " <<<"$unmet" || true)
done
if [ -n "$unmet" ]; then
  echo "$unmet" >&2
  exit 1
fi
echo "pip check: requirements met (packages installed without dependencies: $(echo $expected))"
