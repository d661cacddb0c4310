"""Reading datasets from S3: objects, prefixes, streaming, and telling input errors from access errors."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pipeline.datasets import validate_dataset
from pipeline.datasets.sources import READ_BUFFER_BYTES, SourceAccessError

BUCKET = "training-data-bucket"
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"


def record(i: int, *, image_uri: str | None = None) -> dict[str, Any]:
    user: list[dict[str, Any]] = [{"text": f"question {i}"}]
    if image_uri:
        user.append({"image": {"format": "png", "source": {"s3Location": {"uri": image_uri}}}})
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": [{"text": f"answer {i}"}]},
        ],
    }


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_s3_object_is_validated_and_named_by_its_uri(s3: Any) -> None:
    s3.put_object(
        Bucket=BUCKET, Key="datasets/train.jsonl", Body=jsonl([record(i) for i in range(9)]) + b"oops\n"
    )
    uri = f"s3://{BUCKET}/datasets/train.jsonl"

    report = validate_dataset(uri, NOVA_MICRO, "FINE_TUNING", s3_client=s3)

    assert report.records == 10
    assert [str(e) for e in report.errors] == [f"{uri}:10: record: invalid JSON: Expecting value at column 1"]
    assert report.bytes == len(jsonl([record(i) for i in range(9)]) + b"oops\n")


def test_prefix_reads_every_object_in_key_order(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="datasets/run/part-1.jsonl", Body=jsonl([record(i) for i in range(5)]))
    s3.put_object(
        Bucket=BUCKET, Key="datasets/run/part-2.jsonl", Body=jsonl([record(i) for i in range(4, 9)])
    )
    s3.put_object(Bucket=BUCKET, Key="datasets/run/", Body=b"")  # a console "folder"

    report = validate_dataset(f"s3://{BUCKET}/datasets/run/", NOVA_MICRO, "FINE_TUNING", s3_client=s3)

    assert report.files == [
        f"s3://{BUCKET}/datasets/run/part-1.jsonl",
        f"s3://{BUCKET}/datasets/run/part-2.jsonl",
    ]
    assert report.records == 10 and report.ok
    (duplicate,) = [w for w in report.warnings if w.kind == "duplicate"]
    assert duplicate.file.endswith("part-2.jsonl") and duplicate.line == 1
    assert duplicate.problem == f"duplicate of line 5 of s3://{BUCKET}/datasets/run/part-1.jsonl"


def test_prefix_without_trailing_slash_is_found(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="datasets/run/part-1.jsonl", Body=jsonl([record(i) for i in range(10)]))

    assert validate_dataset(f"s3://{BUCKET}/datasets/run", NOVA_MICRO, "FINE_TUNING", s3_client=s3).ok


def test_missing_object_and_bucket_are_input_errors(s3: Any) -> None:
    missing = validate_dataset(f"s3://{BUCKET}/nope.jsonl", NOVA_MICRO, "FINE_TUNING", s3_client=s3)
    no_bucket = validate_dataset("s3://no-such-bucket-here/x.jsonl", NOVA_MICRO, "FINE_TUNING", s3_client=s3)

    assert [e.kind for e in missing.errors] == ["not-found"]
    assert "does not exist" in missing.errors[0].problem
    assert [e.kind for e in no_bucket.errors] == ["not-found"]


def test_gzip_object_is_rejected(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="train.jsonl", Body=gzip.compress(jsonl([record(i) for i in range(10)])))

    report = validate_dataset(f"s3://{BUCKET}/train.jsonl", NOVA_MICRO, "FINE_TUNING", s3_client=s3)

    assert [e.kind for e in report.errors] == ["compressed"]


def test_nova_media_must_share_the_dataset_bucket(s3: Any) -> None:
    lines = [record(i, image_uri=f"s3://{BUCKET}/img/{i}.png") for i in range(9)]
    lines.append(record(9, image_uri="s3://other-bucket/img/9.png"))
    s3.put_object(Bucket=BUCKET, Key="train.jsonl", Body=jsonl(lines))

    report = validate_dataset(f"s3://{BUCKET}/train.jsonl", NOVA_LITE, "FINE_TUNING", s3_client=s3)

    (error,) = report.errors
    assert (error.line, error.kind) == (10, "media")
    assert f"dataset's bucket '{BUCKET}'" in error.problem


def test_nova_s3_key_with_characters_nova_refuses(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="data/train+v2.jsonl", Body=jsonl([record(i) for i in range(10)]))

    report = validate_dataset(f"s3://{BUCKET}/data/train+v2.jsonl", NOVA_MICRO, "FINE_TUNING", s3_client=s3)

    assert [e.kind for e in report.errors] == ["uri", "file-name"]


class _GuardedBody:
    """A StreamingBody stand-in that fails the test if anyone reads it whole."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self.reads: list[int] = []

    def read(self, amt: int | None = None) -> bytes:
        assert amt is not None and amt <= READ_BUFFER_BYTES, f"read({amt}) would load the object whole"
        self.reads.append(amt)
        data: bytes = self._body.read(amt)
        return data

    def close(self) -> None:
        self._body.close()


class _Client:
    """Delegates to a real (moto) client, optionally guarding bodies or failing calls."""

    def __init__(self, inner: Any, *, fail: str | None = None, code: str = "AccessDenied") -> None:
        self._inner = inner
        self._fail = fail
        self._code = code
        self.bodies: list[_GuardedBody] = []

    def __getattr__(self, name: str) -> Any:
        if name == self._fail:

            def failing(*_: Any, **__: Any) -> Any:
                raise ClientError({"Error": {"Code": self._code, "Message": "denied"}}, name)

            return failing
        return getattr(self._inner, name)

    def get_object(self, **kwargs: Any) -> Any:
        if self._fail == "get_object":
            raise ClientError({"Error": {"Code": self._code, "Message": "denied"}}, "GetObject")
        response = self._inner.get_object(**kwargs)
        body = _GuardedBody(response["Body"])
        self.bodies.append(body)
        return {**response, "Body": body}


def test_objects_are_streamed_in_bounded_reads(s3: Any) -> None:
    # 3 MiB of records: several reads, none larger than the buffer
    big = jsonl([record(i) for i in range(30_000)])
    s3.put_object(Bucket=BUCKET, Key="train.jsonl", Body=big)
    client = _Client(s3)

    report = validate_dataset(f"s3://{BUCKET}/train.jsonl", NOVA_MICRO, "FINE_TUNING", s3_client=client)

    assert report.records == 30_000
    assert len(client.bodies[0].reads) >= 3


@pytest.mark.parametrize("call", ["head_object", "get_object", "get_paginator"])
def test_access_failures_are_operational_errors_with_a_next_step(s3: Any, call: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="train.jsonl", Body=jsonl([record(0)]))
    location = f"s3://{BUCKET}/train.jsonl" if call != "get_paginator" else f"s3://{BUCKET}/prefix/"

    with pytest.raises(SourceAccessError, match=r"AccessDenied.*s3:GetObject"):
        validate_dataset(location, NOVA_MICRO, "FINE_TUNING", s3_client=_Client(s3, fail=call))


def test_throttling_is_operational_too(s3: Any) -> None:
    with pytest.raises(SourceAccessError, match=r"SlowDown.*retry"):
        validate_dataset(
            f"s3://{BUCKET}/train.jsonl",
            NOVA_MICRO,
            "FINE_TUNING",
            s3_client=_Client(s3, fail="head_object", code="SlowDown"),
        )
