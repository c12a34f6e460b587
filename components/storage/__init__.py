"""Object stores for datasets and published models: a local directory, ``gs://`` or ``s3://``.

A URI is a local path, a ``file://`` URI, ``gs://bucket/prefix`` or
``s3://bucket/prefix``. Published models follow TensorFlow Serving's layout::

    <model_base>/<model_name>/<version>/saved_model.pb, variables/, assets/labels.txt,
                                        metadata.json, _COMPLETE

``_COMPLETE`` is written last and lists every file with its size. Readers (the
Go predictor, :func:`list_versions`) treat a version without it as not
published, so a crashed or partial publish is never served.
"""

from components.storage.base import COMPLETE_MARKER, ObjectStore, PublishedVersion
from components.storage.uri import local_path, open_store


def list_versions(model_base_uri: str, model_name: str) -> list[int]:
    """Return the complete (published) versions of a model, in ascending order."""
    return open_store(model_base_uri).versions(model_name)


def publish_version(src_dir, model_base_uri: str, model_name: str) -> PublishedVersion:
    """Publish an exported SavedModel directory as the next version of ``model_name``.

    See :meth:`ObjectStore.publish` for the guarantees.
    """
    return open_store(model_base_uri).publish(src_dir, model_name)


__all__ = [
    "COMPLETE_MARKER",
    "ObjectStore",
    "PublishedVersion",
    "list_versions",
    "local_path",
    "open_store",
    "publish_version",
]
