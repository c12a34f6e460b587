"""The object-store interface shared by the local-directory, GCS and S3 stores."""

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from components.errors import StorageError

COMPLETE_MARKER = "_COMPLETE"


@dataclass(frozen=True)
class PublishedVersion:
    """Where a model version was published."""

    model_name: str
    version: int
    uri: str


class ObjectStore(ABC):
    """A tree of files addressed by ``/``-separated relative names under one root URI."""

    uri: str

    @abstractmethod
    def exists(self) -> bool:
        """Whether the root holds anything (a directory, or objects under the prefix)."""

    @abstractmethod
    def list_files(self, prefix: str = "") -> list[str]:
        """Names (relative to the root) of every file under ``prefix``, sorted."""

    @abstractmethod
    def read_bytes(self, name: str) -> bytes:
        """The content of one file."""

    @abstractmethod
    def download(self, prefix: str, dest: Path) -> Path:
        """Copy every file under ``prefix`` into the local directory ``dest``."""

    @abstractmethod
    def upload_file(self, path: Path, name: str) -> None:
        """Write the local file ``path`` as ``name``, replacing what was there."""

    @abstractmethod
    def delete(self, names: list[str]) -> None:
        """Remove these files; a name that is already gone is not an error."""

    @abstractmethod
    def publish(self, src_dir: str | Path, model_name: str) -> PublishedVersion:
        """Publish ``src_dir`` as the next version of ``model_name``, all or nothing.

        The version becomes visible (gets its completion marker) only after
        every file is written; two publishers racing never get the same
        number; an interrupted publish leaves no visible version.

        Raises:
            StorageError: the source is not a SavedModel or the store cannot be written.
        """

    def versions(self, model_name: str) -> list[int]:
        """Complete versions of ``model_name``, ascending."""
        found = set()
        for name in self.list_files(f"{model_name}/"):
            parts = name.split("/")
            if len(parts) == 3 and parts[1].isdigit() and parts[2] == COMPLETE_MARKER:
                found.add(int(parts[1]))
        return sorted(found)


def check_publishable(src_dir: str | Path, model_name: str) -> Path:
    """Validate the arguments of a publish before anything is written."""
    src = Path(src_dir)
    if not (src / "saved_model.pb").is_file():
        raise StorageError(f"{src}: not a SavedModel directory (no saved_model.pb)")
    if not model_name or "/" in model_name or model_name.startswith("."):
        raise StorageError(f"invalid model name {model_name!r}: use a plain directory name")
    return src


def marker_content(src: Path) -> str:
    """The completion marker: when, and every file with its size (readers may verify)."""
    files = {
        p.relative_to(src).as_posix(): p.stat().st_size
        for p in sorted(src.rglob("*"))
        if p.is_file() and p.name != COMPLETE_MARKER
    }
    published_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({"published_at": published_at, "files": files}, indent=1)
