"""Where dataset bytes come from: local files and S3 objects, streamed and never loaded whole.

A location is a local path or an ``s3://bucket/key`` URI. An S3 URI may also name a prefix (ending in
``/``, or a key under which objects exist), which CreateModelCustomizationJob accepts for training
data [BC]; every object under it is then read in key order.

Two kinds of failure are kept apart on purpose:

- the data is wrong or absent (missing file, compressed file, ...): reported as dataset findings, so
  the user fixes the input (CLI exit code 2, workflow branch "invalid");
- the data cannot be read (no permission, network, throttling): ``SourceAccessError``, an operational
  failure the CLI reports with exit code 1 and the workflow retries.

boto3/botocore are imported lazily so that purely local validation starts fast.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

READ_BUFFER_BYTES: Final = 1 << 20

# Compressed and binary containers, recognised by their first bytes (never by the name alone).
_MAGIC: Final = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PAR1", "Parquet"),
)
_COMPRESSED_SUFFIXES: Final = (".gz", ".gzip", ".zip", ".bz2", ".xz", ".zst")

# S3 error codes that mean "the object is not there" (user input), as opposed to access failures.
_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


class SourceAccessError(Exception):
    """A dataset could not be read for operational reasons (permissions, network, throttling)."""


@dataclass(frozen=True)
class DatasetObject:
    """One file of a dataset: a local file or one S3 object."""

    name: str  # what messages show: the path as given, or the s3:// URI
    size: int | None
    local_path: Path | None = None
    bucket: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Resolved:
    """A location turned into the objects to read, or the reason it has none."""

    objects: tuple[DatasetObject, ...]
    missing: str | None = None  # why nothing could be found (a user error)
    is_prefix: bool = False


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def compressed_kind(head: bytes) -> str | None:
    """The container format a file starts with, if it is compressed or binary rather than text."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


def has_compressed_suffix(name: str) -> bool:
    return name.lower().endswith(_COMPRESSED_SUFFIXES)


def resolve(location: str, *, s3_client: Any | None = None, base_dir: str | Path | None = None) -> Resolved:
    """Find the objects a location names. Raises ``SourceAccessError`` only for operational failures."""
    if is_s3(location):
        return _resolve_s3(location, s3_client)
    path = Path(location)
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    if path.is_dir():
        return Resolved((), missing=f"{location} is a directory; give the .jsonl file itself")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Resolved((), missing=f"{location} does not exist (looked for {path})")
    except OSError as exc:
        raise SourceAccessError(f"cannot read {location}: {exc.strerror or exc}") from exc
    return Resolved((DatasetObject(location, size, local_path=path),))


def open_object(obj: DatasetObject, *, s3_client: Any | None = None) -> BinaryIO:
    """A buffered binary stream over one object; the caller closes it."""
    if obj.local_path is not None:
        try:
            return obj.local_path.open("rb", buffering=READ_BUFFER_BYTES)
        except OSError as exc:
            raise SourceAccessError(f"cannot open {obj.name}: {exc.strerror or exc}") from exc
    assert obj.bucket is not None and obj.key is not None
    client = s3_client if s3_client is not None else default_s3_client()
    try:
        response = client.get_object(Bucket=obj.bucket, Key=obj.key)
    except Exception as exc:
        raise _access_error(exc, f"cannot read {obj.name}") from exc
    raw = _StreamingBodyReader(response["Body"], obj.name)
    return io.BufferedReader(raw, buffer_size=READ_BUFFER_BYTES)


def default_s3_client() -> Any:
    """An S3 client from the default credential chain, created only when an s3:// location is read."""
    import boto3  # deferred: local validation never pays boto3's import cost

    return boto3.client("s3")


def s3_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _access_error(exc: BaseException, what: str) -> SourceAccessError:
    code = s3_error_code(exc)
    if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
        hint = "check that your credentials (or the Lambda role) may s3:GetObject/s3:ListBucket there"
    elif code is None and type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        hint = "no AWS credentials found: configure a profile or run `aws sso login`"
    else:
        hint = "check network access to S3 and retry"
    detail = f"{code}: " if code else ""
    return SourceAccessError(f"{what}: {detail}{exc}. Next step: {hint}")


def _resolve_s3(uri: str, s3_client: Any | None) -> Resolved:
    bucket, key = split_s3(uri)
    if not bucket:
        return Resolved((), missing=f"{uri} has no bucket name")
    client = s3_client if s3_client is not None else default_s3_client()
    if key and not key.endswith("/"):
        try:
            head = client.head_object(Bucket=bucket, Key=key)
            return Resolved((DatasetObject(uri, int(head["ContentLength"]), bucket=bucket, key=key),))
        except Exception as exc:
            if s3_error_code(exc) not in _NOT_FOUND_CODES:
                raise _access_error(exc, f"cannot read {uri}") from exc
        # Not an object: it may still be a prefix ("a file or a prefix" [BC]).
        prefix = key + "/"
    else:
        prefix = key
    objects = tuple(_list_prefix(client, bucket, prefix, uri))
    if not objects:
        return Resolved(
            (), missing=f"{uri} does not exist (no object, and no objects under {prefix or 'the bucket'})"
        )
    return Resolved(objects, is_prefix=True)


def _list_prefix(client: Any, bucket: str, prefix: str, uri: str) -> Iterator[DatasetObject]:
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                key = item["Key"]
                if key.endswith("/"):  # console-created "folders" hold no data
                    continue
                yield DatasetObject(f"s3://{bucket}/{key}", int(item["Size"]), bucket=bucket, key=key)
    except Exception as exc:
        code = s3_error_code(exc)
        if code in ("NoSuchBucket",):
            return
        raise _access_error(exc, f"cannot list {uri}") from exc


class _StreamingBodyReader(io.RawIOBase):
    """Adapts botocore's StreamingBody to io so that a BufferedReader can split lines in C."""

    def __init__(self, body: Any, name: str) -> None:
        super().__init__()
        self._body = body
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:
            raise _access_error(exc, f"reading {self._name} failed") from exc
        size = len(data)
        buffer[:size] = data
        return size

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()
