"""Shared fixtures: real LFW images as folders, the built Go predictor, the Go fixture model."""

import json
import os
from pathlib import Path

import pytest
from images import predictor_image, trainer_image  # noqa: F401  (fixtures, see module)
from k8s_cluster import (  # noqa: F401  (fixtures, see module)
    CLUSTER_MODULES,
    admin,
    build_cluster_programs,
    cluster_models,
    deployer,
    deployer_kubeconfig,
    k8s_cluster,
    predictor_deployment,
    published_v1,
)

from pipelines.demo_data import write_lfw_folders
from pipelines.predictor_process import DEFAULT_BINARY, LocalPredictor

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_MODEL = ROOT / "serving" / "testdata" / "model"
FIXTURE_MODEL_NAME = "model"  # what the fixture predictor serves it as

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The cluster scenarios' report, when they ran (tests/cluster_report.py)."""
    import cluster_report

    written = cluster_report.write()
    if written:
        print(f"\ncluster scenarios report: {written}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster scenarios share one cluster and build on each other's state (version 1,
    then 2, ...): they run last, in CLUSTER_MODULES order; everything else keeps its order."""
    rank = {name: i for i, name in enumerate(CLUSTER_MODULES)}
    items.sort(key=lambda item: rank.get(item.module.__name__, -1) if item.module else -1)


_cluster_programs_built = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first cluster test: its programs are built (or their build, started by
    .ci/run at the beginning, is waited for); see k8s_cluster.build_cluster_programs."""
    global _cluster_programs_built
    if not _cluster_programs_built and item.module and item.module.__name__ in CLUSTER_MODULES:
        _cluster_programs_built = True
        build_cluster_programs()


@pytest.fixture(scope="session")
def lfw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's LFW face / non-face folders: ``train/<class>/`` and ``holdout/<class>/``."""
    out = tmp_path_factory.mktemp("lfw")
    write_lfw_folders(out)
    return out


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, predictor_binary) -> tuple[Path, str]:
    """``make demo`` as a user runs it (``python -m pipelines.demo``), with fewer epochs and
    ``--exit``: its workdir (data/, models/lfw-faces/) and what it printed."""
    import subprocess
    import sys

    workdir = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.demo", "--workdir", str(workdir), "--epochs", "3",
         "--exit", "--port", "0"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return workdir, proc.stdout


@pytest.fixture(scope="session")
def predictor_binary() -> Path:
    """The Go predictor built by ``make build`` (``make test`` builds it first)."""
    if not DEFAULT_BINARY.is_file():
        pytest.fail(f"{DEFAULT_BINARY} missing: run `make build` (make test does)")
    return DEFAULT_BINARY


@pytest.fixture(scope="session")
def fixture_model() -> Path:
    """``serving/testdata/model``: version 1, images/, expected.json (``make test-model``)."""
    if not (FIXTURE_MODEL / "expected.json").is_file():
        pytest.fail(f"{FIXTURE_MODEL} missing: run `make test-model` (make test does)")
    return FIXTURE_MODEL


@pytest.fixture(scope="module")
def fixture_predictor(fixture_model, predictor_binary):
    """The built Go predictor serving the fixture model as ``model`` on loopback."""
    with LocalPredictor(fixture_model, FIXTURE_MODEL_NAME, binary=predictor_binary) as p:
        yield p


@pytest.fixture(scope="session")
def fixture_expected(fixture_model) -> dict:
    """Keras's outputs for each of the fixture's images: ``{name: {probabilities, label, ...}}``."""
    return json.loads((fixture_model / "expected.json").read_text())["images"]


def make_class_folders(root: Path, counts: dict[str, int], source: Path) -> Path:
    """Copy ``counts[c]`` real JPEGs per class from ``source/<c>/`` into ``root/<c>/``."""
    for label, n in counts.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for image in sorted((source / label).iterdir())[:n]:
            (root / label / image.name).write_bytes(image.read_bytes())
    return root


TINY_TRAINING = dict(
    model_name="faces",
    backbone="small_cnn",
    weights="none",
    epochs=3,
    batch_size=8,
    image_size=32,
    min_accuracy=0.0,
)
"""Pipeline arguments for the tiny pipeline runs: seconds of training, a model named faces."""


