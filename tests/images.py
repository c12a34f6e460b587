"""Fixtures for the tests that run the images ``make images`` builds.

Without a container engine or the images they skip and say why; ``make test``
builds the images first and sets IMAGES_REQUIRED=1, so there they must run.
"""

import os
import tarfile
from pathlib import Path

import pytest

from components.kfp_image import TRAINER_IMAGE
from pipelines import container_engine
from pipelines.predictor_container import PREDICTOR_IMAGE

BASES = {
    "golang": "localhost/imgclf-base/golang:1.26-bookworm",
    "distroless": "localhost/imgclf-base/distroless-cc:nonroot",
    "python": "localhost/imgclf-base/python:3.11-slim-bookworm",
}


def _unavailable(reason: str) -> None:
    if os.environ.get("IMAGES_REQUIRED") == "1":
        pytest.fail(f"{reason} (IMAGES_REQUIRED=1: make test builds the images first)")
    pytest.skip(reason)


def require_image(image: str) -> str:
    """``image``, or skip/fail with the reason it cannot be run here."""
    try:
        container_engine.require_image(image)
    except container_engine.EngineError as err:
        _unavailable(str(err))
    return image


@pytest.fixture(scope="session")
def predictor_image() -> str:
    """The predictor image from ``make images``."""
    return require_image(PREDICTOR_IMAGE)


@pytest.fixture(scope="session")
def trainer_image() -> str:
    """The trainer image from ``make images``."""
    return require_image(TRAINER_IMAGE)


def image_files(image: str, tmp: Path) -> tarfile.TarFile:
    """The image's root filesystem as a tar archive (``<engine> export`` of a container)."""
    container = container_engine.cli("create", image, "/none").stdout.strip()
    out = tmp / "rootfs.tar"
    try:
        container_engine.cli("export", "--output", str(out), container)
    finally:
        container_engine.cli("rm", container, check=False)
    return tarfile.open(out)
