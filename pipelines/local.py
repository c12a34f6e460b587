"""Run the training pipeline on this machine with kfp.local (no cluster).

:func:`run_local` runs each step in a subprocess of this Python environment;
:func:`run_in_containers` runs each step in the trainer image, as a cluster
would, through kfp.local's ``DockerRunner`` (docker, or podman's Docker API).
"""

import os
import warnings
from pathlib import Path

from kfp import local

from components.prepare.sources import list_labelled_files
from pipelines import kfp_local_conditions
from pipelines.training import check_arguments, training_pipeline

STEP_UID = 65532
"""The trainer image's user (Dockerfiles/trainer.Dockerfile), which the steps run as."""
DATA_MOUNT = "/data"
MODELS_MOUNT = "/models"


def run_local(pipeline_root: str | Path, **arguments: object) -> None:
    """Run ``training_pipeline`` in subprocesses of this Python environment.

    The dataset layout is checked first (cheaply), so a wrong path fails in a
    second with a message naming it rather than after a container start.

    Raises:
        DataError: the dataset layout is wrong.
        RuntimeError: a pipeline task failed (its log is printed above).
    """
    check_arguments(arguments)
    list_labelled_files(str(arguments["data_uri"]))
    # The components name the trainer image for cluster runs; locally the current
    # environment has the same package installed, which is what kfp warns about.
    warnings.filterwarnings("ignore", message="You may be attemping to run a task that uses custom")
    # Resource requests are for the cluster; kfp.local says each time that it ignores them.
    warnings.filterwarnings("ignore", message=r"Task .*: settings .* have no effect in the current")
    kfp_local_conditions.install()
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
    training_pipeline(**arguments)


def run_in_containers(
    pipeline_root: str | Path,
    *,
    data_dir: str | Path,
    model_base_dir: str | Path,
    **arguments: object,
) -> None:
    """Run ``training_pipeline`` with every step in its component's image.

    The steps read ``data_dir`` at ``/data`` and publish into ``model_base_dir``
    at ``/models`` (:func:`use_containers`). Call inside
    :func:`pipelines.container_engine.docker_api`.

    Raises:
        DataError: the dataset layout is wrong.
        StepImageMissing: the trainer image is not built (``make images``).
        RuntimeError: a pipeline task failed (its log is printed above).
    """
    check_arguments(arguments)
    list_labelled_files(str(Path(data_dir).resolve()))
    use_containers(pipeline_root, data_dir=data_dir, model_base_dir=model_base_dir)
    training_pipeline(data_uri=DATA_MOUNT, model_base_uri=MODELS_MOUNT, **arguments)


def use_containers(
    pipeline_root: str | Path, *, data_dir: str | Path, model_base_dir: str | Path
) -> None:
    """Make kfp.local run each task in its component's image, as a cluster would.

    Every step container sees ``data_dir`` read-only at ``/data``,
    ``model_base_dir`` at ``/models`` and the pipeline root at its own path,
    runs as the image's user, and has no network, so a run cannot depend on a
    download. A failed step fails the run (:mod:`pipelines.kfp_local_containers`).
    """
    from docker.types import Mount  # docker-py: a development requirement, not the image's

    from pipelines import kfp_local_containers

    pipeline_root, model_base_dir = Path(pipeline_root).resolve(), Path(model_base_dir).resolve()
    for writable in (pipeline_root, model_base_dir):
        _make_writable_for_steps(writable)
    kfp_local_conditions.install()
    kfp_local_containers.install()
    runner = local.DockerRunner(
        network_mode="none",
        mounts=[
            Mount(DATA_MOUNT, str(Path(data_dir).resolve()), type="bind", read_only=True),
            Mount(MODELS_MOUNT, str(model_base_dir), type="bind"),
        ],
    )
    local.init(runner=runner, pipeline_root=str(pipeline_root))


def _make_writable_for_steps(path: Path) -> None:
    """Let the steps' user write ``path``: its owner as root, else open to all."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, STEP_UID, STEP_UID)
    else:
        path.chmod(0o777)
