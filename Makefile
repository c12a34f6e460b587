# Train with Python, predict with Go. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
PY := .venv/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: proto clients-venv kserve-venv demo test test-python test-go lint build venv pipeline test-model clean bench-train fuzz soak ui-screenshot

demo: build  ## train on LFW faces locally (kfp.local), serve with Go, predict held-out images
	$(PY) -m pipelines.demo

test: lint lint-k8s cluster-packages image-files images bench-images test-go test-python  ## every Python and Go test
# make test builds the images first, and the cluster's programs before its first cluster
# test (tests/k8s_cluster.py: .ci/run builds them in the background meanwhile), so the
# cluster and container tests must run, not skip.
test: export K8S_REQUIRE_CLUSTER = 1
test: export IMAGES_REQUIRED = 1

venv: .venv/.installed
.venv/.installed: requirements.txt requirements-dev.txt requirements-dev-nodeps.txt requirements.lock pyproject.toml scripts/setup_venv.sh
	bash scripts/setup_venv.sh
	touch $@

serving/third_party/tensorflow: | .venv/.installed
	bash scripts/link_libtensorflow.sh

build: build/predictor
build/predictor: .venv/.installed serving/third_party/tensorflow $(shell find serving -name '*.go' -not -path '*/third_party/*') $(wildcard serving/internal/ui/static/*) $(wildcard serving/internal/model/*.h) serving/go.mod
	bash scripts/build_predictor.sh $@

# The gRPC code in serving/internal/gen, from pinned upstream definitions (scripts/proto/);
# committed, and make lint checks it is what the script makes.
proto: .venv/.installed  ## regenerate serving/internal/gen
	bash scripts/proto/generate.sh

test-model: serving/testdata/model/expected.json
serving/testdata/model/expected.json: .venv/.installed scripts/make_test_model.py components/export/savedmodel.py components/imaging.py
	$(PY) scripts/make_test_model.py serving/testdata/model

test-go: build test-model build/tools/bin/fake-gcs-server
	cd serving && PREDICTOR_REQUIRE_TF_TESTS=1 go test -race -count=1 ./...
	cd bench/loadgen && go test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz

# Each Go fuzz target runs FUZZTIME on top of its committed seed corpus (testdata/fuzz).
# A count, not a duration: with a duration, Go 1.26's coordinator can report its own
# deadline as a failure on a loaded machine (golang/go#75804, fixed in 1.27). 20000
# inputs take 1-13 s per target on 2 cores (`make fuzz FUZZTIME=500000x` for a longer run).
FUZZTIME ?= 20000x
fuzz: serving/third_party/tensorflow  ## fuzz every Go request decoder briefly
	cd serving && for pkg in internal/protocol/tfserving internal/protocol/kservev2 internal/protocol/imageupload \
	    internal/imagecheck internal/server internal/signature; do \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9]*' $$pkg/*_test.go | cut -c6-); do \
	    echo "==> fuzz $$pkg $$target ($(FUZZTIME))"; \
	    nice go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; \
	  done; \
	done

# cel-go, the KFP backend's CEL engine, for tests/test_pipeline_conditions.py (tools/celcond).
build/tools/bin/celcond: tools/celcond/main.go tools/celcond/go.mod tools/celcond/go.sum
	cd tools/celcond && go build -o ../../$@ .

build/tools/bin/fake-gcs-server: scripts/install_fake_gcs_server.sh
	bash scripts/install_fake_gcs_server.sh

test-python: build test-model build/tools/bin/fake-gcs-server build/tools/bin/celcond build/clients-venv/.installed build/kserve-venv/.installed
	$(PY) -m pytest

ui-screenshot: build test-model  ## the web page test, writing bench/results/ui-demo.png (README's picture)
	UI_SCREENSHOT=bench/results/ui-demo.png $(PY) -m pytest tests/test_web_page.py -k shows_versions

# tritonclient and kserve for tests/test_v2_clients.py, in a venv of their own
# (their ml-dtypes pin clashes with TensorFlow's; see requirements-clients.txt).
clients-venv: build/clients-venv/.installed
build/clients-venv/.installed: requirements-clients.txt scripts/setup_venv.sh
	VENV=build/clients-venv REQUIREMENTS=requirements-clients.txt LOCK= PROJECT_INSTALL=none bash scripts/setup_venv.sh
	touch $@

lint: .venv/.installed serving/third_party/tensorflow
	$(PY) -m ruff check components pipelines cluster tests scripts bench
	$(PY) -m ruff format --check components pipelines cluster tests scripts bench
	$(PY) -m mypy components pipelines cluster
	@test -z "$$(gofmt -l serving/cmd serving/internal serving/*.go bench tools/celcond)" || { gofmt -l serving/cmd serving/internal serving/*.go bench tools/celcond; echo "gofmt: files above need formatting"; exit 1; }
	cd tools/celcond && go vet ./...
	cd bench/loadgen && go vet ./...
	cd serving && go vet ./...
	bash scripts/install_staticcheck.sh
	cd serving && ../build/tools/bin/staticcheck ./...
	node --check serving/internal/ui/static/app.js  # the page's script parses
	bash scripts/proto/check.sh

pipeline: .venv/.installed  ## compile the pipeline to KFP IR YAML
	$(PY) -m pipelines compile --output build/training_pipeline.yaml

clean:
	rm -rf build serving/testdata serving/third_party

# Kubernetes manifests, container images, test control plane (README: "Kubernetes").
.PHONY: k8s-lint-tools k8s-tools lint-k8s image-files
k8s-lint-tools:  ## kustomize and kube-score into build/tools/bin
	bash scripts/install_k8s_lint_tools.sh

k8s-tools:  ## control plane, kubelet, kube-proxy, kubectl, etcd, kwokctl (cold ~12 min)
	nice -n 10 bash scripts/build_k8s_tools.sh

# The local cluster (README "Local cluster"): a real node on this machine, as root.
.PHONY: cluster-tools cluster-packages cluster-up cluster-down cluster-status
cluster-tools: cluster-packages  ## containerd, metrics-server, Traefik, pause; runc, CNI, iptables from Debian
	nice -n 10 bash scripts/cluster/build_node_tools.sh

cluster-packages:  ## the node's runc, CNI plugins and iptables from Debian
	bash scripts/cluster/install_node_packages.sh

cluster-up: .venv/.installed k8s-tools cluster-tools images  ## start the one-node cluster; prints its kubeconfig
	$(PY) -m cluster up

cluster-down: .venv/.installed  ## stop it and remove everything it added to this machine
	$(PY) -m cluster down

cluster-status: .venv/.installed
	$(PY) -m cluster status

lint-k8s: .venv/.installed k8s-lint-tools  ## render, validate, kube-score every overlay; hadolint
	$(PY) scripts/check_manifests.py --out build/k8s k8s/overlays/*/
	.venv/bin/hadolint Dockerfiles/*.Dockerfile

image-files: .venv/.installed  ## the predictor image's files, staged and checked, no Docker needed
	bash scripts/fetch_libtensorflow.sh
	bash scripts/stage_predictor.sh build/image/predictor

# Container images (README "Container images"): podman here, docker elsewhere.
.PHONY: images demo-containers
images: build/images/trainer-gpu-resolved.json  ## predictor and trainer images from Dockerfiles/ (warm: seconds)
	bash scripts/images/build.sh

# The GPU trainer is not built; its requirements are resolved (pip --dry-run) instead.
build/images/trainer-gpu-resolved.json: .venv/.installed requirements.txt requirements.lock scripts/install_trainer.sh
	bash scripts/images/resolve_gpu_trainer.sh $@

demo-containers: images  ## the demo with every step in the trainer image, served by the predictor image
	$(PY) -m pipelines.demo --in-containers

soak: build build/tools/bin/fake-gcs-server  ## long soak and fault-injection run; writes bench/results/soak-*
	$(PY) -m bench.soak

bench-train: .venv/.installed  ## tf.data input pipeline images/s vs the training step's
	$(PY) bench/train_input.py

# KServe's Python ModelServer, make bench's kserve peer, in a venv of its own that takes
# TensorFlow from .venv (bench/setup_kserve_venv.sh; cold ~40 s, ~150 MB).
kserve-venv: build/kserve-venv/.installed
build/kserve-venv/.installed: requirements-kserve.txt requirements.lock bench/setup_kserve_venv.sh scripts/setup_venv.sh .venv/.installed
	bash bench/setup_kserve_venv.sh
	touch $@

# BENCH_ARGS passes flags to bench/run.py, e.g. BENCH_ARGS="--wait-for-load 1.5" on a shared machine.
# Two runs: the servers pinned with taskset, then, where an engine runs and the images are
# built (make bench-images), each in its container under a 1-CPU quota.
.PHONY: bench
bench: build build/kserve-venv/.installed  ## Go predictor vs Flask, FastAPI, KServe: closed loop, paired limit, open-loop sweep; then in containers where built (67 min on 2 cores): bench/results/
	$(PY) bench/run.py --latest $(BENCH_ARGS)
	$(PY) bench/run.py --containers-if-built --latest $(BENCH_ARGS)

# `make bench-containers`: only the second run of make bench, every server in its image under
# a 1-CPU quota (README "Benchmarks"); the Python peers share the bench peers image, built on
# the trainer image (Dockerfiles/bench-peers.Dockerfile; warm: seconds).
.PHONY: bench-images bench-containers
bench-images: images  ## the bench peers image: Flask, FastAPI, KServe on the trainer image
	bash scripts/images/build.sh bench-peers

bench-containers: build bench-images  ## make bench with each server in a container, --cpus=1: bench/results/
	$(PY) bench/run.py --containers --latest $(BENCH_ARGS)
