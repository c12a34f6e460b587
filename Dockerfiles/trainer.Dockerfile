# syntax=docker/dockerfile:1
# The image every pipeline component runs in on a cluster (components/kfp_image.py): the
# pinned Python environment and this package, as a non-root user. Build from the repo root:
#   docker build -f Dockerfiles/trainer.Dockerfile -t ghcr.io/imgclf/trainer:0.1.0 .
#   docker build -f Dockerfiles/trainer.Dockerfile --build-arg TF_VARIANT=gpu \
#     -t ghcr.io/imgclf/trainer:0.1.0-gpu .      # CUDA TensorFlow for GPU node pools
# `make images` builds the CPU variant (scripts/images/build.sh). Every step is
# scripts/install_trainer.sh, which wraps scripts/setup_venv.sh (make, CI).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
ARG TF_VARIANT=cpu
ARG PIP_INDEX_URL
# The venv first on PATH: KFP runs components with `python3`, and finds kfp (pinned, so
# its runtime `pip install kfp` is a no-op that writes nothing as the non-root user).
ENV VENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /src
# Dependencies in their own layer: rebuilt only when the pins change, not on code edits;
# pip's cache is a cache mount, so a rebuild downloads nothing it had.
COPY requirements.txt requirements.lock ./
COPY scripts/setup_venv.sh scripts/install_trainer.sh scripts/
COPY scripts/images/build_env.sh scripts/images/
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=host_ca \
    . scripts/images/build_env.sh && TF_VARIANT=${TF_VARIANT} bash scripts/install_trainer.sh deps
COPY pyproject.toml ./
COPY components/ components/
COPY pipelines/ pipelines/
# A regular (non-editable) install, so the source tree can go (its build backend,
# setuptools, is fetched like any dependency).
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=host_ca \
    . scripts/images/build_env.sh && bash scripts/install_trainer.sh package \
 && rm -rf /src \
 && groupadd --gid 65532 trainer \
 && useradd --uid 65532 --gid 65532 --create-home --home-dir /home/trainer trainer
# Keras and TensorBoard write caches under $HOME; everything else is read-only to it.
WORKDIR /home/trainer
USER 65532:65532
