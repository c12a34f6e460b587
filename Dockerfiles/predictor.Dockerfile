# syntax=docker/dockerfile:1
# The Go predictor on a distroless glibc base: the binary and the two TensorFlow shared
# libraries, nothing else (no shell, no package manager). Build from the repository root:
#   docker build -f Dockerfiles/predictor.Dockerfile -t ghcr.io/imgclf/predictor:0.1.0 .
# Every step below is a script that `make test` also runs (scripts/stage_predictor.sh
# checks the staged files start without Docker). Expected size: README, "Container images".

# Build and runtime share a Debian release, so the binary's glibc matches the runtime's.
FROM golang:1.26-bookworm AS build
# python3-venv only to unpack the tensorflow wheel (its C API). Versions come from the
# Debian release pinned by the base tag; pinning each package breaks on point releases.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Layers ordered by how often they change: TF pin, Go modules, predictor source.
COPY requirements.lock ./
COPY scripts/fetch_libtensorflow.sh scripts/link_libtensorflow.sh scripts/build_predictor.sh scripts/stage_predictor.sh scripts/
RUN bash scripts/fetch_libtensorflow.sh
COPY serving/go.mod serving/go.sum serving/
WORKDIR /src/serving
RUN go mod download
WORKDIR /src
COPY serving/ serving/
RUN bash scripts/stage_predictor.sh build/image/predictor

# libc, libstdc++ and libgcc_s (all the TF libraries need), CA certificates for gs://,
# and a nonroot user (65532); Debian 12 like the build stage and the CI machines, whose
# glibc (2.36) the binary tested by `make test` was linked against.
FROM gcr.io/distroless/cc-debian12:nonroot
# /opt/predictor/{bin,lib}: the binary finds the libraries through its $ORIGIN/../lib runpath.
COPY --from=build /src/build/image/predictor/ /
USER 65532:65532
EXPOSE 8501
ENV TF_CPP_MIN_LOG_LEVEL=2
ENTRYPOINT ["/opt/predictor/bin/predictor"]
