"""Atomic, versioned publishing to a local object-store directory."""

import errno
import json
import shutil
import threading

import pytest

from components.errors import StorageError
from components.storage import (
    COMPLETE_MARKER,
    list_versions,
    local_path,
    open_store,
    publish_version,
)


def test_publish_numbers_versions_and_writes_the_marker_last(tmp_path, export_dir):
    src = export_dir
    base = tmp_path / "models"
    first = publish_version(src, str(base), "faces")
    second = publish_version(src, f"file://{base}", "faces")
    assert (first.version, second.version) == (1, 2)
    marker = json.loads((base / "faces" / "1" / COMPLETE_MARKER).read_text())
    assert marker["files"] == {
        "saved_model.pb": 500,
        "variables/variables.data-00000-of-00001": 7000,
        "variables/variables.index": 5,
        "assets/labels.txt": 4,
    }
    assert list_versions(str(base), "faces") == [1, 2]
    assert [p.name for p in (base / "faces").iterdir() if p.name.startswith(".")] == []


def test_incomplete_versions_are_not_listed(tmp_path, export_dir):
    base = tmp_path / "models"
    (base / "faces" / "7").mkdir(parents=True)  # a crashed writer's leftovers: no marker
    (base / "faces" / "7" / "saved_model.pb").write_bytes(b"partial")
    assert list_versions(str(base), "faces") == []
    assert publish_version(export_dir, str(base), "faces").version == 8


def test_concurrent_publishers_never_share_a_version(tmp_path, export_dir):
    src = export_dir
    base = str(tmp_path / "models")
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(publish_version(src, base, "m").version))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 9))
    assert list_versions(base, "m") == list(range(1, 9))


@pytest.mark.parametrize(
    ("src_name", "model_name", "message"),
    [("not-a-model", "m", "no saved_model.pb"), ("export", "../escape", "invalid model name")],
)
def test_publish_rejects_bad_input_and_leaves_nothing(
    tmp_path, export_dir, src_name, model_name, message
):
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(StorageError, match=message):
        publish_version(tmp_path / src_name, str(tmp_path / "models"), model_name)
    assert not (tmp_path / "models").exists()


def test_unsupported_schemes_are_named_in_the_error():
    with pytest.raises(StorageError, match=r"az://bucket/models: az:// is not supported"):
        open_store("az://bucket/models")
    with pytest.raises(StorageError, match=r"gs://b/m: gs:// is not a local path"):
        local_path("gs://b/m")


def test_disk_full_during_publish_leaves_nothing_visible(tmp_path, export_dir, monkeypatch):
    src = export_dir
    base = tmp_path / "models"
    publish_version(src, str(base), "m")

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full_disk)  # the writer under copytree
    with pytest.raises(StorageError, match="No space left on device"):
        publish_version(src, str(base), "m")
    assert list_versions(str(base), "m") == [1]
    assert sorted(p.name for p in (base / "m").iterdir()) == ["1"]  # no staging leftovers
    monkeypatch.undo()
    assert publish_version(src, str(base), "m").version == 2
