"""The training loop: the proof of concept's transfer-learning recipe.

Adam on a frozen backbone + new softmax head, EarlyStopping that restores the
best weights, and ModelCheckpoint keeping the best epoch on disk.
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from components.errors import StepError
from components.plots import plot_history
from components.prepare.dataset import read_split
from components.train.data import image_dataset
from components.train.model import build_classifier

MODEL_FILE = "model.keras"
PARAMS_FILE = "train_params.json"


@dataclass
class TrainParams:
    """Training hyper-parameters (also recorded in the published model's metadata)."""

    backbone: str = "small_cnn"
    weights: str = "none"
    image_size: int = 64
    epochs: int = 40
    batch_size: int = 16
    learning_rate: float = 1e-3
    patience: int = 8
    seed: int = 42


@dataclass
class TrainResult:
    """What training produced."""

    model_path: str
    best_epoch: int
    epochs_run: int
    val_accuracy: float
    val_loss: float


def train_classifier(
    split_dir: str | Path, out_dir: str | Path, params: TrainParams
) -> TrainResult:
    """Train on ``split_dir``'s train/val splits and write the best model to ``out_dir``.

    ``out_dir`` receives ``model.keras`` (best epoch), ``classes.txt``,
    ``train_params.json``, ``history.json`` and ``training_curves.png``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(params.seed)
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    train_paths, train_labels, classes = read_split(split_dir, "train")
    val_paths, val_labels, _ = read_split(split_dir, "val")
    if not train_paths or not val_paths:
        raise StepError(f"{split_dir}: the train and validation splits must not be empty")
    data = dict(image_size=params.image_size, batch_size=params.batch_size, seed=params.seed)
    train_ds = image_dataset(train_paths, train_labels, training=True, **data)
    val_ds = image_dataset(val_paths, val_labels, training=False, **data)

    model, _ = build_classifier(params.backbone, len(classes), params.image_size, params.weights)
    model.compile(
        optimizer=keras.optimizers.Adam(params.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    checkpoint = out / MODEL_FILE
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=params.patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(checkpoint, monitor="val_loss", save_best_only=True),
    ]
    print(
        f"train: {params.backbone} on {len(train_paths)} images, {len(val_paths)} validation, "
        f"{len(classes)} classes, up to {params.epochs} epochs"
    )
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=params.epochs, callbacks=callbacks, verbose=2
    ).history

    (out / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
    (out / PARAMS_FILE).write_text(json.dumps(asdict(params), indent=1))
    (out / "history.json").write_text(json.dumps(history, indent=1))
    plot_history(history, out / "training_curves.png")
    best = min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
    return TrainResult(
        model_path=str(checkpoint),
        best_epoch=best + 1,
        epochs_run=len(history["val_loss"]),
        val_accuracy=float(history["val_accuracy"][best]),
        val_loss=float(history["val_loss"][best]),
    )


def load_trained(model_dir: str | Path) -> tuple[keras.Model, list[str], TrainParams]:
    """Load what :func:`train_classifier` wrote: the best model, class names, parameters."""
    model_dir = Path(model_dir)
    model = keras.saving.load_model(model_dir / MODEL_FILE)
    classes = (model_dir / "classes.txt").read_text().split()
    params = TrainParams(**json.loads((model_dir / PARAMS_FILE).read_text()))
    return model, classes, params
