"""Export: write the image-bytes SavedModel and publish it as a new version."""

from components.export.savedmodel import SERVING_SIGNATURE, export_savedmodel, verify_savedmodel

__all__ = ["SERVING_SIGNATURE", "export_savedmodel", "verify_savedmodel"]
