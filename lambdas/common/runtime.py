"""Handler plumbing: structured logs, lazily created clients, S3 JSON documents and settings.

Nothing here runs at import time, so tests can set the environment and activate moto or a Stubber
before the first client exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import sys
from contextlib import closing
from typing import Any, Final

import boto3
from botocore.config import Config

# Attributes every LogRecord has; anything else came in through ``extra=`` and belongs in the line.
_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)

# Bedrock runtime calls are retried by pipeline.evaluation with its own bounded backoff; botocore's
# retries on top would multiply the attempts (and the time) of every throttled prompt.
_CLIENT_CONFIGS: Final[dict[str, Config]] = {
    "bedrock-runtime": Config(retries={"total_max_attempts": 1}, read_timeout=120, connect_timeout=10),
}
_DEFAULT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 5})


class MissingSettingError(RuntimeError):
    """A required environment variable is not set: a deployment mistake, never user data."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the fields passed through ``extra=``.

    Used instead of relying on the Lambda runtime's JSON log format, so the lines look the same in
    Lambda, in tests and when a handler is run by hand.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def get_logger(name: str) -> logging.Logger:
    """A logger writing JSON lines to stdout; its level comes from the Lambda log-level settings."""
    logger = logging.getLogger(name)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        # The Lambda runtime puts its own handler on the root logger: propagating would log twice.
        logger.propagate = False
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO"
    logger.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    return logger


def region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


@functools.cache
def client(service_name: str) -> Any:
    """One client per service per container, created on first use (warm invocations reuse it)."""
    config = _CLIENT_CONFIGS.get(service_name, _DEFAULT_CONFIG)
    return boto3.client(service_name, region_name=region(), config=config)


def reset_clients() -> None:
    """Forget cached clients (tests switch between moto, Stubbers and environments)."""
    client.cache_clear()


def require_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingSettingError(
            f"environment variable {name} is not set; the stack sets it on the function "
            "(redeploy, or set it when running the handler by hand)"
        )
    return value


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key). The key may be empty (a bucket or prefix URI)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"s3 URI without a bucket: {uri!r}")
    return bucket, key


def put_json(bucket: str, key: str, doc: Any) -> str:
    """Write a JSON document and return its s3:// URI."""
    body = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False, default=str).encode("utf-8")
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return s3_uri(bucket, key)


def get_json(bucket: str, key: str) -> Any:
    # closing(), not ``with Body``: StreamingBody.__enter__ hands out the raw urllib3 stream,
    # which skips botocore's content-length check and lacks iter_lines/iter_chunks.
    response = client("s3").get_object(Bucket=bucket, Key=key)
    with closing(response["Body"]) as body:
        return json.loads(body.read())


def utc_now() -> str:
    """Now as ISO 8601 UTC with a ``Z`` suffix, to the second."""
    return dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc(value: Any) -> str | None:
    """A timestamp from an API response or a state document as ISO 8601 UTC, or None if unknown.

    Step Functions hands Bedrock timestamps over as strings or epoch numbers, boto3 as datetimes.
    """
    if value is None or value == "":
        return None
    parsed: dt.datetime | None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # Epoch seconds, or milliseconds when the number is too large to be seconds.
        seconds = value / 1000 if value > 1e11 else value
        parsed = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
