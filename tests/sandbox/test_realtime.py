"""The sandbox's pieces that need no server: the scaled clock and the SigV4 scope parser."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from pipeline.simulation.function_urls import signed_for
from pipeline.simulation.realtime import ScaledClock
from pipeline.simulation.sandbox_events import notification_text


def test_scaled_clock_compresses_waits_and_reports_wall_clock_times() -> None:
    clock = ScaledClock(speed=1000)
    started = time.monotonic()
    assert clock.sleep(50) == 50  # 50 simulated seconds: 0.05 s of real time
    real = time.monotonic() - started
    assert 0.04 <= real < 1.0
    assert clock.elapsed() >= 50
    # A simulated moment is reported on the wall clock: now() is (about) the real time.
    assert abs((clock.now() - dt.datetime.now(tz=dt.UTC)).total_seconds()) < 1
    assert clock.at(3600) - clock.at(0) == dt.timedelta(seconds=3.6)


def test_scaled_clock_timed_waits_end_early_when_set_or_at_the_scaled_timeout() -> None:
    clock = ScaledClock(speed=1000)
    event = clock.event_class()()
    started = time.monotonic()
    assert event.wait(100) is False  # 100 simulated seconds: 0.1 s
    assert 0.09 <= time.monotonic() - started < 1.0
    threading.Timer(0.05, event.set).start()
    assert event.wait(86400) is True


def test_scaled_clock_sleeps_until_the_next_announced_change() -> None:
    clock = ScaledClock(speed=1000)
    clock.schedule(clock.elapsed() + 20)
    started = time.monotonic()
    clock.sleep_until_next(600)
    assert time.monotonic() - started < 0.3  # 20 s simulated, not 600


def test_scaled_clock_refuses_a_speed_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed=0)


def test_signed_for_reads_the_credential_scope() -> None:
    header = (
        "AWS4-HMAC-SHA256 Credential=sandbox/20261128/us-east-1/bedrock-runtime/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert signed_for(header) == ("sandbox", "us-east-1", "bedrock-runtime")
    assert signed_for("") is None
    assert signed_for("Bearer token") is None


def test_a_notification_is_printed_with_its_deadline_on_the_wall_clock_and_the_sandboxs_env() -> None:
    sent = dt.datetime(2026, 12, 7, 6, 23, 39, tzinfo=dt.UTC)
    message = (
        "Decide within 1 day (until 2026-12-08T06:23:39Z); no decision counts as a rejection.\n"
        "  Approve: bedrock-customize approve run-0123456789\n"
        '  Reject:  bedrock-customize reject run-0123456789 --reason "..."'
    )

    text = notification_text("Approve?", message, sent, 600.0)

    assert text.startswith("[06:23:39 UTC] notification (SNS): Approve?\n")
    assert "    Decide within 1 day (until 2026-12-08T06:23:39Z)" in text  # as the topic sent it
    assert "at 600x that is 06:26:03 UTC, in 2m 24s" in text  # 1 day / 600 = 144 s
    assert "approve run-0123456789 --env sandbox" in text and "(--env sandbox added by the sandbox" in text
