"""Train: fine-tune a Keras backbone with a new softmax head on a prepared split."""

from components.train.model import BACKBONES, build_classifier
from components.train.train import TrainParams, TrainResult, train_classifier

__all__ = ["BACKBONES", "TrainParams", "TrainResult", "build_classifier", "train_classifier"]
