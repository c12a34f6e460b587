"""prepare -> train -> evaluate -> (gate) -> export + publish, as one KFP v2 pipeline."""

from kfp import dsl

from components.evaluate.component import evaluate_op
from components.export.component import export_op
from components.prepare.component import prepare_op
from components.train.component import train_op

PIPELINE_NAME = "image-classifier-training"


@dsl.pipeline(name=PIPELINE_NAME, description=__doc__)
def training_pipeline(
    data_uri: str,
    model_base_uri: str,
    model_name: str = "classifier",
    backbone: str = "resnet50",
    weights: str = "imagenet",
    image_size: int = 224,
    epochs: int = 20,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    fine_tune_layers: int = 0,
    fine_tune_learning_rate: float = 1e-5,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    min_images_per_class: int = 3,
    invalid_files: str = "fail",
    min_accuracy: float = 0.8,
    max_regression: float = 0.02,
):
    """Train a classifier on ``data_uri`` and publish it under ``model_base_uri`` if it passes."""
    prepare = prepare_op(
        data_uri=data_uri,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        min_images_per_class=min_images_per_class,
        invalid_files=invalid_files,
    )
    prepare.set_caching_options(False)  # the dataset folder may change between runs
    prepare.set_cpu_request("1").set_memory_request("2G")

    train = train_op(
        split=prepare.outputs["split"],
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
    train.set_cpu_request("2").set_memory_request("8G")

    evaluate = evaluate_op(
        model=train.outputs["model"],
        split=prepare.outputs["split"],
        min_accuracy=min_accuracy,
        max_regression=max_regression,
        model_base_uri=model_base_uri,
        model_name=model_name,
    )
    evaluate.set_caching_options(False)  # compares with the currently published version
    evaluate.set_cpu_request("1").set_memory_request("4G")

    # The gate is enforced inside the publish step (it refuses a model that did not
    # pass) rather than with dsl.If: kfp.local 2.16 cannot evaluate compiled
    # conditions, and the pipeline must behave the same locally and on a cluster.
    publish = export_op(
        model=train.outputs["model"],
        split=prepare.outputs["split"],
        evaluation=evaluate.outputs["report"],
        model_base_uri=model_base_uri,
        model_name=model_name,
    )
    publish.set_caching_options(False)  # publishing has side effects: never skip it
    publish.set_cpu_request("1").set_memory_request("4G")
