"""The training pipeline: wiring, compilation, and local runs."""
