#!/usr/bin/env bash
# Lays out the predictor image's runtime files (Dockerfiles/predictor.Dockerfile copies
# them as they are), and checks them here, where no Docker engine runs:
#   $DEST/opt/predictor/bin/predictor
#   $DEST/opt/predictor/lib/libtensorflow_cc.so.2, libtensorflow_framework.so.2
# The cgo directives bake the build tree's serving/third_party/tensorflow into the binary's
# runpath, which does not exist in the image. An extra runpath $ORIGIN/../lib (ahead of
# it) makes the binary find the libraries beside it wherever the tree is copied, with no
# LD_LIBRARY_PATH. The libraries lose their static symbol tables (strip --strip-unneeded:
# 853 -> 634 MB); the dynamic symbols the binary links against stay.
# DEST is relative to the repository root (default build/image/predictor).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-build/image/predictor}
[ -e serving/third_party/tensorflow/include ] || bash scripts/link_libtensorflow.sh
rm -rf "$DEST"
mkdir -p "$DEST/opt/predictor/bin" "$DEST/opt/predictor/lib"

# Single quotes: $ORIGIN is for the dynamic loader, not the shell.
CGO_LDFLAGS='-O2 -Wl,-rpath,$ORIGIN/../lib' bash scripts/build_predictor.sh "$DEST/opt/predictor/bin/predictor"
for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
  strip --strip-unneeded -o "$DEST/opt/predictor/lib/$lib" "serving/third_party/tensorflow/$lib"
  chmod 0644 "$DEST/opt/predictor/lib/$lib"
done

# The staged binary must take its TensorFlow from the staged lib/, and start.
bin="$DEST/opt/predictor/bin/predictor"
lib_dir=$(cd "$DEST/opt/predictor/lib" && pwd)
resolved=$(env -u LD_LIBRARY_PATH ldd "$bin" | awk '$1 == "libtensorflow_cc.so.2" {print $3}')
if [ -z "$resolved" ] || [ "$(realpath "$resolved")" != "$lib_dir/libtensorflow_cc.so.2" ]; then
  echo "stage_predictor: $bin resolves libtensorflow_cc.so.2 to '$resolved', not $lib_dir" >&2
  exit 1
fi
# --help's exit code is the flag package's business; its text proves the binary loaded.
help=$(env -u LD_LIBRARY_PATH "$bin" --help 2>&1 || true)
case $help in
  *model-base-path*) ;;
  *) echo "stage_predictor: $bin --help with the staged libraries printed: $help" >&2; exit 1 ;;
esac
du -sh "$DEST/opt/predictor/bin/predictor" "$DEST/opt/predictor/lib"/*
