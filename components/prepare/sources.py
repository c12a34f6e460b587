"""Where labelled images come from: a folder per class, or a CSV manifest, on any store."""

import csv
import io
from dataclasses import dataclass

from components.errors import DataError
from components.storage import ObjectStore, open_store


@dataclass(frozen=True)
class LabelledFile:
    """One image file in the source store and its class."""

    store: ObjectStore
    name: str  # relative to the store's root
    label: str

    @property
    def uri(self) -> str:
        return f"{self.store.uri.rstrip('/')}/{self.name}"


def list_labelled_files(data_uri: str) -> list[LabelledFile]:
    """List the dataset's files with their labels, checking the layout.

    ``data_uri`` is either a folder (local, ``gs://`` or ``s3://``) with one sub-folder per
    class, or a CSV file with ``path,label`` rows whose paths are relative to
    the CSV's folder (or full URIs).

    Raises:
        DataError: the location is missing, has fewer than two classes, or a class is empty.
    """
    if data_uri.endswith(".csv"):
        return _from_manifest(data_uri)
    store = open_store(data_uri)
    if not store.exists():
        raise DataError(f"data directory not found: {data_uri}")
    names = [n for n in store.list_files() if not any(p.startswith(".") for p in n.split("/"))]
    files = [LabelledFile(store, n, n.split("/")[0]) for n in names if "/" in n]
    _check_classes(data_uri, files, _empty_class_folders(store, data_uri))
    return files


def _empty_class_folders(store: ObjectStore, data_uri: str) -> list[str]:
    from components.storage.local import LocalStore

    if not isinstance(store, LocalStore):
        return []  # object stores have no empty folders
    return [str(p) for p in sorted(store.root.iterdir()) if p.is_dir() and not any(p.iterdir())]


def _from_manifest(manifest_uri: str) -> list[LabelledFile]:
    folder, _, csv_name = manifest_uri.rpartition("/")
    store = open_store(folder or ".")
    try:
        rows = list(csv.DictReader(io.StringIO(store.read_bytes(csv_name).decode())))
    except UnicodeDecodeError as err:
        raise DataError(f"{manifest_uri}: not a UTF-8 CSV file") from err
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise DataError(f"{manifest_uri}: expected a CSV with 'path' and 'label' columns")
    files = []
    for row in rows:
        path = row["path"]
        if "://" in path or path.startswith("/"):
            parent, _, name = path.rpartition("/")
            files.append(LabelledFile(open_store(parent), name, row["label"]))
        else:
            files.append(LabelledFile(store, path, row["label"]))
    _check_classes(manifest_uri, files, [])
    return files


def _check_classes(source: str, files: list[LabelledFile], empty: list[str]) -> None:
    if empty:
        raise DataError(f"class folder is empty: {empty[0]}")
    classes = {f.label for f in files}
    if len(classes) < 2:
        raise DataError(f"{source}: need at least two classes, found {len(classes)}")
