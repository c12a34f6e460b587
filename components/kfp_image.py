"""The container image that every pipeline component runs in on a cluster.

Built from Dockerfiles/trainer.Dockerfile; it has this package installed, so a
component's function body can import ``components.*``. kfp.local runs the same
functions in subprocesses of the current environment and ignores the image.
"""

import os

TRAINER_IMAGE = os.environ.get("IMGCLF_TRAINER_IMAGE", "ghcr.io/imgclf/trainer:0.1.0")
