"""Prepare: validate a labelled image dataset and split it into train/val/test."""

from components.prepare.dataset import DatasetSplit, prepare_dataset, read_split
from components.prepare.sources import list_labelled_files

__all__ = ["DatasetSplit", "list_labelled_files", "prepare_dataset", "read_split"]
