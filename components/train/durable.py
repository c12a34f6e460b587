"""Training state that outlives the pod: mirrored to ``checkpoint_uri`` after every epoch.

On a KFP cluster an output artifact's path is local to the pod and is uploaded
only when the step succeeds, so a backup written there dies with a preempted
pod. The state a restarted run needs (Keras's ``BackupAndRestore`` files, the
epoch log, the best checkpoint and the phase marker) is therefore copied to
``checkpoint_uri`` (a local directory, ``gs://``, ``s3://``) as each epoch ends; a retry,
which gets a new local output path, restores it first. It is removed once the
step succeeds.
"""

import uuid
from pathlib import Path

import keras

from components.errors import StepError, StorageError
from components.storage.uri import open_store

_PROBE = ".write-probe"


class DurableState:
    """The files of ``out`` named by ``state``, mirrored to ``uri``."""

    def __init__(self, uri: str, out: Path, state: tuple[str, ...]):
        self.uri, self.out, self.state = uri.rstrip("/"), out, state
        try:
            self.store = open_store(self.uri)
        except StorageError as err:
            raise StepError(f"checkpoint_uri {uri}: {err}") from err
        self._saved: dict[str, tuple[int, int]] = {}

    def check_writable(self) -> None:
        """Fail before the first epoch, naming the URI, when it cannot be written."""
        probe = self.out / _PROBE
        probe.write_text(uuid.uuid4().hex)
        try:
            self.store.upload_file(probe, _PROBE)
            self.store.delete([_PROBE])
        except StorageError as err:
            raise StepError(f"checkpoint_uri {self.uri} cannot be written: {err}") from err
        finally:
            probe.unlink()

    def restore(self) -> int:
        """Copy a previous attempt's state into ``out``; the number of files restored."""
        names = self._remote()
        for name in names:
            target = self.out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.store.read_bytes(name))
        local = self._local()
        self._saved = {name: local[name] for name in names}  # already there, unchanged
        return len(names)

    def save(self) -> None:
        """Upload what changed since the last save; remove what is gone locally."""
        local = self._local()
        for name, stamp in local.items():
            if self._saved.get(name) != stamp:
                self.store.upload_file(self.out / name, name)
        gone = [name for name in self._remote() if name not in local]
        self.store.delete(gone)
        self._saved = local

    def clear(self) -> None:
        """Remove every file of the state: the step succeeded."""
        self.store.delete(self._remote())

    def _remote(self) -> list[str]:
        return [n for n in self.store.list_files() if n.split("/")[0] in self.state]

    def _local(self) -> dict[str, tuple[int, int]]:
        files: dict[str, tuple[int, int]] = {}
        for top in self.state:
            path = self.out / top
            for f in [path] if path.is_file() else sorted(path.rglob("*")):
                if f.is_file():
                    stat = f.stat()
                    files[f.relative_to(self.out).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return files


class SaveEachEpoch(keras.callbacks.Callback):
    """Mirrors the state after the other callbacks have written it (put it last)."""

    def __init__(self, state: DurableState):
        super().__init__()
        self.state = state

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.state.save()
