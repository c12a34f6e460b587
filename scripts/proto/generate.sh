#!/usr/bin/env bash
# generate.sh [OUT_DIR]: the predictor's gRPC code (serving/internal/gen) from the upstream
# protocol definitions in pinned packages (scripts/proto/requirements.txt: TF Serving's
# apis, KServe's v2 GRPCInferenceService; TensorFlow's core protos from .venv's tensorflow,
# pinned by requirements.lock), with Debian's protoc and protoc-gen-go/-go-grpc at the
# versions below. `make proto` writes serving/internal/gen; `make lint` writes a temp dir
# and fails if the committed files differ (scripts/proto/check.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-serving/internal/gen}
PYTHON=${PYTHON:-.venv/bin/python}
PROTOC_GEN_GO_VERSION=v1.36.12      # = google.golang.org/protobuf in serving/go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.0
work=build/proto
mkdir -p "$work/bin" "$work/wheels"

command -v protoc >/dev/null || bash scripts/apt_install.sh protobuf-compiler
bin=$(cd "$work/bin" && pwd)
for tool in "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION" \
    "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"; do
  name=$(basename "${tool%@*}")
  stamp="$work/bin/$name.version"
  if [ ! -x "$work/bin/$name" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${tool#*@}" ]; then
    GOBIN=$bin GOFLAGS=-mod=mod go install "$tool"
    echo "${tool#*@}" > "$stamp"
  fi
done

# The wheels only, without their dependencies (tensorflow-serving-api requires tensorflow,
# which .venv already has): the script reads their files and imports none of them.
"$PYTHON" -m pip download --quiet --no-deps --dest "$work/wheels" -r scripts/proto/requirements.txt
wheels=()
while read -r req; do
  [[ $req =~ ^([A-Za-z0-9_.-]+)==([^[:space:]]+) ]] || continue
  name=${BASH_REMATCH[1]//-/_}
  wheels+=("$(ls "$work/wheels/${name}-${BASH_REMATCH[2]}-"*.whl)")
done < scripts/proto/requirements.txt
tf_dir=$("$PYTHON" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("tensorflow").origin))')

roots=(tensorflow_serving/apis/prediction_service.proto tensorflow_serving/apis/model_service.proto grpc_predict_v2.proto)
"$PYTHON" scripts/proto/descriptor_set.py --out "$work/descriptors.pb" --source "${wheels[@]}" "$tf_dir" \
  --root "${roots[@]}" > "$work/files.txt"

# Each upstream directory becomes one Go package under internal/gen (TensorFlow's own
# go_package options name TensorFlow's repository; these override them).
module=github.com/imgclf/serving/internal/gen
mopts=()
while read -r file; do
  case $file in
    google/protobuf/*) continue ;;  # protoc-gen-go knows the well-known types
    grpc_predict_v2.proto) pkg=kservev2/inference ;;
    *) pkg=$(dirname "$file") ;;
  esac
  mopts+=("M$file=$module/$pkg;$(basename "$pkg")")
done < "$work/files.txt"
go_opts=$(IFS=,; echo "${mopts[*]}")

rm -rf "$out" && mkdir -p "$out"
files=$(grep -v '^google/protobuf/' "$work/files.txt")
# shellcheck disable=SC2086 # one argument per file
PATH="$bin:$PATH" protoc --descriptor_set_in="$work/descriptors.pb" \
  --go_out="$out" --go_opt="paths=import,module=$module,$go_opts" \
  --go-grpc_out="$out" --go-grpc_opt="paths=import,module=$module,$go_opts" \
  $files
echo "generated $(find "$out" -name '*.go' | wc -l) files in $out"
