"""Object-store locations and the atomic, versioned publish of exported models.

A model base URI is a local directory path, a ``file://`` URI, or ``gs://bucket/prefix``.
Published models follow TensorFlow Serving's layout::

    <model_base>/<model_name>/<version>/saved_model.pb, variables/, assets/labels.txt,
                                        metadata.json, _COMPLETE

``_COMPLETE`` is written last and lists every file with its size. Readers (the Go
predictor) treat a version directory without it as not yet published, so a
crashed or partial publish is never served.
"""

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from components.errors import StorageError

COMPLETE_MARKER = "_COMPLETE"
_STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class PublishedVersion:
    """Where a model version was published."""

    model_name: str
    version: int
    uri: str


def local_path(uri: str) -> Path:
    """Return the local filesystem path for a plain path or ``file://`` URI.

    Raises:
        StorageError: the URI names a remote store this function cannot map to a path.
    """
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        raise StorageError(f"{uri}: {scheme}:// is not supported here; use a local path")
    return Path(uri)


def list_versions(model_base_uri: str, model_name: str) -> list[int]:
    """Return the complete (published) versions of a model, in ascending order."""
    model_dir = local_path(model_base_uri) / model_name
    if not model_dir.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in model_dir.iterdir()
        if p.name.isdigit() and (p / COMPLETE_MARKER).is_file()
    )


def publish_version(src_dir: str | Path, model_base_uri: str, model_name: str) -> PublishedVersion:
    """Publish an exported SavedModel directory as the next version of ``model_name``.

    The files are copied to a hidden staging directory beside the versions, the
    completion marker is written, and the staging directory is renamed to the
    next free version number. ``rename`` is atomic and refuses a non-empty
    target, so two concurrent publishers never claim the same version and
    readers never see a half-copied one.

    Raises:
        StorageError: the source is not a SavedModel or the store cannot be written.
    """
    src = Path(src_dir)
    if not (src / "saved_model.pb").is_file():
        raise StorageError(f"{src}: not a SavedModel directory (no saved_model.pb)")
    if not model_name or "/" in model_name or model_name.startswith("."):
        raise StorageError(f"invalid model name {model_name!r}: use a plain directory name")
    model_dir = local_path(model_base_uri) / model_name
    staging = model_dir / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, staging)
        _write_marker(staging)
        version = _claim_next_version(staging, model_dir)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise StorageError(f"publishing {src} to {model_dir}: {err}") from err
    return PublishedVersion(model_name, version, str(model_dir / str(version)))


def _write_marker(version_dir: Path) -> None:
    files = {
        str(p.relative_to(version_dir)): p.stat().st_size
        for p in sorted(version_dir.rglob("*"))
        if p.is_file()
    }
    marker = {"published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
    tmp = version_dir / f"{COMPLETE_MARKER}.tmp"
    tmp.write_text(json.dumps(marker, indent=1))
    os.replace(tmp, version_dir / COMPLETE_MARKER)


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
