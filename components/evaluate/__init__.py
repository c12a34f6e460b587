"""Evaluate: held-out test metrics and the gate that decides whether to publish."""

# The package stays light so that importing its KFP component (to compile the pipeline)
# does not load TensorFlow: import the step's functions from their modules.
