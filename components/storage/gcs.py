"""Google Cloud Storage as the object store (``gs://bucket/prefix``).

GCS has no rename, so a publish claims its version number first
(components/storage/claiming.py); the conditional write is the precondition
"object does not exist yet" (``if_generation_match=0``), and a publisher that
loses the race gets HTTP 412 and tries ``N+1``.

``STORAGE_EMULATOR_HOST`` points the client at an emulator (the tests run
fake-gcs-server on loopback).
"""

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from google.api_core import exceptions
from google.cloud import storage

from components.errors import StorageError
from components.storage.claiming import ClaimingStore


class GCSStore(ClaimingStore):
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
        with self._errors(f"listing {self.uri}"):
            return any(
                True for _ in self.client.list_blobs(self.bucket, prefix=root, max_results=1)
            )

    def _sizes(self, prefix: str) -> dict[str, int]:
        root = f"{self.prefix}/" if self.prefix else ""
        with self._errors(f"listing {self.uri}/{prefix}"):
            blobs = self.client.list_blobs(self.bucket, prefix=root + prefix)
            return {b.name[len(root) :]: b.size for b in blobs if not b.name.endswith("/")}

    def read_bytes(self, name: str) -> bytes:
        with self._errors(f"reading {self.uri}/{name}"):
            return self.bucket.blob(self._key(name)).download_as_bytes()

    def download(self, prefix: str, dest: Path) -> Path:
        for name in self.list_files(prefix.rstrip("/") + "/"):
            target = dest / name[len(prefix.rstrip("/")) + 1 :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.read_bytes(name))
        return dest

    def upload_file(self, path: Path, name: str) -> None:
        with self._errors(f"writing {self.uri}/{name}"):
            self.bucket.blob(self._key(name)).upload_from_filename(path)

    def delete(self, names: list[str]) -> None:
        for name in names:
            with self._errors(f"removing {self.uri}/{name}"):
                try:
                    self.bucket.blob(self._key(name)).delete()
                except exceptions.NotFound:
                    pass

    def _errors(self, what: str) -> AbstractContextManager[None]:
        return _api_errors(what, self.bucket)

    def _check_bucket(self) -> None:
        if not self.bucket.exists():
            raise exceptions.NotFound(f"bucket gs://{self.bucket.name}")

    def _create(self, name: str, content: bytes | Path) -> bool:
        """Write ``name`` only if no object has that name (``if_generation_match=0``)."""
        blob = self.bucket.blob(self._key(name))
        try:
            if isinstance(content, Path):
                blob.upload_from_filename(content, if_generation_match=0)
            else:
                blob.upload_from_string(content, if_generation_match=0)
            return True
        except exceptions.PreconditionFailed:
            return False

    def _delete_quietly(self, names: list[str]) -> None:
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
def _api_errors(what: str, bucket: storage.Bucket) -> Iterator[None]:
    """Turn google-cloud errors into one-line :class:`StorageError` s naming the operation;
    a 404 where ``bucket`` itself is missing says so, as the S3 store does."""
    try:
        yield
    except StorageError:
        raise
    except exceptions.NotFound as err:
        if not _exists(bucket):
            raise StorageError(f"{what}: bucket gs://{bucket.name} does not exist") from err
        raise StorageError(f"{what}: not found ({err.message})") from err
    except exceptions.Forbidden as err:
        raise StorageError(f"{what}: permission denied ({err.message})") from err
    except (exceptions.GoogleAPIError, OSError) as err:
        raise StorageError(f"{what}: {err}") from err


def _exists(bucket: storage.Bucket) -> bool:
    try:
        return bucket.exists()
    except (exceptions.GoogleAPIError, OSError):
        return True  # cannot tell: the caller reports the original error
