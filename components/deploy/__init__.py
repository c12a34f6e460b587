"""Deploy: roll the predictor Deployment onto a published model version, or roll it back."""

# The package stays light so that importing its KFP component (to compile the pipeline)
# does not load TensorFlow: import the step's functions from their modules.
