"""Errors a user can act on.

Hierarchy::

    StepError            base: one line that names the input at fault
    ├── DataError        the dataset is missing, empty or holds a bad file
    ├── StorageError     the object store cannot be read or written
    └── GateError        the model did not clear the evaluation gate
"""


class StepError(Exception):
    """A pipeline step failed for a reason the user can fix."""


class DataError(StepError):
    """The dataset is missing, malformed, or contains a file that is not an image."""


class StorageError(StepError):
    """An object-store URI is invalid, unreachable, or a publish could not complete."""


class GateError(StepError):
    """The trained model did not clear the evaluation gate."""
