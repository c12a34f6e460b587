# syntax=docker/dockerfile:1
# The Python peers of `bench/run.py --containers` (README "Benchmarks"): Flask + gunicorn,
# FastAPI + uvicorn and KServe's ModelServer, with the bench's server files, in ONE image on
# top of the trainer image, whose venv already holds Python 3.11 and the locked TensorFlow.
# A benchmark baseline, never shipped. Build from the repository root, after the trainer:
#   make bench-images        (scripts/images/build.sh bench-peers)
#   docker build -f Dockerfiles/bench-peers.Dockerfile -t ghcr.io/imgclf/bench-peers:0.1.0 .
# The bench starts it with --entrypoint: gunicorn, uvicorn or python kserve_app.py.

# The trainer image `make images` tags; build.sh passes its own prefix and tag.
ARG TRAINER_IMAGE=ghcr.io/imgclf/trainer:0.1.0
FROM ${TRAINER_IMAGE}
ARG PIP_INDEX_URL
# The venv belongs to root; the servers run as the trainer's user again below.
USER 0:0
WORKDIR /src
# Only the pins and the scripts: the layer is rebuilt when they change, and pip's cache is a
# cache mount (shared with the trainer's build), so a rebuild downloads nothing it had.
COPY requirements-dev.txt requirements-kserve.txt requirements.lock ./
COPY scripts/setup_venv.sh scripts/
COPY scripts/images/build_env.sh scripts/images/install_bench_peers.sh scripts/images/
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=host_ca \
    . scripts/images/build_env.sh && bash scripts/images/install_bench_peers.sh \
 && rm -rf /src
COPY bench/servers/served_model.py bench/servers/flask_app.py bench/servers/fastapi_app.py bench/servers/kserve_app.py /opt/bench/servers/
WORKDIR /opt/bench/servers
USER 65532:65532
