"""KFP component for the prepare step."""

from kfp import dsl
from kfp.dsl import Dataset, Output

from components.kfp_image import TRAINER_IMAGE


@dsl.component(base_image=TRAINER_IMAGE)
def prepare_op(
    data_uri: str,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    min_images_per_class: int,
    invalid_files: str,
    split: Output[Dataset],
):
    """Validate the dataset at ``data_uri``, snapshot it and split it (seeded, stratified)."""
    from components.prepare.dataset import prepare_dataset

    result = prepare_dataset(
        data_uri,
        split.path,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        min_images_per_class=min_images_per_class,
        invalid_files=invalid_files,
    )
    split.metadata["classes"] = result.classes
    split.metadata["fingerprint"] = result.fingerprint
    split.metadata["invalid_files"] = len(result.invalid)
