"""Run the training pipeline on this machine with kfp.local (no cluster)."""

import warnings
from pathlib import Path

from kfp import local

from components.prepare.sources import list_labelled_files
from pipelines import kfp_local_conditions
from pipelines.training import training_pipeline


def run_local(pipeline_root: str | Path, **arguments: object) -> None:
    """Run ``training_pipeline`` in subprocesses of this Python environment.

    The dataset layout is checked first (cheaply), so a wrong path fails in a
    second with a message naming it rather than after a container start.

    Raises:
        DataError: the dataset layout is wrong.
        RuntimeError: a pipeline task failed (its log is printed above).
    """
    list_labelled_files(str(arguments["data_uri"]))
    # The components name the trainer image for cluster runs; locally the current
    # environment has the same package installed, which is what kfp warns about.
    warnings.filterwarnings("ignore", message="You may be attemping to run a task that uses custom")
    kfp_local_conditions.install()
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
    training_pipeline(**arguments)
