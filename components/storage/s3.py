"""Amazon S3 or an S3-compatible store as the object store (``s3://bucket/prefix``).

Credentials, region and endpoint come from boto3's standard chain: the
``AWS_*`` environment, the shared config and credentials files
(``AWS_PROFILE``), web identity (IRSA: ``AWS_WEB_IDENTITY_TOKEN_FILE`` and
``AWS_ROLE_ARN``), then the container and instance roles. ``AWS_ENDPOINT_URL_S3``
(or ``AWS_ENDPOINT_URL``) points the client at another S3-compatible server
(MinIO, SeaweedFS, Ceph); requests then use path-style addressing
(``<endpoint>/<bucket>/<key>``), which such servers expect.

S3 has no rename, so a publish claims its version number as on GCS
(components/storage/claiming.py); the conditional write is ``PutObject`` with
``If-None-Match: *`` (write only if no object has that key), and a publisher
that loses the race gets 412 PreconditionFailed (or 409
ConditionalRequestConflict while the other write is in flight).

Stores without conditional writes: a store that answers 501 NotImplemented
to ``If-None-Match`` makes the publish fail, naming the URI. A store that
ignores the header would let two publishers take the same number, so after
claiming, the publisher writes its claim a second time with the same
condition: the store must refuse it. When that second write succeeds, the
claim is removed and the publish fails with an error saying the store does
not enforce ``If-None-Match: *``. Nothing is published on such stores.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
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
from components.storage.claiming import ClaimingStore

_TAKEN = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_REFUSED_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
    "or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
)


class S3Store(ClaimingStore):
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

    def _check_bucket(self) -> None:
        self.client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)  # bucket and credentials

    def _create(self, name: str, content: bytes | Path) -> bool:
        """Write ``name`` only if no object has that key (``If-None-Match: *``)."""
        body = content.open("rb") if isinstance(content, Path) else nullcontext(content)
        try:
            with body as data:
                self.client.put_object(
                    Bucket=self.bucket, Key=self._key(name), Body=data, IfNoneMatch="*"
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

    def _claimed(self, name: str, claim: bytes) -> None:
        """Refuse stores that accept ``If-None-Match: *`` but do not enforce it."""
        if self._create(name, claim):
            self._delete_quietly([name])
            raise StorageError(
                f"{self.uri}/{name}: the store does not enforce If-None-Match: * (a second "
                "conditional write of the claim succeeded), so it cannot keep two publishers "
                "from taking the same version number; nothing was published"
            )

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
