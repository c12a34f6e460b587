"""Amazon S3 or an S3-compatible store as the object store (``s3://bucket/prefix``).

Credentials, region and endpoint come from boto3's standard chain: the
``AWS_*`` environment, the shared config and credentials files
(``AWS_PROFILE``), web identity (IRSA: ``AWS_WEB_IDENTITY_TOKEN_FILE`` and
``AWS_ROLE_ARN``), then the container and instance roles. ``AWS_ENDPOINT_URL_S3``
(or ``AWS_ENDPOINT_URL``) points the client at another S3-compatible server
(MinIO, SeaweedFS, Ceph); requests then use path-style addressing
(``<endpoint>/<bucket>/<key>``), which such servers expect.

S3 has no rename, so a publish claims its version number as on GCS: it creates
``<model>/<N>/_CLAIMED`` with ``PutObject`` and ``If-None-Match: *`` (write
only if no object has that key); a publisher that loses the race gets 412
PreconditionFailed (or 409 ConditionalRequestConflict while the other write
is in flight) and tries ``N+1``. Every file and ``_COMPLETE``, written last,
are conditional writes too, so nothing of another publisher's is overwritten.

Stores without conditional writes: a store that answers 501 NotImplemented
to ``If-None-Match`` makes the publish fail, naming the URI. A store that
ignores the header would let two publishers take the same number, so after
claiming, the publisher writes its claim a second time with the same
condition: the store must refuse it. When that second write succeeds, the
claim is removed and the publish fails with an error saying the store does
not enforce ``If-None-Match: *``. Nothing is published on such stores.
"""

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from components.errors import StorageError
from components.storage.base import (
    COMPLETE_MARKER,
    ObjectStore,
    PublishedVersion,
    check_publishable,
    marker_content,
)

CLAIM_MARKER = "_CLAIMED"
_MAX_CLAIM_TRIES = 100
_TAKEN = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_REFUSED_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
    "or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
)


