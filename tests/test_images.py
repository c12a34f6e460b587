"""The images `make images` builds, and the local bases it assembles from Debian packages:
what is in them, who they run as, that a rebuild with nothing changed reuses every layer,
and the one-line errors when no engine can run or the package mirror is unreachable."""

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from images import BASES, image_files, require_image

from pipelines import container_engine

ROOT = Path(__file__).resolve().parent.parent
SHELLS = ("bin/sh", "bin/bash", "bin/dash", "usr/bin/sh", "usr/bin/bash", "usr/bin/dash")


def _inspect(image: str, field: str) -> str:
    return container_engine.cli("image", "inspect", "--format", field, image).stdout.strip()


def _run(image: str, *command: str) -> subprocess.CompletedProcess[str]:
    return container_engine.cli(
        "run", "--rm", "--pull=never", "--network=none", image, *command, check=False
    )


@pytest.fixture(scope="module")
def distroless_files(tmp_path_factory) -> dict[str, str]:
    """Path (no leading /) -> "file" / "dir" / "link" for every entry of the distroless base."""
    image = require_image(BASES["distroless"])
    with image_files(image, tmp_path_factory.mktemp("distroless")) as tar:
        return {
            m.name.removeprefix("./"): "dir" if m.isdir() else "link" if m.issym() else "file"
            for m in tar.getmembers()
        }


def test_distroless_base_has_the_runtime_libraries_and_nothing_to_run(distroless_files):
    for library in (
        "libc.so.6",
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "libssl.so.3",
        "libcrypto.so.3",
    ):
        assert any(p.endswith(f"/{library}") for p in distroless_files), library
    for data in ("etc/ssl/certs/ca-certificates.crt", "usr/share/zoneinfo/UTC", "etc/services"):
        assert data in distroless_files, data
    assert not [p for p in SHELLS if p in distroless_files]
    programs = [
        p
        for p, kind in distroless_files.items()
        if kind == "file" and re.match(r"(usr/)?s?bin/", p)
    ]
    assert programs == []
    assert not any(
        p.startswith(("usr/bin/perl", "usr/bin/apt", "usr/bin/dpkg")) for p in distroless_files
    )


def test_distroless_base_has_the_nonroot_user(tmp_path):
    image = require_image(BASES["distroless"])
    with image_files(image, tmp_path) as tar:
        member = tar.extractfile("etc/passwd") or tar.extractfile("./etc/passwd")
        assert member is not None
        passwd = member.read().decode()
    assert "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" in passwd.splitlines()
    assert _inspect(image, "{{.Config.User}}") == "65532:65532"


