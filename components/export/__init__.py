"""Export: write the image-bytes SavedModel and publish it as a new version."""

# The package stays light so that importing its KFP component (to compile the pipeline)
# does not load TensorFlow: import the step's functions from their modules.
