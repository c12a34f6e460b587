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
    """Open the store rooted at ``uri``: ``gs://bucket/prefix``, ``file://``, or a path.

    Raises:
        StorageError: the scheme is not supported.
    """
    if uri.startswith("gs://"):
        from components.storage.gcs import GCSStore  # google-cloud-storage only when needed

        return GCSStore.from_uri(uri)
    if "://" in uri and not uri.startswith("file://"):
        scheme = uri.split("://", 1)[0]
        raise StorageError(f"{uri}: {scheme}:// is not supported; use gs:// or a local path")
    from components.storage.local import LocalStore

    return LocalStore(local_path(uri))
