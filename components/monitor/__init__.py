"""Monitor: drift between a published version's training data and its served requests."""

# The package stays light so that importing its KFP component (to compile the pipeline)
# does not load the step's dependencies: import the step's functions from their modules.
