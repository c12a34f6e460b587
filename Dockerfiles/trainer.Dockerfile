# syntax=docker/dockerfile:1
# The image every pipeline component runs in on a cluster (components/kfp_image.py): the
# pinned Python environment and this package, as a non-root user. Build from the repo root:
#   docker build -f Dockerfiles/trainer.Dockerfile -t ghcr.io/imgclf/trainer:0.1.0 .
#   docker build -f Dockerfiles/trainer.Dockerfile --build-arg TF_VARIANT=gpu \
#     -t ghcr.io/imgclf/trainer:0.1.0-gpu .      # CUDA TensorFlow for GPU node pools
# Every step is scripts/install_trainer.sh, which wraps scripts/setup_venv.sh (make, CI).
FROM python:3.11-slim-bookworm
ARG TF_VARIANT=cpu
# The venv first on PATH: KFP runs components with `python3`, and finds kfp (pinned, so
# its runtime `pip install kfp` is a no-op that writes nothing as the non-root user).
ENV VENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /src
# Dependencies in their own layer: rebuilt only when the pins change, not on code edits.
COPY requirements.txt requirements.lock ./
COPY scripts/setup_venv.sh scripts/install_trainer.sh scripts/
RUN TF_VARIANT=${TF_VARIANT} bash scripts/install_trainer.sh deps
COPY pyproject.toml ./
COPY components/ components/
COPY pipelines/ pipelines/
# A regular (non-editable) install, so the source tree can go.
RUN bash scripts/install_trainer.sh package \
 && rm -rf /src \
 && useradd --uid 65532 --user-group --create-home --home-dir /home/trainer trainer
# Keras and TensorBoard write caches under $HOME; everything else is read-only to it.
WORKDIR /home/trainer
USER 65532:65532
