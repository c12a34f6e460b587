"""The prepare step on real LFW images: validation, the invalid-file policy, the split."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_class_folders

from components.errors import DataError
from components.prepare.dataset import prepare_dataset, read_split

NOT_IMAGE = "not a JPEG, PNG, GIF or BMP image"


def test_split_is_stratified_disjoint_seeded_and_a_snapshot(lfw_dir, tmp_path):
    summary = prepare_dataset(str(lfw_dir / "train"), tmp_path / "a", seed=1)
    assert summary.classes == ["face", "nonface"]
    assert summary.counts["test"] == {"face": 8, "nonface": 8}
    assert summary.counts["train"] == {"face": 64, "nonface": 64}
    assert summary.image_sizes == {"25x25": 160}
    splits = {s: set(read_split(tmp_path / "a", s)[0]) for s in ("train", "val", "test")}
    assert sum(map(len, splits.values())) == 160
    assert not (splits["train"] & splits["test"]) and not (splits["val"] & splits["test"])
    for path in splits["test"]:  # the split points at copies inside the artifact
        assert Path(path).is_relative_to(tmp_path / "a")
        original = lfw_dir / "train" / Path(path).parent.name / Path(path).name
        assert Path(path).read_bytes() == original.read_bytes()

    again = prepare_dataset(str(lfw_dir / "train"), tmp_path / "b", seed=1)
    other = prepare_dataset(str(lfw_dir / "train"), tmp_path / "c", seed=2)
    names = lambda d: [Path(p).name for p in read_split(d, "test")[0]]  # noqa: E731
    assert names(tmp_path / "b") == names(tmp_path / "a")
    assert names(tmp_path / "c") != names(tmp_path / "a")
    assert again.fingerprint == summary.fingerprint == other.fingerprint


def test_fingerprint_changes_with_content(lfw_dir, tmp_path):
    data = make_class_folders(tmp_path / "d", {"face": 5, "nonface": 5}, lfw_dir / "train")
    before = prepare_dataset(str(data), tmp_path / "o1").fingerprint
    replacement = sorted((lfw_dir / "holdout" / "face").iterdir())[0]
    sorted((data / "face").iterdir())[0].write_bytes(replacement.read_bytes())
    assert prepare_dataset(str(data), tmp_path / "o2").fingerprint != before


def _dataset_with(tmp_path: Path, lfw_dir: Path, bad: str) -> tuple[Path, str]:
    data = make_class_folders(tmp_path / "data", {"face": 5, "nonface": 5}, lfw_dir / "train")
    face = sorted((data / "face").iterdir())
    if bad == "missing":
        return tmp_path / "nowhere", f"data directory not found: {tmp_path / 'nowhere'}"
    if bad == "empty class":
        (data / "empty").mkdir()
        return data, f"class folder is empty: {data / 'empty'}"
    if bad == "text file":
        (data / "face" / "notes.jpg").write_text("not an image")
        return data, f"{data / 'face' / 'notes.jpg'}: {NOT_IMAGE}"
    if bad == "zero bytes":
        face[0].write_bytes(b"")
        return data, f"{face[0]}: empty file"
    if bad == "truncated":
        face[0].write_bytes(face[0].read_bytes()[:200])
        return data, f"{face[0]}: corrupt JPEG"
    if bad == "one class":
        for image in (data / "nonface").iterdir():
            image.unlink()
        (data / "nonface").rmdir()
        return data, "need at least two classes, found 1"
    raise AssertionError(bad)


BAD = ["missing", "empty class", "text file", "zero bytes", "truncated", "one class"]


@pytest.mark.parametrize("bad", BAD)
def test_bad_datasets_fail_with_a_message_naming_the_path(lfw_dir, tmp_path, bad):
    data, message = _dataset_with(tmp_path, lfw_dir, bad)
    with pytest.raises(DataError) as err:
        prepare_dataset(str(data), tmp_path / "out")
    assert message in str(err.value)


@pytest.mark.parametrize("bad", BAD)
def test_cli_prints_one_line_and_exits_non_zero(lfw_dir, tmp_path, bad):
    data, message = _dataset_with(tmp_path, lfw_dir, bad)
    proc = subprocess.run(
        [sys.executable, "-m", "components.prepare", "--data-uri", str(data),
         "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line


def test_skip_policy_leaves_invalid_files_out_and_reports_them(lfw_dir, tmp_path):
    data = make_class_folders(tmp_path / "data", {"face": 6, "nonface": 6}, lfw_dir / "train")
    (data / "face" / "empty.png").write_bytes(b"")
    (data / "face" / "readme.txt").write_text("hello")
    truncated = sorted((data / "nonface").iterdir())[0]
    truncated.write_bytes(truncated.read_bytes()[:100])
    summary = prepare_dataset(str(data), tmp_path / "out", invalid_files="skip")
    reasons = {Path(i["uri"]).name: i["reason"] for i in summary.invalid}
    assert reasons["empty.png"] == "empty file"
    assert reasons["readme.txt"] == NOT_IMAGE
    assert reasons[truncated.name].startswith("corrupt JPEG")
    assert sum(summary.counts[s]["face"] for s in summary.counts) == 6
    assert sum(summary.counts[s]["nonface"] for s in summary.counts) == 5
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert len(stats["invalid"]) == 3


def test_too_few_images_in_a_class_is_an_error(lfw_dir, tmp_path):
    data = make_class_folders(tmp_path / "data", {"face": 6, "nonface": 3}, lfw_dir / "train")
    with pytest.raises(DataError, match="class 'nonface' has 3 valid images; need at least 4"):
        prepare_dataset(str(data), tmp_path / "out", min_images_per_class=4)


def test_csv_manifest_with_relative_paths(lfw_dir, tmp_path):
    data = make_class_folders(tmp_path / "data", {"face": 5, "nonface": 5}, lfw_dir / "train")
    rows = ["path,label"] + [
        f"{p.parent.name}/{p.name},{'person' if p.parent.name == 'face' else 'other'}"
        for p in sorted(data.glob("*/*.jpg"))
    ]
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    summary = prepare_dataset(str(data / "labels.csv"), tmp_path / "out")
    assert summary.classes == ["other", "person"]
    assert sum(summary.counts[s]["person"] for s in summary.counts) == 5


def test_object_store_dataset_matches_the_same_files_on_disk(remote, lfw_dir, tmp_path):
    bucket = remote.new_bucket("data")
    local = make_class_folders(tmp_path / "data", {"face": 5, "nonface": 5}, lfw_dir / "train")
    for image in local.glob("*/*.jpg"):
        remote.upload(bucket, f"faces/{image.parent.name}/{image.name}", image)
    from_store = prepare_dataset(f"{remote.scheme}://{bucket}/faces", tmp_path / "r")
    from_disk = prepare_dataset(str(local), tmp_path / "l")
    assert from_store.fingerprint == from_disk.fingerprint
    assert from_store.counts == from_disk.counts
    missing = f"{remote.scheme}://{bucket}/nothing"
    with pytest.raises(DataError, match=f"data directory not found: {missing}"):
        prepare_dataset(missing, tmp_path / "n")
