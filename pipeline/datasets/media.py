"""The media fields of dataset records: image and video blocks of conversations (format, S3 location,
bucket owner, same bucket as the dataset where the model says so), image references and captions
of image-caption data."""

from __future__ import annotations

from typing import Any

from pipeline.datasets.records import Path, RecordContext, RecordScratch, bucket_of, s3_uri_problem
from pipeline.problems import DASH, show, type_name


def check_media(
    value: Any, kind: str, where: Path, from_assistant: bool, ctx: RecordContext, out: RecordScratch
) -> None:
    media = ctx.media
    formats = () if media is None else (media.image_formats if kind == "image" else media.video_formats)
    if not formats:
        out.error(where, f"{ctx.model_id} does not accept {kind}s in training data (text only)", "media")
        return
    if from_assistant:
        out.error(where, f"{kind}s may appear only in user turns, not in assistant turns", "media")
    if kind == "image":
        out.images += 1
    else:
        out.videos += 1
    if type(value) is not dict:
        shape = '{"format", "source": {"s3Location": {"uri"}}}'
        out.error(where, f"must be an object {shape}, got {type_name(value)}", "type")
        return
    for key in value:
        if key != "format" and key != "source":
            out.error((*where, key), f'unknown key; an {kind} holds "format" and "source"', "unknown-key")
    fmt = value.get("format")
    if fmt not in formats:
        out.error(
            (*where, "format"), f"{show(fmt)} is not supported; use one of {', '.join(formats)}", "value"
        )
    source = value.get("source")
    location = source.get("s3Location") if type(source) is dict else None
    if type(location) is not dict or set(location) - {"uri", "bucketOwner"}:
        out.error(
            (*where, "source"),
            'must be {"s3Location": {"uri": "s3://...", "bucketOwner": "<12-digit account>" (optional)}}',
            "type",
        )
        return
    owner = location.get("bucketOwner")
    if owner is not None and not (type(owner) is str and len(owner) == 12 and owner.isdigit()):
        out.error(
            (*where, "source", "s3Location", "bucketOwner"),
            f"{show(owner)} is not a 12-digit AWS account id",
            "value",
        )
    _media_uri(location.get("uri"), (*where, "source", "s3Location", "uri"), ctx, out)


def _media_uri(uri: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    if type(uri) is not str:
        out.error(where, f"must be an s3:// URI string, got {type_name(uri)}", "type")
        return
    problem = s3_uri_problem(uri)
    if problem is not None:
        out.error(where, f"{show(uri)} {problem}", "uri")
        return
    bucket = bucket_of(uri)
    media = ctx.media
    if media is not None and media.same_bucket_as_dataset:
        if ctx.dataset_bucket is not None and bucket != ctx.dataset_bucket:
            out.error(
                where,
                f"is in bucket {bucket!r}, but {ctx.model_id} needs media "
                f"in the dataset's bucket {ctx.dataset_bucket!r}",
                "media",
            )
        elif len(out.media_buckets) < RecordScratch.MAX_TRACKED_BUCKETS:
            out.media_buckets.setdefault(bucket, out.line)


def check_image_ref(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    if type(value) is not str:
        out.error(where, f"must be an s3:// URI string, got {type_name(value)}", "type")
        return
    out.images += 1
    problem = s3_uri_problem(value)
    if problem is not None:
        out.error(where, f"{show(value)} {problem}", "uri")
        return
    if not value.lower().endswith((".png", ".jpg", ".jpeg")):
        out.error(where, f"{show(value)} must point to a PNG or JPEG image (.png, .jpg, .jpeg)", "media")


def check_caption(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    if type(value) is not str:
        out.error(where, f"must be a string, got {type_name(value)}", "type")
        return
    out.in_chars += len(value)
    bounds = ctx.rules.caption_chars
    if bounds is not None and not bounds[0] <= len(value) <= bounds[1]:
        out.error(
            where,
            f"is {len(value):,} characters; {ctx.model_id} captions must "
            f"be {bounds[0]:,}{DASH}{bounds[1]:,} characters",
            "length",
        )
    elif (bounds is None or bounds[0] > 0) and value.isspace():
        out.error(where, "is whitespace only", "empty")
