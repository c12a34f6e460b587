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
    checkpoint_uri: str,
    model_base_uri: str,
    model_name: str,
    run_id: str,
    model: Output[Model],
    metrics: Output[Metrics],
):
    """Fine-tune ``backbone`` with a new softmax head; keep the best epoch's weights.

    The training state is mirrored after every epoch to ``checkpoint_uri``
    (default ``<model_base_uri>/.checkpoints/<model_name>/<run_id>``: retries of
    one run share it, other runs never do), so a retried task, which gets a new
    local ``model.path``, resumes from it. It is removed when training succeeds;
    the model's metadata names where it was.
    """
    from components.train.train import TrainParams, train_classifier

    checkpoints = (
        checkpoint_uri or f"{model_base_uri.rstrip('/')}/.checkpoints/{model_name}/{run_id}"
    )

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
    result = train_classifier(split.path, model.path, params, checkpoints)
    model.metadata.update(
        framework="keras", backbone=backbone, devices=result.devices, checkpoint_uri=checkpoints
    )
    metrics.log_metric("val_accuracy", result.val_accuracy)
    metrics.log_metric("val_loss", result.val_loss)
    metrics.log_metric("best_epoch", result.best_epoch)
    metrics.log_metric("epochs_run", result.epochs_run)
