"""Handler plumbing: Powertools observability, lazily created clients, S3 JSON documents and settings.

Logs, traces and metrics follow Powertools for AWS Lambda (Python), which the functions take from
the AWS-published layer (infra.constructs.pipeline_function): one ``Logger``, ``Tracer`` and
``Metrics`` per process, applied to a handler with :func:`observed`.

- Logs are JSON lines on stdout; every line of an invocation carries the run id (``runId``) and
  the Lambda context, plus whatever the call passes through ``extra=``.
- The tracer records the handler and, through the X-Ray SDK's patching of botocore, every S3,
  Bedrock and SNS call. Outside Lambda (tests, ``bedrock-customize simulate``) Powertools turns it
  off: nothing is patched and nothing is sent.
- Metrics are CloudWatch embedded-metric-format lines on stdout, flushed when the handler returns
  or raises; names and dimensions are in :mod:`lambdas.common.metric_names`.

No client is created at import time, so tests can set the environment and activate moto or a
Stubber before the first client exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from contextlib import closing
from typing import Any, Final, TypeVar, cast

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common import metric_names
from pipeline.aws_retries import client_config
from pipeline.aws_retries import error_code as error_code

SERVICE_ENV: Final = "POWERTOOLS_SERVICE_NAME"
# The name used where no stack set POWERTOOLS_SERVICE_NAME (tests, a handler run by hand).
DEFAULT_SERVICE: Final = "bedrock-customization"


class MissingSettingError(RuntimeError):
    """A required environment variable is not set: a deployment mistake, never user data."""


class _StandardOutput:
    """Writes to whatever ``sys.stdout`` is at the time of the write.

    A handler bound to the stream object of import time would miss a test's captured stdout and
    the per-invocation capture of ``bedrock-customize simulate``; in Lambda both are the same.
    """

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


# Read once, at import: Lambda sets the environment before it loads the handler module.
SERVICE: Final = os.environ.get(SERVICE_ENV) or DEFAULT_SERVICE
LOGGER: Final = Logger(
    service=SERVICE,
    logger_handler=logging.StreamHandler(_StandardOutput()),
    utc=True,
    use_rfc3339=True,
)
# The Lambda runtime puts its own handler on the root logger (and the simulation one of its own):
# propagating would log every line twice.
logging.getLogger(LOGGER.name).propagate = False
# Disabled by Powertools itself unless running in Lambda (LAMBDA_TASK_ROOT set, not SAM local);
# enabled, it patches botocore, so every AWS call of the handler becomes a subsegment.
TRACER: Final = Tracer(service=SERVICE)
METRICS: Final = Metrics(namespace=metric_names.NAMESPACE, service=SERVICE)

_cold_start = True
Handler = TypeVar("Handler", bound=Callable[..., Any])


def run_id_of(event: Any) -> str | None:
    """The run id an event carries: ``runId`` (workflow steps), ``executionName`` (preflight) or the
    execution name of an EventBridge execution status change (run_ended)."""
    if not isinstance(event, dict):
        return None
    detail = event.get("detail")
    for value in (
        event.get("runId"),
        event.get("executionName"),
        detail.get("name") if isinstance(detail, dict) else None,
    ):
        if isinstance(value, str) and value:
            return value
    return None


def _bind_invocation(event: Any, context: Any) -> None:
    """Start the invocation's log keys afresh: a warm container keeps the previous run's otherwise."""
    global _cold_start
    cold_start, _cold_start = _cold_start, False
    LOGGER.clear_state()
    keys = {
        "runId": run_id_of(event),
        "cold_start": cold_start,
        "function_name": getattr(context, "function_name", None),
        "function_request_id": getattr(context, "aws_request_id", None),
    }
    LOGGER.append_keys(**{key: value for key, value in keys.items() if value is not None})
    METRICS.clear_metrics()


def observed(handler: Handler) -> Handler:
    """Powertools around a Lambda handler: run id and context on every log line, a trace of the
    invocation (its response is not recorded: it may be large), and the metrics it added, flushed
    once whether it returns or raises."""

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        _bind_invocation(event, context)
        try:
            return handler(event, context)
        finally:
            # Powertools' log_metrics warns on every invocation without metrics; most have none.
            if METRICS.metric_set:
                METRICS.flush_metrics()

    return cast(Handler, TRACER.capture_lambda_handler(invoke, capture_response=False))


def add_metric(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    """One data point, flushed with the invocation's other metrics (dimension: service)."""
    METRICS.add_metric(name=name, unit=unit, value=value)


def add_metric_with(
    name: str, value: float, dimensions: dict[str, str], unit: MetricUnit = MetricUnit.Count
) -> None:
    """One data point with dimensions of its own besides service, written at once (a metric of the
    invocation's set would give every other metric of the set those dimensions too)."""
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=metric_names.NAMESPACE,
        default_dimensions={metric_names.SERVICE: SERVICE, **dimensions},
    ):
        pass


def get_logger(name: str) -> Logger:
    """The process's Powertools logger (one per process, as Powertools recommends).

    ``name`` (the calling module) is accepted for the call sites' sake; each line says where it
    was logged in ``location`` (function and line).
    """
    return LOGGER


def region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


@functools.cache
def client(service_name: str) -> Any:
    """One client per service per container, created on first use (warm invocations reuse it)."""
    return boto3.client(service_name, region_name=region(), config=client_config(service_name))


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


def hours_between(start: Any, end: Any) -> float | None:
    """Hours from ``start`` to ``end`` (any timestamp :func:`iso_utc` reads), or None if either is
    unknown or the span is negative."""
    first, last = iso_utc(start), iso_utc(end)
    if first is None or last is None:
        return None
    try:
        span = dt.datetime.fromisoformat(last.replace("Z", "+00:00")) - dt.datetime.fromisoformat(
            first.replace("Z", "+00:00")
        )
    except ValueError:
        return None
    hours = span.total_seconds() / 3600
    return hours if hours >= 0 else None
