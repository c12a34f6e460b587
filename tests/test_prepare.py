"""The prepare step on real LFW images: validation errors and the seeded stratified split."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_class_folders

from components.errors import DataError
from components.prepare.dataset import prepare_dataset, read_split


def test_split_is_stratified_disjoint_and_seeded(lfw_dir, tmp_path):
    summary = prepare_dataset(str(lfw_dir / "train"), tmp_path / "a", seed=1)
    assert summary.classes == ["face", "nonface"]
    assert summary.counts["test"] == {"face": 8, "nonface": 8}
    assert summary.counts["train"] == {"face": 64, "nonface": 64}
    splits = {s: set(read_split(tmp_path / "a", s)[0]) for s in ("train", "val", "test")}
    assert sum(map(len, splits.values())) == 160
    assert not (splits["train"] & splits["test"]) and not (splits["val"] & splits["test"])

    again = prepare_dataset(str(lfw_dir / "train"), tmp_path / "b", seed=1)
    other = prepare_dataset(str(lfw_dir / "train"), tmp_path / "c", seed=2)
    assert read_split(tmp_path / "b", "test") == read_split(tmp_path / "a", "test")
    assert read_split(tmp_path / "c", "test") != read_split(tmp_path / "a", "test")
    assert again.fingerprint == summary.fingerprint == other.fingerprint


def test_fingerprint_changes_with_content(lfw_dir, tmp_path):
    data = make_class_folders(tmp_path / "d", {"face": 5, "nonface": 5}, lfw_dir / "train")
    before = prepare_dataset(str(data), tmp_path / "o1").fingerprint
    replacement = sorted((lfw_dir / "holdout" / "face").iterdir())[0]
    sorted((data / "face").iterdir())[0].write_bytes(replacement.read_bytes())
    assert prepare_dataset(str(data), tmp_path / "o2").fingerprint != before


def _dataset_with(tmp_path: Path, lfw_dir: Path, bad: str) -> tuple[Path, str]:
    data = make_class_folders(tmp_path / "data", {"face": 5, "nonface": 5}, lfw_dir / "train")
    if bad == "missing":
        return tmp_path / "nowhere", "data directory not found: " + str(tmp_path / "nowhere")
    if bad == "empty class":
        (data / "empty").mkdir()
        return data, f"class folder is empty: {data / 'empty'}"
    if bad == "text file":
        (data / "face" / "notes.jpg").write_text("not an image")
        return data, f"not a JPEG, PNG, GIF or BMP image: {data / 'face' / 'notes.jpg'}"
    if bad == "truncated":
        image = next((data / "face").iterdir())
        image.write_bytes(image.read_bytes()[:200])
        return data, f"cannot decode image {image}"
    if bad == "one class":
        for image in (data / "nonface").iterdir():
            image.unlink()
        (data / "nonface").rmdir()
        return data, "need at least two class folders, found 1"
    raise AssertionError(bad)


@pytest.mark.parametrize("bad", ["missing", "empty class", "text file", "truncated", "one class"])
def test_bad_datasets_fail_with_a_message_naming_the_path(lfw_dir, tmp_path, bad):
    data, message = _dataset_with(tmp_path, lfw_dir, bad)
    with pytest.raises(DataError) as err:
        prepare_dataset(str(data), tmp_path / "out")
    assert message in str(err.value)


@pytest.mark.parametrize("bad", ["missing", "empty class", "text file"])
def test_cli_prints_one_line_and_exits_non_zero(lfw_dir, tmp_path, bad):
    data, message = _dataset_with(tmp_path, lfw_dir, bad)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "components.prepare",
            "--data-uri",
            str(data),
            "--out-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {message}"]
