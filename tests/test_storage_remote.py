"""Publishing and reading on gs:// and s3://: each test runs against both real servers
(fake-gcs-server and moto on loopback), through the ``remote`` fixture."""

import json
import subprocess
import sys
import threading

import pytest
from object_stores import FAILURES, version_keys

from components.errors import StorageError
from components.storage import COMPLETE_MARKER, list_versions, open_store, publish_version

FILES = (
    "saved_model.pb",
    "variables/variables.index",
    "variables/variables.data-00000-of-00001",
    "assets/labels.txt",
)


def test_publish_writes_every_file_then_the_marker(remote, export_dir):
    bucket = remote.new_bucket("models")
    base = f"{remote.scheme}://{bucket}/team/models"
    first = publish_version(export_dir, base, "faces")
    second = publish_version(export_dir, base, "faces")
    assert (first.version, second.version) == (1, 2)
    assert first.uri == f"{base}/faces/1"
    assert remote.keys(bucket) == version_keys("team/models/faces/1", FILES) | version_keys(
        "team/models/faces/2", FILES
    )
    marker = json.loads(remote.read(bucket, f"team/models/faces/1/{COMPLETE_MARKER}"))
    assert marker["files"]["saved_model.pb"] == 500
    assert marker["files"]["assets/labels.txt"] == len(b"a\nb\n")
    assert list_versions(base, "faces") == [1, 2]


def test_racing_publishers_get_distinct_versions(remote, export_dir):
    base = f"{remote.scheme}://{remote.new_bucket('models')}"
    start = threading.Barrier(5)
    got = []

    def publisher() -> None:
        store = open_store(base)
        start.wait()
        got.append(store.publish(export_dir, "m").version)

    threads = [threading.Thread(target=publisher) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [1, 2, 3, 4, 5]
    assert list_versions(base, "m") == [1, 2, 3, 4, 5]


def test_a_version_is_invisible_until_its_marker_is_written(remote, export_dir, monkeypatch):
    base = f"{remote.scheme}://{remote.new_bucket('models')}/m"
    store = open_store(base)
    seen = []
    create = store._create

    def create_watching_the_marker(name, content):
        if name.endswith(COMPLETE_MARKER):  # every model file is uploaded by now
            seen.append((list_versions(base, "faces"), open_store(base).list_files("faces/1/")))
        return create(name, content)

    monkeypatch.setattr(store, "_create", create_watching_the_marker)
    store.publish(export_dir, "faces")
    [(versions, files)] = seen
    assert versions == []
    assert set(files) >= {f"faces/1/{n}" for n in FILES}
    assert list_versions(base, "faces") == [1]


@pytest.mark.parametrize("failure", FAILURES)
def test_interrupted_publish_leaves_nothing_and_a_retry_succeeds(
    remote, export_dir, monkeypatch, failure
):
    # IAM denials and full disks cannot be produced by the servers, so the failure is
    # raised from the real client's write of the second model file.
    bucket = remote.new_bucket("models")
    base = f"{remote.scheme}://{bucket}/models"
    with monkeypatch.context() as patched:
        remote.fail_second_file(patched, failure)
        with pytest.raises(StorageError, match=rf"publishing .* to {base}/m: "):
            publish_version(export_dir, base, "m")
    assert list_versions(base, "m") == []
    assert remote.keys(bucket) == set()
    assert publish_version(export_dir, base, "m").version == 1


def test_missing_bucket_is_a_clear_error(remote, export_dir):
    base = f"{remote.scheme}://no-such-bucket/models"
    missing = f"bucket {remote.scheme}://no-such-bucket does not exist"
    # Both stores word it alike: the operation, its location, then the missing bucket.
    with pytest.raises(StorageError) as publishing:
        publish_version(export_dir, base, "m")
    assert str(publishing.value) == f"publishing {export_dir} to {base}/m: {missing}"
    with pytest.raises(StorageError) as listing:
        list_versions(base, "m")
    assert str(listing.value) == f"listing {base}/m/: {missing}"
    with pytest.raises(StorageError, match=rf"{remote.scheme}://: no bucket name"):
        open_store(f"{remote.scheme}://")


def test_cli_and_predictor_name_a_missing_bucket(remote, predictor_binary, tmp_path):
    missing = f"bucket {remote.scheme}://no-such-bucket does not exist"
    prepare = subprocess.run(
        [sys.executable, "-m", "components.prepare", "--data-uri",
         f"{remote.scheme}://no-such-bucket/faces", "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert prepare.returncode == 2, prepare.stderr
    assert prepare.stderr.strip().splitlines()[-1] == (
        f"error: listing {remote.scheme}://no-such-bucket/faces: {missing}"
    )
    base = f"{remote.scheme}://no-such-bucket/models/m"
    served = subprocess.run([str(predictor_binary), "--model-base-path", base],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert served.returncode == 1, served.stdout + served.stderr
    last = json.loads(served.stderr.strip().splitlines()[-1])
    assert last["err"] == f'model "m": {base}: {missing}'


def test_store_lists_reads_and_downloads(remote, export_dir, tmp_path):
    bucket = remote.new_bucket("models")
    base = f"{remote.scheme}://{bucket}/x"
    publish_version(export_dir, base, "m")
    store = open_store(base)
    assert store.exists() and not open_store(f"{remote.scheme}://{bucket}/y").exists()
    assert "m/1/assets/labels.txt" in store.list_files("m/")
    assert store.read_bytes("m/1/assets/labels.txt") == b"a\nb\n"
    out = store.download("m/1", tmp_path / "copy")
    assert (out / "variables" / "variables.index").read_bytes() == b"index"
    with pytest.raises(StorageError, match=rf"reading {base}/m/9/a: not found"):
        store.read_bytes("m/9/a")
    store.delete(["m/1/assets/labels.txt", "m/1/never-there"])
    assert "m/1/assets/labels.txt" not in store.list_files("m/")
