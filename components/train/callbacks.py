"""Callbacks that make a training run survive preemption and leave a record.

A preempted run (a spot GPU node going away) is restarted with the same output
directory. ``BackupAndRestore`` resumes the epoch count and weights; the epoch
log here keeps the full history on disk, so the restarted run knows the best
validation loss so far and ModelCheckpoint never overwrites a better model.
"""

import json
import math
from pathlib import Path

import keras

MONITOR = "val_loss"
BACKUP_DIR = "backup"


class EpochLog(keras.callbacks.Callback):
    """Appends each finished epoch's metrics to a JSON-lines file and prints progress."""

    def __init__(self, path: Path, phase: str):
        super().__init__()
        self.path, self.phase = path, phase

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        record = {
            "phase": self.phase,
            "epoch": epoch + 1,
            **{k: float(v) for k, v in (logs or {}).items()},
        }
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def read_epoch_log(path: Path) -> list[dict]:
    """Every epoch logged so far, in order (empty if none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def best_so_far(records: list[dict]) -> float:
    """The lowest validation loss logged so far (infinity if none)."""
    return min((r[MONITOR] for r in records if MONITOR in r), default=math.inf)


def phase_callbacks(
    out: Path, phase: str, patience: int, checkpoint: Path, log_path: Path
) -> list[keras.callbacks.Callback]:
    """EarlyStopping, best-only checkpoint, backup/restore, TensorBoard and the epoch log."""
    return [
        keras.callbacks.BackupAndRestore(str(out / BACKUP_DIR / phase)),
        keras.callbacks.EarlyStopping(
            monitor=MONITOR, patience=patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            checkpoint,
            monitor=MONITOR,
            save_best_only=True,
            initial_value_threshold=best_so_far(read_epoch_log(log_path)),
        ),
        keras.callbacks.TensorBoard(str(out / "logs" / phase)),
        EpochLog(log_path, phase),
    ]
