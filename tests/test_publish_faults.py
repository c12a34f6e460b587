"""A publish interrupted at every step of its sequence leaves no visible version; a retry works.

The writer's failures (a full disk, a lost connection) are injected into the real
file and GCS client calls, one step at a time.
"""

import errno
import os
import shutil
import uuid

import pytest
from google.cloud import storage

from components.errors import StorageError
from components.storage import list_versions, publish_version


class FailAt:
    """Wraps a callable; the ``n``-th call (0-based) raises instead. Counts calls."""

    def __init__(self, real, n: int, error: Exception):
        self.real, self.n, self.error, self.calls = real, n, error, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls - 1 == self.n:
            raise self.error
        return self.real(*args, **kwargs)


LOCAL_STEPS = [("copyfile", i) for i in range(4)] + [("replace", 0), ("rename", 0)]


@pytest.mark.parametrize(("call", "n"), LOCAL_STEPS)
def test_local_publish_interrupted_at_each_step(export_dir, tmp_path, monkeypatch, call, n):
    base = str(tmp_path / "models")
    module = shutil if call == "copyfile" else os
    failing = FailAt(getattr(module, call), n, OSError(errno.ENOSPC, "No space left on device"))
    monkeypatch.setattr(module, call, failing)
    with pytest.raises(StorageError, match="No space left on device"):
        publish_version(export_dir, base, "m")
    assert failing.calls >= n + 1  # the failing step was reached (copytree goes on after errors)
    monkeypatch.undo()
    assert list_versions(base, "m") == []
    assert os.listdir(tmp_path / "models" / "m") == []  # no staging or partial directories
    assert publish_version(export_dir, base, "m").version == 1


class GCSWrites:
    """Counts object writes through the GCS client (uploads of strings and files);
    the ``fail_at``-th write (0-based) raises a lost connection instead."""

    def __init__(self, fail_at: int = -1):
        self.fail_at, self.calls = fail_at, 0

    def install(self, patch: pytest.MonkeyPatch) -> None:
        for name in ("upload_from_string", "upload_from_filename"):
            patch.setattr(storage.Blob, name, self._wrap(getattr(storage.Blob, name)))

    def _wrap(self, real):
        def write(blob, *args, **kwargs):
            self.calls += 1
            if self.calls - 1 == self.fail_at:
                raise ConnectionError("connection reset by peer")
            return real(blob, *args, **kwargs)

        return write


GCS_WRITES = 6  # _CLAIMED, four files, _COMPLETE


def test_gcs_publish_makes_the_expected_writes(gcs, export_dir, monkeypatch):
    bucket = gcs.create_bucket(f"count-{uuid.uuid4().hex[:8]}")
    writes = GCSWrites()
    writes.install(monkeypatch)
    publish_version(export_dir, f"gs://{bucket.name}", "m")
    assert writes.calls == GCS_WRITES


@pytest.mark.parametrize("n", range(GCS_WRITES))
def test_gcs_publish_interrupted_at_each_step(gcs, export_dir, monkeypatch, n):
    bucket = gcs.create_bucket(f"faults-{uuid.uuid4().hex[:8]}")
    base = f"gs://{bucket.name}/models"
    GCSWrites(fail_at=n).install(monkeypatch)
    with pytest.raises(StorageError, match="connection reset"):
        publish_version(export_dir, base, "m")
    monkeypatch.undo()
    assert list_versions(base, "m") == []
    assert list(bucket.list_blobs()) == []  # what it wrote is removed
    assert publish_version(export_dir, base, "m").version == 1
