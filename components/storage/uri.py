"""Turn a URI into an :class:`ObjectStore`."""

from pathlib import Path

from components.errors import StorageError
from components.storage.base import ObjectStore


def local_path(uri: str) -> Path:
    """Return the local filesystem path for a plain path or ``file://`` URI.

    Raises:
        StorageError: the URI names a remote store.
    """
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        raise StorageError(f"{uri}: {scheme}:// is not a local path")
    return Path(uri)


def open_store(uri: str) -> ObjectStore:
    """Open the store rooted at ``uri``: ``gs://`` or ``s3://bucket/prefix``, ``file://``, a path.

    Raises:
        StorageError: the scheme is not supported.
    """
    if uri.startswith("gs://"):
        from components.storage.gcs import GCSStore  # google-cloud-storage only when needed

        return GCSStore.from_uri(uri)
    if uri.startswith("s3://"):
        from components.storage.s3 import S3Store  # boto3 only when needed

        return S3Store.from_uri(uri)
    if "://" in uri and not uri.startswith("file://"):
        scheme = uri.split("://", 1)[0]
        raise StorageError(f"{uri}: {scheme}:// is not supported; use gs://, s3:// or a local path")
    from components.storage.local import LocalStore

    return LocalStore(local_path(uri))
