"""What only s3:// has, against a real S3-compatible server (moto in server mode on loopback):
conditional-write checks, path-style requests, credentials. The behaviour both object
stores share is in test_storage_remote.py."""

import os
import uuid

import pytest
from botocore.awsrequest import AWSResponse

from components.errors import StorageError
from components.storage import COMPLETE_MARKER, list_versions, open_store, publish_version

FILES = (
    "saved_model.pb",
    "variables/variables.index",
    "variables/variables.data-00000-of-00001",
    "assets/labels.txt",
)


@pytest.fixture
def bucket(s3):
    return s3.create_bucket(f"models-{uuid.uuid4().hex[:8]}")


def _keys(s3, bucket: str) -> set[str]:
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def test_publish_writes_conditionally_claim_first_marker_last_path_style(bucket, export_dir):
    store = open_store(f"s3://{bucket}/team/models")
    puts, urls = [], []
    store.client.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: puts.append(params)
    )
    store.client.meta.events.register(
        "before-send.s3", lambda request, **_: urls.append(request.url)
    )
    assert store.publish(export_dir, "faces").version == 1
    # The claim first, then its check (refused), the files, the marker last; all conditional.
    keys = [p["Key"].removeprefix("team/models/faces/1/") for p in puts]
    assert keys[:2] == ["_CLAIMED", "_CLAIMED"]
    assert sorted(keys[2:-1]) == sorted(FILES)
    assert keys[-1] == COMPLETE_MARKER
    assert {p.get("IfNoneMatch") for p in puts} == {"*"}
    # The endpoint override: path-style requests, <endpoint>/<bucket>/<key>.
    endpoint = os.environ["AWS_ENDPOINT_URL_S3"]
    assert urls and all(u.startswith(f"{endpoint}/{bucket}") for u in urls)


def test_a_store_that_ignores_if_none_match_is_refused(s3, bucket, export_dir):
    store = open_store(f"s3://{bucket}/models")
    store.client.meta.events.register(  # what such a store does: the header has no effect
        "before-parameter-build.s3.PutObject", lambda params, **_: params.pop("IfNoneMatch", None)
    )
    with pytest.raises(StorageError, match=r"s3://.*/models/m/1/_CLAIMED: .* does not enforce"):
        store.publish(export_dir, "m")
    assert _keys(s3, bucket) == set()


def test_a_store_without_conditional_writes_is_refused(s3, bucket, export_dir):
    store = open_store(f"s3://{bucket}/models")

    class Body:
        def stream(self):
            yield (
                b"<Error><Code>NotImplemented</Code><Message>A header you provided implies "
                b"functionality that is not implemented</Message></Error>"
            )

    def not_implemented(request, **_):
        if "If-None-Match" in request.headers:
            return AWSResponse(request.url, 501, {}, Body())
        return None

    store.client.meta.events.register("before-send.s3.PutObject", not_implemented)
    with pytest.raises(StorageError, match=r"_CLAIMED: the store does not support conditional"):
        store.publish(export_dir, "m")
    assert _keys(s3, bucket) == set()


def test_refused_credentials_are_a_clear_error(s3, export_dir):
    from s3_emulator import S3Emulator

    checking = S3Emulator(check_keys=True)
    try:
        with pytest.raises(StorageError, match=r"s3://b/models/m: the credentials were refused "):
            publish_version(export_dir, "s3://b/models", "m")
    finally:
        checking.close()


def test_missing_credentials_name_the_variables(s3, export_dir, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StorageError, match=r"s3://b/models/m: Unable to locate credentials .*"):
        publish_version(export_dir, "s3://b/models", "m")
    with pytest.raises(StorageError, match="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        list_versions("s3://b/models", "m")
