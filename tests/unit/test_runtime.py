"""lambdas.common.runtime: JSON log lines, S3 URIs, timestamps and settings."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from lambdas.common import runtime


def test_log_lines_are_json_with_the_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    logger = runtime.get_logger("tests.runtime")
    logger.info("loss gate", extra={"runId": "r-1", "passed": False, "when": dt.date(2026, 1, 2)})
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["message"] == "loss gate"
    assert (first["level"], first["service"], first["runId"], first["passed"]) == (
        "INFO",
        runtime.SERVICE,
        "r-1",
        False,
    )
    assert first["location"].startswith("test_log_lines_are_json_with_the_extra_fields:")
    assert first["when"] == "2026-01-02"
    assert first["timestamp"].endswith("+00:00")
    assert "ValueError: boom" in second["exception"]


def test_every_module_shares_one_logger_with_one_handler() -> None:
    assert runtime.get_logger("tests.a") is runtime.get_logger("tests.b") is runtime.LOGGER
    own = [h for h in logging.getLogger(runtime.LOGGER.name).handlers if type(h) is logging.StreamHandler]
    assert len(own) == 1


def test_s3_uris_round_trip() -> None:
    assert runtime.parse_s3_uri("s3://bucket/a/b.jsonl") == ("bucket", "a/b.jsonl")
    assert runtime.parse_s3_uri("s3://bucket") == ("bucket", "")
    assert runtime.s3_uri("bucket", "a/b") == "s3://bucket/a/b"
    for bad in ("https://bucket/key", "s3:///key", ""):
        with pytest.raises(ValueError):
            runtime.parse_s3_uri(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2026-11-27T08:00:00Z"),
        ("2026-11-27T08:00:00.123Z", "2026-11-27T08:00:00Z"),
        ("2026-11-27 08:00:00", "2026-11-27T08:00:00Z"),
        (1_796_112_000, "2026-12-01T08:00:00Z"),
        (1_796_112_000_000, "2026-12-01T08:00:00Z"),
        (None, None),
        ("", None),
    ],
)
def test_timestamps_become_iso_utc(value: object, expected: str | None) -> None:
    assert runtime.iso_utc(value) == expected


def test_missing_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAINING_BUCKET", raising=False)
    with pytest.raises(runtime.MissingSettingError, match="TRAINING_BUCKET"):
        runtime.require_env("TRAINING_BUCKET")
    monkeypatch.setenv("TRAINING_BUCKET", " bucket ")
    assert runtime.require_env("TRAINING_BUCKET") == "bucket"


def test_clients_are_created_once_and_use_the_environment_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    runtime.reset_clients()
    try:
        assert runtime.client("s3") is runtime.client("s3")
        assert runtime.client("s3").meta.region_name == "us-west-2"
        # Throttling retries for Converse are pipeline.evaluation's, not botocore's on top.
        assert runtime.client("bedrock-runtime").meta.config.retries["total_max_attempts"] == 1
    finally:
        runtime.reset_clients()
