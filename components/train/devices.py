"""Pick the distribution strategy and precision from the devices TensorFlow sees.

One GPU: mixed precision (float16 compute, float32 variables). Several GPUs:
also MirroredStrategy (data parallel). CPU only: the default strategy in
float32. The same training code runs in all three cases.
"""

from dataclasses import dataclass

import keras
import tensorflow as tf


@dataclass(frozen=True)
class DevicePlan:
    """How to train on the visible devices."""

    gpus: int
    mixed_precision: bool
    mirrored: bool

    def describe(self) -> str:
        if not self.gpus:
            return "CPU, float32"
        strategy = f"MirroredStrategy over {self.gpus} GPUs" if self.mirrored else "1 GPU"
        return f"{strategy}, {'mixed_float16' if self.mixed_precision else 'float32'}"


def plan_for(gpus: int) -> DevicePlan:
    """The plan for ``gpus`` visible GPUs (pure: testable without a GPU)."""
    return DevicePlan(gpus=gpus, mixed_precision=gpus > 0, mirrored=gpus > 1)


def apply_plan(plan: DevicePlan) -> tf.distribute.Strategy:
    """Set the global precision policy and return the strategy to build the model under."""
    keras.mixed_precision.set_global_policy("mixed_float16" if plan.mixed_precision else "float32")
    return tf.distribute.MirroredStrategy() if plan.mirrored else tf.distribute.get_strategy()


def visible_gpus() -> int:
    """How many GPUs TensorFlow can use."""
    return len(tf.config.list_physical_devices("GPU"))
