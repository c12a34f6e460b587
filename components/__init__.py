"""Pipeline steps: plain, testable functions per step plus thin KFP component wrappers.

Each step lives in its own package (prepare, train, evaluate, export). The plain
functions take paths/URIs and return dataclasses; ``component.py`` in each package
wraps them for Kubeflow Pipelines, and ``__main__.py`` exposes them as a CLI.
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) hides the steps' own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
