"""One face over the tests' two object-store servers, so one test body runs on each.

``gs``: fake-gcs-server (:mod:`gcs_emulator`); ``s3``: moto in server mode
(:mod:`s3_emulator`). Each adapter creates buckets, reads and writes objects with
the store's own client (not through the code under test), and knows how to make
the real client's write call fail, for failures the servers cannot produce.
"""

import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from google.api_core import exceptions
from google.cloud import storage

from components.storage import COMPLETE_MARKER

FAILURES = ("denied", "disk full")
"""Write failures a test can inject: an IAM denial and a full local disk."""


class GCSBuckets:
    scheme = "gs"

    def __init__(self, emulator) -> None:
        self.emulator = emulator

    def new_bucket(self, prefix: str) -> str:
        return self.emulator.create_bucket(f"{prefix}-{uuid.uuid4().hex[:8]}").name

    def keys(self, bucket: str) -> set[str]:
        return {b.name for b in self.emulator.client.bucket(bucket).list_blobs()}

    def upload(self, bucket: str, key: str, path: Path) -> None:
        self.emulator.client.bucket(bucket).blob(key).upload_from_filename(path)

    def read(self, bucket: str, key: str) -> bytes:
        return self.emulator.client.bucket(bucket).blob(key).download_as_bytes()

    def fail_second_file(self, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
        """The real client's upload of the second model file raises ``failure``
        (the claim is written with ``upload_from_string``, files from their path)."""
        error = {
            "denied": exceptions.Forbidden("storage.objects.create denied"),
            "disk full": OSError(28, "No space left on device"),
        }[failure]
        real = storage.Blob.upload_from_filename
        calls = []

        def upload(blob, *args, **kwargs):
            calls.append(blob.name)
            if len(calls) == 2:
                raise error
            return real(blob, *args, **kwargs)

        monkeypatch.setattr(storage.Blob, "upload_from_filename", upload)


class S3Buckets:
    scheme = "s3"

    def __init__(self, emulator) -> None:
        self.emulator = emulator

    def new_bucket(self, prefix: str) -> str:
        return self.emulator.create_bucket(f"{prefix}-{uuid.uuid4().hex[:8]}")

    def keys(self, bucket: str) -> set[str]:
        pages = self.emulator.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {obj["Key"] for page in pages for obj in page.get("Contents", [])}

    def upload(self, bucket: str, key: str, path: Path) -> None:
        self.emulator.client.upload_file(str(path), bucket, key)

    def read(self, bucket: str, key: str) -> bytes:
        return self.emulator.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def fail_second_file(self, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
        """The real client's PutObject of the second model file raises ``failure``
        (after the claim, its check and the first file)."""
        error = {
            "denied": ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "denied"}}, "PutObject"
            ),
            "disk full": OSError(28, "No space left on device"),
        }[failure]
        calls = []

        def fail(params, **_):
            calls.append(params["Key"])
            if len(calls) == 4:
                raise error

        from components.storage import s3

        real = s3._client

        def client():
            c = real()
            c.meta.events.register("before-parameter-build.s3.PutObject", fail)
            return c

        monkeypatch.setattr(s3, "_client", client)


def version_keys(prefix: str, files: tuple[str, ...]) -> set[str]:
    """Every object a complete published version holds under ``prefix``."""
    return {f"{prefix}/{n}" for n in files} | {f"{prefix}/_CLAIMED", f"{prefix}/{COMPLETE_MARKER}"}
