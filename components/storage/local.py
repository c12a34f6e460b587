"""A local directory as the object store (the embedded default)."""

import contextlib
import os
import shutil
import uuid
from pathlib import Path

from components.errors import StorageError
from components.storage.base import (
    COMPLETE_MARKER,
    ObjectStore,
    PublishedVersion,
    check_publishable,
    marker_content,
)

_STAGING_PREFIX = ".staging-"


class LocalStore(ObjectStore):
    """Files under a local directory.

    Publishing copies into a hidden staging directory beside the versions,
    writes the completion marker, and renames the directory to the next free
    version number. ``rename`` is atomic and refuses a non-empty target, so
    concurrent publishers never share a number and readers never see a
    half-copied version.
    """

    def __init__(self, root: Path):
        self.root = root
        self.uri = str(root)

    def exists(self) -> bool:
        return self.root.is_dir()

    def list_files(self, prefix: str = "") -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        if base.is_file():
            return [prefix]
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(base).parts)
        )

    def read_bytes(self, name: str) -> bytes:
        try:
            return (self.root / name).read_bytes()
        except OSError as err:
            raise StorageError(f"reading {self.root / name}: {err.strerror}") from err

    def download(self, prefix: str, dest: Path) -> Path:
        shutil.copytree(self.root / prefix, dest, dirs_exist_ok=True)
        return dest

    def upload_file(self, path: Path, name: str) -> None:
        target = self.root / name
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except OSError as err:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise StorageError(f"writing {target}: {err.strerror or err}") from err

    def delete(self, names: list[str]) -> None:
        for name in names:
            try:
                (self.root / name).unlink(missing_ok=True)
            except OSError as err:
                raise StorageError(f"removing {self.root / name}: {err.strerror}") from err

    def publish(self, src_dir: str | Path, model_name: str) -> PublishedVersion:
        src = check_publishable(src_dir, model_name)
        model_dir = self.root / model_name
        staging = model_dir / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
        try:
            model_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, staging)
            marker = staging / COMPLETE_MARKER
            marker.with_suffix(".tmp").write_text(marker_content(staging))
            os.replace(marker.with_suffix(".tmp"), marker)
            version = _claim_next_version(staging, model_dir)
        except OSError as err:
            shutil.rmtree(staging, ignore_errors=True)
            raise StorageError(f"publishing {src} to {model_dir}: {err}") from err
        return PublishedVersion(model_name, version, str(model_dir / str(version)))


def _claim_next_version(staging: Path, model_dir: Path) -> int:
    existing = [int(p.name) for p in model_dir.iterdir() if p.name.isdigit()]
    version = max(existing, default=0) + 1
    for _ in range(100):
        try:
            os.rename(staging, model_dir / str(version))
            return version
        except OSError:
            if not (model_dir / str(version)).exists():
                raise
            version += 1  # another publisher took this number first
    raise StorageError(f"{model_dir}: could not claim a free version number")
