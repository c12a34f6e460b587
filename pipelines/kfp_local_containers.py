"""Run kfp.local's ``DockerRunner`` steps so that a failed step fails the run.

kfp (2.16.1, still 2.17.3) starts each step's container with ``auto_remove=True`` and asks for
its exit code after it has stopped. By then the engine may have removed it:
kfp then treats the NotFound as exit code 0 (kubeflow/pipelines#13332), so a
failed step can be reported as succeeded, and under podman the lookup often
fails as an API error instead. :func:`install` replaces kfp.local's container
start with :func:`run_step_container`, which removes a container only after
its logs and exit code have been read, and never pulls: the images come from
``make images``. Remove it once kfp.local does the same.
"""

from typing import Any

import docker
import docker.errors
from kfp.local import docker_task_handler

from components.errors import StepError


class StepImageMissing(StepError):
    """The image a step names is not in the engine's local store."""


def run_step_container(
    client: docker.DockerClient,
    image: str,
    command: list[str],
    volumes: dict[str, Any],
    **run_args: Any,
) -> int:
    """Run one step's container to the end; return its exit code.

    Its output is printed as it comes. The container is removed afterwards,
    whatever happened.

    Raises:
        StepImageMissing: ``image`` is not built here.
    """
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise StepImageMissing(f"step image {image} is not built here: run `make images`") from None
    container = client.containers.create(
        image=image, command=command, volumes=volumes, detach=True, **run_args
    )
    try:
        container.start()
        for chunk in container.logs(stream=True, follow=True):
            print(chunk.decode(errors="replace"), end="", flush=True)
        return int(container.wait()["StatusCode"])
    finally:
        container.remove(force=True)


def install() -> None:
    """Use :func:`run_step_container` for kfp.local's DockerRunner steps."""
    docker_task_handler.run_docker_container = run_step_container
