"""The training loop: the proof of concept's transfer-learning recipe, done right.

Phase 1 trains the new softmax head on a frozen pretrained backbone (Adam).
Phase 2, when asked for, unfreezes the backbone's top layers and continues at a
lower learning rate. Both phases use EarlyStopping (restoring the best
weights), a best-epoch ModelCheckpoint, BackupAndRestore (a restarted run
resumes where it stopped) and TensorBoard logs.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import tensorflow as tf

from components.artifacts import require_files
from components.errors import StepError
from components.plots import plot_history
from components.prepare.dataset import read_split
from components.train.callbacks import BACKUP_DIR, MONITOR, phase_callbacks, read_epoch_log
from components.train.data import image_dataset
from components.train.devices import apply_plan, plan_for, visible_gpus
from components.train.durable import DurableState, SaveEachEpoch
from components.train.model import build_classifier, unfreeze_top

MODEL_FILE = "model.keras"
PARAMS_FILE = "train_params.json"
EPOCH_LOG = "epochs.jsonl"
PHASE1_DONE = "phase1.done"


@dataclass
class TrainParams:
    """Training hyper-parameters (also recorded in the published model's metadata)."""

    backbone: str = "resnet50"
    weights: str = "imagenet"
    image_size: int = 224
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 8
    fine_tune_layers: int = 0
    fine_tune_epochs: int = 10
    fine_tune_learning_rate: float = 1e-5
    seed: int = 42


@dataclass
class TrainResult:
    """What training produced."""

    model_path: str
    best_epoch: int
    epochs_run: int
    val_accuracy: float
    val_loss: float
    devices: str


def train_classifier(
    split_dir: str | Path, out_dir: str | Path, params: TrainParams, checkpoint_uri: str = ""
) -> TrainResult:
    """Train on ``split_dir``'s train/val splits; write the best model to ``out_dir``.

    ``out_dir`` receives ``model.keras`` (best epoch), ``classes.txt``,
    ``train_params.json``, ``epochs.jsonl``, ``training_curves.png``, ``logs/``
    (TensorBoard) and ``backup/`` (removed as each phase completes). Calling it
    again with the same ``out_dir`` after a crash resumes the run. With
    ``checkpoint_uri``, the state a resumed run needs is also mirrored there
    after every epoch (:mod:`components.train.durable`), so a run restarted
    with a new ``out_dir`` resumes too; it is removed when training succeeds.

    Raises:
        StepError: unknown backbone, missing weights file, empty splits, or a
            ``checkpoint_uri`` that cannot be written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    durable = None
    if checkpoint_uri:
        state = (BACKUP_DIR, EPOCH_LOG, MODEL_FILE, PHASE1_DONE)
        durable = DurableState(checkpoint_uri, out, state)
        durable.check_writable()
        if restored := durable.restore():
            print(f"train: resuming from {restored} files of an earlier run in {checkpoint_uri}")
    keras.utils.set_random_seed(params.seed)
    tf.config.experimental.enable_op_determinism()
    train_paths, train_labels, classes = read_split(split_dir, "train")
    val_paths, val_labels, _ = read_split(split_dir, "val")
    if not train_paths or not val_paths:
        raise StepError(f"{split_dir}: the train and validation splits must not be empty")
    data = dict(image_size=params.image_size, batch_size=params.batch_size, seed=params.seed)
    train_ds = image_dataset(train_paths, train_labels, training=True, **data)
    val_ds = image_dataset(val_paths, val_labels, training=False, **data)

    plan = plan_for(visible_gpus())
    with apply_plan(plan).scope():
        model, base = build_classifier(
            params.backbone, len(classes), params.image_size, params.weights
        )
    print(
        f"train: {params.backbone} ({plan.describe()}) on {len(train_paths)} images, "
        f"{len(val_paths)} validation, {len(classes)} classes"
    )
    checkpoint, log_path = out / MODEL_FILE, out / EPOCH_LOG
    fit = dict(validation_data=val_ds, verbose=2)

    if not (out / PHASE1_DONE).exists():
        model.compile(keras.optimizers.Adam(params.learning_rate), _LOSS, metrics=["accuracy"])
        callbacks = phase_callbacks(out, "head", params.patience, checkpoint, log_path)
        model.fit(train_ds, epochs=params.epochs, callbacks=_durable(callbacks, durable), **fit)
        (out / PHASE1_DONE).touch()
        if durable:
            durable.save()
    if params.fine_tune_layers > 0 and not base.trainable:
        model.load_weights(checkpoint)  # continue from the best head, not the last epoch
        unfreeze_top(base, params.fine_tune_layers)
        model.compile(
            keras.optimizers.Adam(params.fine_tune_learning_rate), _LOSS, metrics=["accuracy"]
        )
        print(f"train: fine-tuning the top {params.fine_tune_layers} backbone layers")
        callbacks = phase_callbacks(out, "fine_tune", params.patience, checkpoint, log_path)
        model.fit(
            train_ds, epochs=params.fine_tune_epochs, callbacks=_durable(callbacks, durable), **fit
        )

    (out / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
    (out / PARAMS_FILE).write_text(json.dumps(asdict(params), indent=1))
    records = read_epoch_log(log_path)
    plot_history(records, out / "training_curves.png")
    best = min(records, key=lambda r: r[MONITOR])
    if durable:
        durable.clear()
    return TrainResult(
        model_path=str(checkpoint),
        best_epoch=records.index(best) + 1,
        epochs_run=len(records),
        val_accuracy=best["val_accuracy"],
        val_loss=best[MONITOR],
        devices=plan.describe(),
    )


_LOSS = "sparse_categorical_crossentropy"


def _durable(callbacks: list, durable: DurableState | None) -> list:
    """The phase's callbacks, then the mirror to ``checkpoint_uri`` when there is one."""
    return [*callbacks, SaveEachEpoch(durable)] if durable else callbacks


def load_trained(model_dir: str | Path) -> tuple[keras.Model, list[str], TrainParams]:
    """Load what :func:`train_classifier` wrote: the best model, class names, parameters."""
    model_dir = require_files(model_dir, [MODEL_FILE, "classes.txt", PARAMS_FILE], "train")
    model = keras.saving.load_model(model_dir / MODEL_FILE)
    classes = (model_dir / "classes.txt").read_text().split("\n")[:-1]
    params = TrainParams(**json.loads((model_dir / PARAMS_FILE).read_text()))
    return model, classes, params
