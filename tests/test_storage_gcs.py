"""Publishing to gs:// against a real GCS emulator (fake-gcs-server on loopback)."""

import json
import threading
import uuid

import pytest
from google.api_core import exceptions
from google.cloud import storage

from components.errors import StorageError
from components.storage import COMPLETE_MARKER, list_versions, open_store, publish_version


@pytest.fixture
def bucket(gcs):
    return gcs.create_bucket(f"models-{uuid.uuid4().hex[:8]}")


def test_publish_writes_every_file_then_the_marker(bucket, export_dir):
    base = f"gs://{bucket.name}/team/models"
    first = publish_version(export_dir, base, "faces")
    second = publish_version(export_dir, base, "faces")
    assert (first.version, second.version) == (1, 2)
    assert first.uri == f"{base}/faces/1"
    names = {b.name for b in bucket.list_blobs(prefix="team/models/faces/1/")}
    assert names == {
        f"team/models/faces/1/{n}"
        for n in (
            "saved_model.pb",
            "variables/variables.index",
            "variables/variables.data-00000-of-00001",
            "assets/labels.txt",
            "_CLAIMED",
            COMPLETE_MARKER,
        )
    }
    marker = json.loads(bucket.blob(f"team/models/faces/1/{COMPLETE_MARKER}").download_as_text())
    assert marker["files"]["saved_model.pb"] == 500
    assert list_versions(base, "faces") == [1, 2]


def test_racing_publishers_get_distinct_versions(bucket, export_dir):
    base = f"gs://{bucket.name}"
    got = []
    threads = [
        threading.Thread(target=lambda: got.append(publish_version(export_dir, base, "m").version))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [1, 2, 3, 4]


def test_missing_bucket_is_a_clear_error(gcs, export_dir):
    with pytest.raises(StorageError, match="bucket gs://no-such-bucket does not exist"):
        publish_version(export_dir, "gs://no-such-bucket/models", "m")


@pytest.mark.parametrize(
    "failure",
    [exceptions.Forbidden("storage.objects.create denied"), OSError(28, "No space left on device")],
)
def test_interrupted_publish_leaves_no_visible_version_and_a_retry_succeeds(
    bucket, export_dir, monkeypatch, failure
):
    # A writer that fails on the second file: IAM denial or a full disk cannot be produced
    # by the emulator, so the failure is injected into the real client's upload call.
    real_upload = storage.Blob.upload_from_filename
    calls = []

    def failing_upload(self, *args, **kwargs):
        calls.append(self.name)
        if len(calls) == 2:
            raise failure
        return real_upload(self, *args, **kwargs)

    monkeypatch.setattr(storage.Blob, "upload_from_filename", failing_upload)
    base = f"gs://{bucket.name}/models"
    with pytest.raises(StorageError, match=r"publishing .* to gs://"):
        publish_version(export_dir, base, "m")
    assert list_versions(base, "m") == []
    assert [b.name for b in bucket.list_blobs()] == []
    monkeypatch.setattr(storage.Blob, "upload_from_filename", real_upload)
    assert publish_version(export_dir, base, "m").version == 1


def test_store_lists_and_downloads(bucket, export_dir, tmp_path):
    base = f"gs://{bucket.name}/x"
    publish_version(export_dir, base, "m")
    store = open_store(base)
    assert "m/1/assets/labels.txt" in store.list_files("m/")
    assert store.read_bytes("m/1/assets/labels.txt") == b"a\nb\n"
    out = store.download("m/1", tmp_path / "copy")
    assert (out / "variables" / "variables.index").read_bytes() == b"index"
