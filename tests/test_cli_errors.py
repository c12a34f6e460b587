"""The evaluate, export, deploy and monitor CLIs on bad input: a wrong flag or a missing input gets
one line naming it and exit code 2, and nothing is published or rolled out."""

import subprocess
import sys

import pytest

from components.storage import list_versions


def _cli(step: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"components.{step}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


REQUIRED = {
    "evaluate": ["--model-dir", "m", "--split-dir", "s", "--out-dir", "o"],
    "export": [
        "--model-dir",
        "m",
        "--split-dir",
        "s",
        "--model-base-uri",
        "b",
        "--model-name",
        "n",
    ],
    "deploy": ["--model-base-uri", "b", "--model-name", "n", "--version", "1"],
    "monitor": ["--log-uri", "l", "--model-base-uri", "b", "--model-name", "n", "--out-dir", "o"],
}


@pytest.mark.parametrize("step", sorted(REQUIRED))
def test_an_unknown_flag_is_named(step):
    proc = _cli(step, *REQUIRED[step], "--bogus-flag", "1")
    assert proc.returncode == 2
    assert "unrecognized arguments: --bogus-flag" in proc.stderr


@pytest.mark.parametrize("step", ["evaluate", "export"])
def test_a_missing_model_directory_is_named(step, split_dir, tmp_path):
    missing = tmp_path / "no-model"
    args = ["--model-dir", str(missing), "--split-dir", str(split_dir)]
    args += ["--out-dir", str(tmp_path / "out")] if step == "evaluate" else []
    if step == "export":
        args += ["--model-base-uri", str(tmp_path / "models"), "--model-name", "faces"]
    proc = _cli(step, *args)
    assert proc.returncode == 2, proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert f"{missing}/model.keras not found" in line and "train step's output" in line
    assert list_versions(str(tmp_path / "models"), "faces") == []


def test_export_names_a_missing_split(trained_dir, tmp_path):
    missing = tmp_path / "no-split"
    proc = _cli(
        "export", "--model-dir", str(trained_dir), "--split-dir", str(missing),
        "--model-base-uri", str(tmp_path / "models"), "--model-name", "faces",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"error: {missing}/stats.json not found" in proc.stderr
    assert list_versions(str(tmp_path / "models"), "faces") == []


def test_deploy_names_an_unpublished_version_before_touching_a_cluster(tmp_path):
    # No kubeconfig is needed to fail: the version is checked first, so nothing is rolled out.
    proc = _cli(
        "deploy", "--model-base-uri", str(tmp_path), "--model-name", "faces", "--version", "7"
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: reading {tmp_path}/faces/7/metadata.json: No such file or directory"
    )


def _monitor(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = {"--log-uri": str(tmp_path / "logs"), "--model-base-uri": str(tmp_path / "models"),
             "--model-name": "faces", "--out-dir": str(tmp_path / "out")}  # fmt: skip
    flags.update(zip(args[::2], args[1::2], strict=True))
    return _cli("monitor", *(item for pair in flags.items() for item in pair))


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--log-uri", "ftp://logs/faces"),
         "error: ftp://logs/faces: ftp:// is not supported; use gs://, s3:// or a local path"),
        (("--model-base-uri", "hdfs://models"),
         "error: hdfs://models: hdfs:// is not supported; use gs://, s3:// or a local path"),
        ((), "error: no version of faces is published in {tmp}/models"),
        (("--since", "2026-13-01"), "argument --since: '2026-13-01' is not a date (YYYY-MM-DD)"),
        (("--days", "0"), "argument --days: '0' is not a positive integer"),
        (("--since", "2026-12-08", "--until", "2026-12-01"),
         "error: the window starts (2026-12-08) after it ends (2026-12-01)"),
    ],
    ids=["log uri", "model base uri", "nothing published", "date", "days", "reversed window"],
)  # fmt: skip
def test_monitor_names_what_is_wrong_in_one_line(tmp_path, flags, says):
    proc = _monitor(tmp_path, *flags)
    assert proc.returncode == 2, proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert line.endswith(says.format(tmp=tmp_path)), line
    assert not (tmp_path / "out").exists()
