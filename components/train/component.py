"""KFP component for the train step."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from components.kfp_image import TRAINER_IMAGE


@dsl.component(base_image=TRAINER_IMAGE)
def train_op(
    split: Input[Dataset],
    backbone: str,
    weights: str,
    image_size: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    fine_tune_layers: int,
    fine_tune_learning_rate: float,
    seed: int,
    model: Output[Model],
    metrics: Output[Metrics],
):
    """Fine-tune ``backbone`` with a new softmax head; keep the best epoch's weights.

    A retried task (preempted node) reuses ``model.path`` and resumes from its backup.
    """
    from components.train.train import TrainParams, train_classifier

    params = TrainParams(
        backbone=backbone,
        weights=weights,
        image_size=image_size,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        fine_tune_layers=fine_tune_layers,
        fine_tune_learning_rate=fine_tune_learning_rate,
        seed=seed,
    )
    result = train_classifier(split.path, model.path, params)
    model.metadata.update(framework="keras", backbone=backbone, devices=result.devices)
    metrics.log_metric("val_accuracy", result.val_accuracy)
    metrics.log_metric("val_loss", result.val_loss)
    metrics.log_metric("best_epoch", result.best_epoch)
    metrics.log_metric("epochs_run", result.epochs_run)
