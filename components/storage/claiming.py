"""Publishing to an object store without rename (GCS, S3): claim the number first.

A publish creates ``<model>/<N>/_CLAIMED`` with a write that succeeds only if no
object has that name yet; a publisher that loses the race tries ``N+1``. Every file
is then written the same way (nothing of another publisher's is overwritten),
checked against the local sizes, and ``_COMPLETE`` is written last. Readers
ignore a version without ``_COMPLETE``, so an interrupted publish is never visible;
what it wrote is removed on the way out.
"""

import json
import uuid
from abc import abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path

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


class ClaimingStore(ObjectStore):
    """An object store that publishes by claiming version numbers with conditional writes."""

    @abstractmethod
    def _errors(self, what: str) -> AbstractContextManager[None]:
        """Turn the client's errors into one-line :class:`StorageError` s naming ``what``."""

    @abstractmethod
    def _check_bucket(self) -> None:
        """Raise when the bucket does not exist or cannot be read."""

    @abstractmethod
    def _create(self, name: str, content: bytes | Path) -> bool:
        """Write ``name`` (bytes, or a local file's content) only if no object has that
        name; False when one does."""

    @abstractmethod
    def _sizes(self, prefix: str) -> dict[str, int]:
        """Name (relative to the root) -> size of every object under ``prefix``."""

    @abstractmethod
    def _delete_quietly(self, names: list[str]) -> None:
        """Remove these objects, ignoring errors (leftovers without _COMPLETE are invisible)."""

    def _claimed(self, name: str, claim: bytes) -> None:
        """Called with the claim just written; a store may check here that it holds."""

    def list_files(self, prefix: str = "") -> list[str]:
        return sorted(self._sizes(prefix))

    def publish(self, src_dir: str | Path, model_name: str) -> PublishedVersion:
        src = check_publishable(src_dir, model_name)
        with self._errors(f"publishing {src} to {self.uri}/{model_name}"):
            self._check_bucket()
            version = self._claim(model_name)
            written: list[str] = []
            try:
                self._upload_version(src, f"{model_name}/{version}", written)
            except BaseException:
                self._delete_quietly(written + [f"{model_name}/{version}/{CLAIM_MARKER}"])
                raise
        return PublishedVersion(model_name, version, f"{self.uri}/{model_name}/{version}")

    def _claim(self, model_name: str) -> int:
        taken = {
            int(name.split("/")[1])
            for name in self.list_files(f"{model_name}/")
            if name.split("/")[1].isdigit()
        }
        version = max(taken, default=0) + 1
        claim = json.dumps({"publisher": uuid.uuid4().hex}).encode()
        for _ in range(_MAX_CLAIM_TRIES):
            name = f"{model_name}/{version}/{CLAIM_MARKER}"
            if self._create(name, claim):
                self._claimed(name, claim)
                return version
            version += 1  # another publisher claimed this number first
        raise StorageError(f"{self.uri}/{model_name}: could not claim a free version number")

    def _upload_version(self, src: Path, version_prefix: str, written: list[str]) -> None:
        local = {p.relative_to(src).as_posix(): p for p in sorted(src.rglob("*")) if p.is_file()}
        for rel, path in local.items():
            name = f"{version_prefix}/{rel}"
            if not self._create(name, path):
                raise StorageError(f"{self.uri}/{name}: already exists")
            written.append(name)
        remote = self._sizes(version_prefix + "/")
        for rel, path in local.items():
            if remote.get(f"{version_prefix}/{rel}") != path.stat().st_size:
                raise StorageError(f"{self.uri}/{version_prefix}/{rel}: uploaded size differs")
        marker = f"{version_prefix}/{COMPLETE_MARKER}"
        if not self._create(marker, marker_content(src).encode()):
            raise StorageError(f"{self.uri}/{marker}: already exists")