class S3Store(ObjectStore):
    """Objects under ``s3://<bucket>/<prefix>/``."""

    def __init__(self, bucket: str, prefix: str, client: Any = None):
        self.client = client or _client()
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")

    @classmethod
    def from_uri(cls, uri: str) -> "S3Store":
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise StorageError(f"{uri}: no bucket name; use s3://bucket/prefix")
        return cls(bucket, prefix)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _root(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def exists(self) -> bool:
        with self._errors(f"listing {self.uri}"):
            page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self._root(), MaxKeys=1)
            return bool(page.get("KeyCount"))

    def list_files(self, prefix: str = "") -> list[str]:
        return sorted(self._sizes(prefix))

    def _sizes(self, prefix: str) -> dict[str, int]:
        """Name (relative to the root) -> size of every object under ``prefix``."""
        root = self._root()
        with self._errors(f"listing {self.uri}/{prefix}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root + prefix
            )
            return {
                obj["Key"][len(root) :]: obj["Size"]
                for page in pages
                for obj in page.get("Contents", [])
                if not obj["Key"].endswith("/")
            }

    def read_bytes(self, name: str) -> bytes:
        with self._errors(f"reading {self.uri}/{name}"):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def download(self, prefix: str, dest: Path) -> Path:
        prefix = prefix.rstrip("/")
        for name in self.list_files(prefix + "/"):
            target = dest / name[len(prefix) + 1 :]
            target.parent.mkdir(parents=True, exist_ok=True)
            with self._errors(f"reading {self.uri}/{name}"), target.open("wb") as out:
                body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
                shutil.copyfileobj(body, out)
        return dest

    def upload_file(self, path: Path, name: str) -> None:
        with self._errors(f"writing {self.uri}/{name}"), path.open("rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=body)

    def delete(self, names: list[str]) -> None:
        for name in names:  # deleting a missing key is not an error on S3
            with self._errors(f"removing {self.uri}/{name}"):
                self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def publish(self, src_dir: str | Path, model_name: str) -> PublishedVersion:
        src = check_publishable(src_dir, model_name)
        with self._errors(f"publishing {src} to {self.uri}/{model_name}"):
            self.client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)  # bucket and credentials
            version = self._claim(model_name)
            written: list[str] = []
            try:
                self._upload_version(src, f"{model_name}/{version}", written)
            except BaseException:
                self._delete_quietly(written + [f"{model_name}/{version}/{CLAIM_MARKER}"])
                raise
        return PublishedVersion(model_name, version, f"{self.uri}/{model_name}/{version}")

    def _claim(self, model_name: str) -> int:
        taken = {
            int(name.split("/")[1])
            for name in self.list_files(f"{model_name}/")
            if name.split("/")[1].isdigit()
        }
        version = max(taken, default=0) + 1
        claim = json.dumps({"publisher": uuid.uuid4().hex}).encode()
        for _ in range(_MAX_CLAIM_TRIES):
            name = f"{model_name}/{version}/{CLAIM_MARKER}"
            if self._put_if_absent(name, claim):
                self._check_conditional_writes(name, claim)
                return version
            version += 1  # another publisher claimed this number first
        raise StorageError(f"{self.uri}/{model_name}: could not claim a free version number")

    def _put_if_absent(self, name: str, body: Any) -> bool:
        """Write ``name`` only if no object has that key; False when one does."""
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(name), Body=body, IfNoneMatch="*"
            )
            return True
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in _TAKEN:
                return False
            if code in ("NotImplemented", "501"):
                raise StorageError(
                    f"{self.uri}/{name}: the store does not support conditional writes "
                    "(PutObject with If-None-Match: *), which publishing needs so that two "
                    "publishers never take the same version number"
                ) from err
            raise

    def _check_conditional_writes(self, name: str, claim: bytes) -> None:
        """Refuse stores that accept ``If-None-Match: *`` but do not enforce it."""
        if self._put_if_absent(name, claim):
            self._delete_quietly([name])
            raise StorageError(
                f"{self.uri}/{name}: the store does not enforce If-None-Match: * (a second "
                "conditional write of the claim succeeded), so it cannot keep two publishers "
                "from taking the same version number; nothing was published"
            )

    def _upload_version(self, src: Path, version_prefix: str, written: list[str]) -> None:
        local = {p.relative_to(src).as_posix(): p for p in sorted(src.rglob("*")) if p.is_file()}
        for rel, path in local.items():
            name = f"{version_prefix}/{rel}"
            with path.open("rb") as body:
                if not self._put_if_absent(name, body):
                    raise StorageError(f"{self.uri}/{name}: already exists")
            written.append(name)
        remote = self._sizes(version_prefix + "/")
        for rel, path in local.items():
            if remote.get(f"{version_prefix}/{rel}") != path.stat().st_size:
                raise StorageError(f"{self.uri}/{version_prefix}/{rel}: uploaded size differs")
        marker = f"{version_prefix}/{COMPLETE_MARKER}"
        if not self._put_if_absent(marker, marker_content(src).encode()):
            raise StorageError(f"{self.uri}/{marker}: already exists")

    def _delete_quietly(self, names: list[str]) -> None:
        for name in names:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
            except (ClientError, BotoCoreError):
                pass  # best effort: without _COMPLETE the leftovers are invisible anyway

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn botocore errors into one-line :class:`StorageError` s naming the operation."""
        try:
            yield
        except StorageError:
            raise
        except ClientError as err:
            raise StorageError(f"{what}: {self._client_error(err)}") from err
        except (NoCredentialsError, PartialCredentialsError) as err:
            raise StorageError(f"{what}: {err} ({_CREDENTIALS_HINT})") from err
        except (BotoCoreError, OSError) as err:
            raise StorageError(f"{what}: {err}") from err

    def _client_error(self, err: ClientError) -> str:
        error = err.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code == "NoSuchBucket":
            return f"bucket s3://{self.bucket} does not exist"
        if code in ("NoSuchKey", "404"):
            return f"not found ({message or code})"
        if code in _REFUSED_CREDENTIALS:
            return f"the credentials were refused ({code}: {message}; {_CREDENTIALS_HINT})"
        if code in ("AccessDenied", "403"):
            return f"permission denied ({message or code})"
        return f"{code}: {message}" if message else str(err)


def endpoint_override() -> str | None:
    """The S3 endpoint set in the environment, if any (AWS_ENDPOINT_URL_S3 first)."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _client() -> Any:
    """An S3 client from the standard chain; boto3 reads the endpoint variables itself.

    botocore already addresses a custom endpoint path-style; it is set here all the
    same, so that a profile's ``addressing_style`` cannot turn it off (MinIO, SeaweedFS).
    """
    config = Config(s3={"addressing_style": "path"}) if endpoint_override() else None
    return boto3.session.Session().client("s3", config=config)