def test_python_base_has_cpython_311_and_venv(tmp_path):
    image = require_image(BASES["python"])
    script = "import sys, venv, ensurepip; print(sys.version_info[:2])"
    proc = _run(image, "python3", "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(3, 11)"


def test_golang_base_has_the_pinned_go_and_a_c_compiler():
    image = require_image(BASES["golang"])
    proc = _run(image, "sh", "-c", "go version && gcc --version | sed -n 1p")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("go version go1.26.8 linux/amd64"), proc.stdout


def test_predictor_image_runs_the_binary_as_nonroot_with_no_shell(predictor_image):
    assert _inspect(predictor_image, "{{.Config.User}}") == "65532:65532"
    entrypoint = json.loads(_inspect(predictor_image, "{{json .Config.Entrypoint}}"))
    assert entrypoint == ["/opt/predictor/bin/predictor"]
    for shell in ("/bin/sh", "/bin/bash"):
        proc = container_engine.cli(
            "run", "--rm", "--pull=never", f"--entrypoint={shell}", predictor_image, "-c", "true",
            check=False,
        )  # fmt: skip
        assert proc.returncode != 0
        assert "no such file" in (proc.stderr + proc.stdout).lower(), proc.stderr


def test_predictor_image_links_the_locked_tensorflow(predictor_image):
    # What the build stage compiled runs: the binary loads its two libraries from the image.
    proc = _run(predictor_image, "--version")
    assert proc.returncode == 0, proc.stderr
    locked = re.search(r"^tensorflow[-_]cpu==(\S+)", (ROOT / "requirements.lock").read_text(), re.M)
    assert locked and f"(TensorFlow {locked.group(1)})" in proc.stdout, proc.stdout


def test_trainer_image_runs_the_installed_package_with_its_own_python(trainer_image):
    script = (
        "import sys, os, components, kfp, tensorflow as tf; "
        "print(sys.executable, components.__file__, kfp.__version__, tf.__version__, "
        "os.getuid(), os.getgid(), os.path.exists('/src'))"
    )
    proc = _run(trainer_image, "python3", "-c", script)
    assert proc.returncode == 0, proc.stderr
    executable, module, kfp_version, tf_version, uid, gid, src = proc.stdout.split()
    lock = (ROOT / "requirements.lock").read_text()
    assert executable == "/opt/venv/bin/python3"
    assert module == "/opt/venv/lib/python3.11/site-packages/components/__init__.py"
    assert f"kfp=={kfp_version}" in lock.splitlines()
    assert re.search(rf"^tensorflow[-_]cpu=={re.escape(tf_version)}$", lock, re.M)
    assert (uid, gid, src) == ("65532", "65532", "False")


def test_trainer_image_carries_no_dev_tools(trainer_image):
    # The image installs requirements.txt (the components' needs), not requirements-dev.txt.
    proc = _run(trainer_image, "python3", "-m", "pip", "list", "--format=freeze")
    assert proc.returncode == 0, proc.stderr
    installed = {line.split("==")[0].lower().replace("_", "-") for line in proc.stdout.split()}
    assert {"kfp", "tensorflow-cpu", "google-cloud-storage", "kubernetes"} <= installed
    assert not {"pytest", "ruff", "mypy", "flask", "scikit-image", "docker"} & installed


def test_a_second_build_with_nothing_changed_reuses_every_layer(predictor_image, trainer_image):
    before = {image: _inspect(image, "{{.Id}}") for image in (predictor_image, trainer_image)}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "images" / "build.sh")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    after = {image: _inspect(image, "{{.Id}}") for image in before}
    assert after == before
    runs = [line for line in proc.stdout.splitlines() if re.search(r"STEP \d+/\d+: RUN", line)]
    assert runs and proc.stdout.count("Using cache") >= len(runs), proc.stdout[-3000:]
    assert "up to date" in proc.stderr  # the bases were kept, not assembled again


def test_gpu_trainer_requirements_resolve_to_cuda_tensorflow_at_the_locked_version():
    # `make images` resolves them (scripts/images/resolve_gpu_trainer.sh); the variant
    # itself is not built (README "Container images").
    report_path = ROOT / "build" / "images" / "trainer-gpu-resolved.json"
    if not report_path.is_file():
        pytest.fail(f"{report_path} missing: run `make images`")
    resolved = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report_path.read_text())["install"]
    }
    lock = (ROOT / "requirements.lock").read_text()
    locked_tf = re.search(r"^tensorflow[-_]cpu==(\S+)", lock, re.M)
    assert locked_tf and resolved["tensorflow"] == locked_tf.group(1)
    assert "tensorflow-cpu" not in resolved
    assert {"nvidia-cudnn-cu12", "nvidia-cublas-cu12", "kfp", "kubernetes"} <= set(resolved)
    assert resolved["kfp"] == re.search(r"^kfp==(\S+)", lock, re.M).group(1)


def _path_without(*commands: str, tmp: Path) -> str:
    """A PATH holding only the tools the image scripts need before they choose an engine."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "cat", "sed", "go", *commands):
        found = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True)
        if found.returncode == 0:
            (bin_dir / tool).symlink_to(found.stdout.strip())
    return str(bin_dir)


def test_make_images_without_an_engine_says_what_to_install(tmp_path):
    env = {**os.environ, "PATH": _path_without(tmp=tmp_path)}
    env.pop("IMAGE_ENGINE", None)
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "images" / "build.sh")],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no container engine" in lines[0]
    assert "apt-get install podman" in lines[0] and "Docker" in lines[0]


def test_an_unreachable_package_mirror_fails_with_apts_error():
    require_image(BASES["python"])  # an engine runs: the failure must be the mirror's
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = _inspect(BASES["python"], "{{.Id}}")
    env = {**os.environ, "DEBIAN_MIRROR": f"http://127.0.0.1:{port}/debian"}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "images" / "build_bases.sh"), "python"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert f"127.0.0.1:{port}" in proc.stderr and "apt-get update" in proc.stderr, proc.stderr
    assert _inspect(BASES["python"], "{{.Id}}") == before  # the working base is untouched
