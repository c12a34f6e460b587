# syntax=docker/dockerfile:1
# The Go predictor on a distroless glibc base: the binary and the two TensorFlow shared
# libraries, nothing else (no shell, no package manager). Build from the repository root:
#   docker build -f Dockerfiles/predictor.Dockerfile -t ghcr.io/imgclf/predictor:0.1.0 .
# `make images` builds it (scripts/images/build.sh), with podman where docker cannot run,
# on local stand-ins for the two bases (scripts/images/build_bases.sh). Every step below is
# a script that `make test` also runs. Measured size: README, "Container images".

# The bases are arguments so that a machine without a registry can pass its own; the
# defaults are the upstream images. Build and runtime share a Debian release, so the
# binary's glibc matches the runtime's.
ARG GOLANG_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${GOLANG_IMAGE} AS build
# The host's registry settings, for this build stage only (never in the shipped image).
ARG GOPROXY
ARG PIP_INDEX_URL
# python3-venv only to unpack the tensorflow wheel (its C API). Versions come from the
# Debian release pinned by the base tag; pinning each package breaks on point releases.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# Layers ordered by how often they change: TF pin, Go modules, predictor source. pip's and
# Go's caches are cache mounts, so a changed layer re-downloads nothing it had.
COPY requirements.lock ./
COPY scripts/fetch_libtensorflow.sh scripts/link_libtensorflow.sh scripts/build_predictor.sh scripts/stage_predictor.sh scripts/
COPY scripts/images/build_env.sh scripts/images/
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=host_ca \
    . scripts/images/build_env.sh && bash scripts/fetch_libtensorflow.sh
COPY serving/go.mod serving/go.sum serving/
WORKDIR /src/serving
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=secret,id=host_ca \
    . ../scripts/images/build_env.sh && go mod download
WORKDIR /src
COPY serving/ serving/
# The module cache is a cache mount, which the engine may have emptied since the download
# layer above was cached: this step may download too.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=secret,id=host_ca \
    . scripts/images/build_env.sh && bash scripts/stage_predictor.sh build/image/predictor

# libc, libstdc++ and libgcc_s (all the TF libraries need), CA certificates for gs://,
# and a nonroot user (65532); Debian 12 like the build stage and the CI machines, whose
# glibc (2.36) the binary tested by `make test` was linked against.
FROM ${RUNTIME_IMAGE}
# /opt/predictor/{bin,lib}: the binary finds the libraries through its $ORIGIN/../lib runpath.
COPY --from=build /src/build/image/predictor/ /
USER 65532:65532
EXPOSE 8501 8500
ENV TF_CPP_MIN_LOG_LEVEL=2
ENTRYPOINT ["/opt/predictor/bin/predictor"]