@pytest.fixture(scope="session")
def tiny_data(lfw_dir, tmp_path_factory) -> Path:
    """12 real LFW images per class, ``face/`` and ``nonface/``: a pipeline's whole dataset."""
    root = tmp_path_factory.mktemp("tiny")
    return make_class_folders(root / "data", {"face": 12, "nonface": 12}, lfw_dir / "train")


def assert_serves_as_trained(predictor, pipeline_root: Path, holdout: Path) -> None:
    """``predictor`` answers every 4th held-out image as the run's trained Keras model does
    (the train step's artifact under ``pipeline_root``): probabilities within 1e-5, labels."""
    import numpy as np

    from components.imaging import decode_batch
    from components.train.train import load_trained

    (trained,) = pipeline_root.glob("*/train-op/model")
    model, classes, params = load_trained(trained)
    encoded = [f.read_bytes() for f in sorted(holdout.glob("*/*.jpg"))[::4]]
    expected = model.predict(decode_batch(np.array(encoded, dtype=object), params.image_size))
    predictions = predictor.predict(encoded)
    served = np.array([p["probabilities"] for p in predictions])
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)
    assert [p["label"] for p in predictions] == [classes[i] for i in expected.argmax(axis=1)]


@pytest.fixture(scope="session")
def gcs():
    """A real GCS emulator (fake-gcs-server) on loopback for the whole session."""
    from gcs_emulator import GCSEmulator

    emulator = GCSEmulator()
    yield emulator
    emulator.close()


@pytest.fixture(scope="session")
def s3():
    """A real S3-compatible server (moto in server mode) on loopback for the whole session."""
    from s3_emulator import S3Emulator

    emulator = S3Emulator()
    yield emulator
    emulator.close()


@pytest.fixture
def remote_gs(gcs):
    from object_stores import GCSBuckets

    return GCSBuckets(gcs)


@pytest.fixture
def remote_s3(s3):
    from object_stores import S3Buckets

    return S3Buckets(s3)


@pytest.fixture(params=["gs", "s3"])
def remote(request):
    """Each object-store server in turn, behind one face (see :mod:`object_stores`)."""
    return request.getfixturevalue(f"remote_{request.param}")


@pytest.fixture(params=["local", "gs", "s3"])
def store_root(request, tmp_path) -> str:
    """A fresh, empty root on each store in turn: a local directory, then a new bucket
    on the GCS emulator, then one on the S3 server (``<scheme>://<bucket>/root``)."""
    if request.param == "local":
        return str(tmp_path / "root")
    bucket = request.getfixturevalue(f"remote_{request.param}").new_bucket("root")
    return f"{request.param}://{bucket}/root"


@pytest.fixture(scope="session")
def split_dir(lfw_dir, tmp_path_factory) -> Path:
    """A prepared split of 15 real LFW images per class (9 train, 3 val, 3 test)."""
    from components.prepare.dataset import prepare_dataset

    tmp = tmp_path_factory.mktemp("split")
    data = make_class_folders(tmp / "data", {"face": 15, "nonface": 15}, lfw_dir / "train")
    prepare_dataset(str(data), tmp / "split", val_fraction=0.2, test_fraction=0.2)
    return tmp / "split"


@pytest.fixture(scope="session")
def trained_dir(split_dir, tmp_path_factory) -> Path:
    """A small CNN trained for a few epochs on ``split_dir``."""
    from components.train.train import TrainParams, train_classifier

    out = tmp_path_factory.mktemp("trained")
    train_classifier(
        split_dir,
        out,
        TrainParams(backbone="small_cnn", weights="none", image_size=32, batch_size=8, epochs=4),
    )
    return out


@pytest.fixture
def export_dir(tmp_path) -> Path:
    """A small SavedModel-shaped directory (4 files) for publish tests."""
    src = tmp_path / "export"
    (src / "variables").mkdir(parents=True)
    (src / "assets").mkdir()
    (src / "saved_model.pb").write_bytes(b"graph" * 100)
    (src / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights" * 1000)
    (src / "variables" / "variables.index").write_bytes(b"index")
    (src / "assets" / "labels.txt").write_text("a\nb\n")
    return src
