"""The predictor image, run as the k8s base runs it (pipelines/predictor_container.py):
non-root, read-only root filesystem, no capabilities, 1 CPU, the model mounted read-only,
its port published on loopback. The standard clients talk to it from the host."""

import base64
import json
import time
from pathlib import Path

import pytest
from standard_clients import check_predictions, run_client

from pipelines.predictor_container import ContainerPredictor

# A static busybox from the host (Debian's busybox-static), mounted read-only into the
# container as a probe: the image itself has no shell or tools to look inside with.
BUSYBOX = Path("/bin/busybox")
PROBE = "/probe/busybox"


@pytest.fixture(scope="module")
def served(predictor_image, fixture_model):
    if not BUSYBOX.is_file():
        pytest.fail(f"{BUSYBOX} missing: apt-get install busybox-static (.ci/run does)")
    predictor = ContainerPredictor(
        fixture_model, "model", image=predictor_image,
        run_args=(f"--volume={BUSYBOX}:{PROBE}:ro",),
    )  # fmt: skip
    with predictor:
        yield predictor


def _images(fixture_model: Path, names: list[str]) -> list[Path]:
    return [fixture_model / "images" / n for n in names]


@pytest.mark.parametrize("mode", ["binary", "json"])
def test_tritonclient_through_the_published_port_equals_keras(
    served, fixture_model, fixture_expected, mode
):
    names = sorted(fixture_expected)
    got = run_client(served, "triton_infer.py", mode, _images(fixture_model, names))
    assert (got["live"], got["ready"], got["model_ready"]) == (True, True, True)
    assert got["model_version"] == "1"
    check_predictions(got, fixture_expected, names)


def test_tf_serving_rest_through_the_published_port_equals_keras(
    served, fixture_model, fixture_expected
):
    names = sorted(fixture_expected)
    predictions = served.predict([p.read_bytes() for p in _images(fixture_model, names)])
    got = {
        "labels": [p["label"] for p in predictions],
        "probabilities": [p["probabilities"] for p in predictions],
    }
    check_predictions(got, fixture_expected, names)
    status, body = served.request("GET", "/v1/models/model")
    assert status == 200
    assert body["model_version_status"][0]["state"] == "AVAILABLE"


def _log_records(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_the_cgroup_cpu_limit_is_read_inside_the_container(served):
    threads = [r for r in _log_records(served.full_log()) if r.get("msg") == "threads"]
    assert threads, served.full_log()
    assert threads[0]["cpu_limit"] == 1 and threads[0]["cpu_limited"] is True
    assert threads[0]["intra_op_threads"] == 1


def test_a_fractional_cpu_limit_is_read_inside_the_container(predictor_image, fixture_model):
    # The cgroup reader (serving/internal/cpulimit) in a real container, not a test cgroup.
    with ContainerPredictor(fixture_model, "model", image=predictor_image, cpus="1.5") as p:
        threads = [r for r in _log_records(p.full_log()) if r.get("msg") == "threads"]
    assert threads and threads[0]["cpu_limit"] == 1.5 and threads[0]["cpu_limited"] is True


def test_it_runs_as_65532_and_only_tmp_is_writable(served):
    assert served.exec(PROBE, "id", "-u").stdout.strip() == "65532"
    denied = served.exec(PROBE, "touch", "/opt/predictor/written")
    assert denied.returncode != 0
    assert "Read-only file system" in denied.stderr + denied.stdout
    into_model = served.exec(PROBE, "touch", "/models/model/1/written")
    assert into_model.returncode != 0
    assert "Read-only file system" in into_model.stderr + into_model.stdout
    assert served.exec(PROBE, "touch", "/tmp/written").returncode == 0
    caps = served.exec(PROBE, "grep", "CapEff", "/proc/1/status").stdout.split()
    assert caps[-1] == "0000000000000000"


def test_sigterm_drains_and_exits_0(predictor_image, fixture_model, fixture_expected):
    predictor = ContainerPredictor(fixture_model, "model", image=predictor_image)
    with predictor:
        image = (fixture_model / "images" / "image1.jpg").read_bytes()
        assert predictor.predict([image])[0]["label"] == fixture_expected["image1.jpg"]["label"]
    assert predictor.stop() == 0
    messages = [r.get("msg", "") for r in _log_records(predictor.full_log())]
    assert any("shut" in m or "drain" in m for m in messages), messages


def test_a_missing_model_directory_exits_non_zero_naming_the_path(predictor_image, fixture_model):
    missing = "/models/model/no-such-dir"
    predictor = ContainerPredictor(
        fixture_model, "model", image=predictor_image, extra_args=(f"--model-base-path={missing}",)
    )
    deadline = time.monotonic() + 60
    while predictor.exit_code() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    code = predictor.stop()
    assert code not in (0, None)
    errors = [r for r in _log_records(predictor.full_log()) if r.get("level") == "ERROR"]
    assert errors and missing in json.dumps(errors[-1]), predictor.full_log()


def test_a_bad_request_gets_a_json_4xx_from_the_container(served):
    status, body = served.request(
        "POST", "/v1/models/model:predict",
        json.dumps({"instances": [{"b64": base64.b64encode(b"not an image").decode()}]}).encode(),
    )  # fmt: skip
    assert status == 400 and "image" in body["error"]
