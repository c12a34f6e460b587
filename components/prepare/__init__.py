"""Prepare: validate a labelled image dataset and split it into train/val/test."""

# The package stays light so that importing its KFP component (to compile the pipeline)
# does not load TensorFlow: import the step's functions from their modules.
