"""Train: fine-tune a Keras backbone with a new softmax head on a prepared split."""

# The package stays light so that importing its KFP component (to compile the pipeline)
# does not load TensorFlow: import the step's functions from their modules.
