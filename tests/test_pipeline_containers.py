"""The real pipeline with every step in the trainer image (kfp.local's DockerRunner through
podman's Docker API, pipelines/local.py), then its published version served by the predictor
image; a step that fails must fail the run."""

import json

import pytest
from conftest import TINY_TRAINING, assert_serves_as_trained, make_class_folders
from kfp import dsl

from components.kfp_image import TRAINER_IMAGE
from components.storage import COMPLETE_MARKER, list_versions
from pipelines.container_engine import docker_api
from pipelines.local import run_in_containers, use_containers
from pipelines.predictor_container import ContainerPredictor


@dsl.component(base_image=TRAINER_IMAGE)
def probe_op() -> str:
    """What a step sees inside its container."""
    import json
    import os
    import sys

    import components

    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[3] + " -> " + line.split()[4] for line in f]
    return json.dumps(
        {
            "python": sys.executable,
            "package": components.__file__,
            "interfaces": sorted(os.listdir("/sys/class/net")),
            "uid": os.getuid(),
            "mounts": mounts,
        }
    )


@pytest.fixture(scope="module")
def engine_api(trainer_image):
    with docker_api():
        yield


def _train(tmp, data, **overrides):
    arguments = {**TINY_TRAINING, **overrides}
    run_in_containers(tmp / "root", data_dir=data, model_base_dir=tmp / "models", **arguments)
    return tmp / "models" / "faces"


def test_a_step_runs_with_the_images_python_and_package_and_no_network(engine_api, tmp_path):
    use_containers(tmp_path / "root", data_dir=tmp_path, model_base_dir=tmp_path / "models")
    seen = json.loads(probe_op().output)
    assert seen["python"] == "/opt/venv/bin/python3"
    assert seen["package"] == "/opt/venv/lib/python3.11/site-packages/components/__init__.py"
    assert seen["interfaces"] == ["lo"]  # network "none": loopback only
    assert seen["uid"] == 65532
    sources = " ".join(seen["mounts"])
    assert ".venv" not in sources and "site-packages" not in sources


@pytest.fixture(scope="module")
def published(engine_api, tiny_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("containers-run")
    return tmp, _train(tmp, tiny_data)


def test_pipeline_in_containers_publishes_a_complete_version(published):
    _, model_dir = published
    assert list_versions(str(model_dir.parent), "faces") == [1]
    version = model_dir / "1"
    for name in ("saved_model.pb", "variables/variables.index", "metadata.json", COMPLETE_MARKER):
        assert (version / name).is_file(), name
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["data_counts"]["train"] == {"face": 10, "nonface": 10}
    assert metadata["evaluation"]["passed"] is True


def test_predictor_image_serves_the_published_version_as_keras_predicts(
    published, lfw_dir, predictor_image
):
    tmp, model_dir = published
    with ContainerPredictor(model_dir, "faces", image=predictor_image) as predictor:
        assert_serves_as_trained(predictor, tmp / "root", lfw_dir / "holdout")


def test_a_failing_step_fails_the_run_and_publishes_nothing(
    engine_api, tiny_data, tmp_path, capsys
):
    # A corrupt JPEG passes the host's layout check; the prepare step, in its container,
    # rejects it and exits non-zero. kfp.local's own DockerRunner may call that a success.
    broken = make_class_folders(tmp_path / "data", {"face": 12, "nonface": 12}, tiny_data)
    (broken / "face" / "zz-corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(RuntimeError, match="finished with status .*FAILURE"):
        _train(tmp_path, broken)
    captured = capsys.readouterr()
    assert "/data/face/zz-corrupt.jpg: corrupt JPEG" in captured.out + captured.err
    assert list_versions(str(tmp_path / "models"), "faces") == []
    assert not list((tmp_path / "root").glob("*/train-op"))
