"""Prepare: validate a folder-per-class image dataset and split it into train/val/test."""

from components.prepare.dataset import DatasetSplit, prepare_dataset, read_split, scan_dataset

__all__ = ["DatasetSplit", "prepare_dataset", "read_split", "scan_dataset"]
