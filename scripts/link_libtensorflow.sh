#!/usr/bin/env bash
# Points serving/third_party/tensorflow at the TensorFlow C API that ships inside the
# tensorflow pip wheel (libtensorflow_cc.so.2, libtensorflow_framework.so.2, include/).
# The cgo directives in serving/internal/model link against this path and set it as rpath,
# so no separate libtensorflow download is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
tf_dir=$("$PYTHON" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("tensorflow").origin))')
for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2 include/tensorflow/c/c_api.h; do
  [ -e "$tf_dir/$f" ] || { echo "link_libtensorflow: $tf_dir/$f not found; is tensorflow installed?" >&2; exit 1; }
done
mkdir -p serving/third_party
ln -sfn "$(cd "$tf_dir" && pwd)" serving/third_party/tensorflow
echo "serving/third_party/tensorflow -> $tf_dir"
