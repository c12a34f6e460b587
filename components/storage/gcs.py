"""Google Cloud Storage as the object store (``gs://bucket/prefix``).

GCS has no rename, so a publish claims its version number first: it creates
``<model>/<N>/_CLAIMED`` with the precondition "object does not exist yet"
(``if_generation_match=0``); a publisher that loses the race gets HTTP 412 and
tries ``N+1``. Files are then uploaded, checked against the local sizes, and
``_COMPLETE`` is written last. Readers ignore a version without ``_COMPLETE``,
so an interrupted publish is never visible.

``STORAGE_EMULATOR_HOST`` points the client at an emulator (the tests run
fake-gcs-server on loopback).
"""

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from google.api_core import exceptions
from google.cloud import storage

from components.errors import StorageError
from components.storage.base import (
    COMPLETE_MARKER,
    ObjectStore,
    PublishedVersion,
    check_publishable,
    marker_content,
)

CLAIM_MARKER = "_CLAIMED"
_MAX_CLAIM_TRIES = 100


class GCSStore(ObjectStore):
    """Objects under ``gs://<bucket>/<prefix>/``."""

    def __init__(self, bucket: str, prefix: str, client: storage.Client | None = None):
        self.client = client or _client()
        self.bucket = self.client.bucket(bucket)
        self.prefix = prefix.strip("/")
        self.uri = f"gs://{bucket}/{self.prefix}".rstrip("/")

    @classmethod
    def from_uri(cls, uri: str) -> "GCSStore":
        bucket, _, prefix = uri.removeprefix("gs://").partition("/")
        if not bucket:
            raise StorageError(f"{uri}: no bucket name")
        return cls(bucket, prefix)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def exists(self) -> bool:
        root = f"{self.prefix}/" if self.prefix else ""
        with _errors(f"listing {self.uri}"):
            return any(
                True for _ in self.client.list_blobs(self.bucket, prefix=root, max_results=1)
            )

    def list_files(self, prefix: str = "") -> list[str]:
        root = f"{self.prefix}/" if self.prefix else ""
        with _errors(f"listing {self.uri}/{prefix}"):
            blobs = self.client.list_blobs(self.bucket, prefix=root + prefix)
            return sorted(b.name[len(root) :] for b in blobs if not b.name.endswith("/"))

    def read_bytes(self, name: str) -> bytes:
        with _errors(f"reading {self.uri}/{name}"):
            return self.bucket.blob(self._key(name)).download_as_bytes()

    def download(self, prefix: str, dest: Path) -> Path:
        for name in self.list_files(prefix.rstrip("/") + "/"):
            target = dest / name[len(prefix.rstrip("/")) + 1 :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.read_bytes(name))
        return dest

    def upload_file(self, path: Path, name: str) -> None:
        with _errors(f"writing {self.uri}/{name}"):
            self.bucket.blob(self._key(name)).upload_from_filename(path)

    def delete(self, names: list[str]) -> None:
        for name in names:
            with _errors(f"removing {self.uri}/{name}"):
                try:
                    self.bucket.blob(self._key(name)).delete()
                except exceptions.NotFound:
                    pass

    def publish(self, src_dir: str | Path, model_name: str) -> PublishedVersion:
        src = check_publishable(src_dir, model_name)
        with _errors(f"publishing {src} to {self.uri}/{model_name}"):
            if not self.bucket.exists():
                raise StorageError(f"bucket gs://{self.bucket.name} does not exist")
            version = self._claim(model_name)
            written: list[str] = []
            try:
                self._upload_version(src, f"{model_name}/{version}", written)
            except BaseException:
                self._delete(written + [f"{model_name}/{version}/{CLAIM_MARKER}"])
                raise
        return PublishedVersion(model_name, version, f"{self.uri}/{model_name}/{version}")

    def _claim(self, model_name: str) -> int:
        taken = {
            int(name.split("/")[1])
            for name in self.list_files(f"{model_name}/")
            if name.split("/")[1].isdigit()
        }
        version = max(taken, default=0) + 1
        claim = json.dumps({"publisher": uuid.uuid4().hex})
        for _ in range(_MAX_CLAIM_TRIES):
            blob = self.bucket.blob(self._key(f"{model_name}/{version}/{CLAIM_MARKER}"))
            try:
                blob.upload_from_string(claim, if_generation_match=0)
                return version
            except exceptions.PreconditionFailed:
                version += 1  # another publisher claimed this number first
        raise StorageError(f"{self.uri}/{model_name}: could not claim a free version number")

    def _upload_version(self, src: Path, version_prefix: str, written: list[str]) -> None:
        local = {p.relative_to(src).as_posix(): p for p in sorted(src.rglob("*")) if p.is_file()}
        for rel, path in local.items():
            name = f"{version_prefix}/{rel}"
            self.bucket.blob(self._key(name)).upload_from_filename(path, if_generation_match=0)
            written.append(name)
        remote = {
            b.name[len(self._key(version_prefix)) + 1 :]: b.size
            for b in self.client.list_blobs(self.bucket, prefix=self._key(version_prefix) + "/")
        }
        for rel, path in local.items():
            if remote.get(rel) != path.stat().st_size:
                raise StorageError(f"{self.uri}/{version_prefix}/{rel}: uploaded size differs")
        marker = self.bucket.blob(self._key(f"{version_prefix}/{COMPLETE_MARKER}"))
        marker.upload_from_string(marker_content(src), if_generation_match=0)

    def _delete(self, names: list[str]) -> None:
        for name in names:
            try:
                self.bucket.blob(self._key(name)).delete()
            except exceptions.GoogleAPIError:
                pass  # best effort: without _COMPLETE the leftovers are invisible anyway


def _client() -> storage.Client:
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project="emulator", credentials=AnonymousCredentials())
    return storage.Client()


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Turn google-cloud errors into one-line :class:`StorageError` s naming the operation."""
    try:
        yield
    except StorageError:
        raise
    except exceptions.NotFound as err:
        raise StorageError(f"{what}: not found ({err.message})") from err
    except exceptions.Forbidden as err:
        raise StorageError(f"{what}: permission denied ({err.message})") from err
    except (exceptions.GoogleAPIError, OSError) as err:
        raise StorageError(f"{what}: {err}") from err
