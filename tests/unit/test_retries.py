"""The long retry schedules keep their promises, computed from the numbers the workflow carries."""

from __future__ import annotations

import random

import pytest

from pipeline import plan
from pipeline.poll import DEPLOYMENT_WAIT_LIMIT_S, JUDGE_WAIT_LIMIT_S, PT_WAIT_LIMIT_S
from pipeline.retries import (
    JOB_QUEUE_SCHEDULE,
    LAMBDA_UNAVAILABLE_PROMISE_S,
    LAMBDA_UNAVAILABLE_SCHEDULE,
    RetrySchedule,
)

DAY = 24 * 3600


def test_waits_double_from_the_interval_up_to_the_cap() -> None:
    schedule = RetrySchedule(interval_s=2, backoff_rate=2, max_delay_s=10, max_attempts=5)
    assert schedule.waits_s() == [2, 4, 8, 10, 10]
    assert schedule.nominal_total_s == 34
    assert schedule.expected_total_s == 17


def test_the_assured_total_is_met_by_simulated_jittered_schedules() -> None:
    # Given the throttle schedule drawn 2,000 times with FULL jitter (uniform from 0 to each wait)
    rng = random.Random(20)
    totals = [sum(rng.uniform(0, w) for w in LAMBDA_UNAVAILABLE_SCHEDULE.waits_s()) for _ in range(2000)]
    # Then none waited less than the assured total, and the mean is the expected one
    assert min(totals) >= LAMBDA_UNAVAILABLE_SCHEDULE.assured_total_s
    assert sum(totals) / len(totals) == pytest.approx(LAMBDA_UNAVAILABLE_SCHEDULE.expected_total_s, rel=0.02)


def test_lambda_throttling_is_retried_for_half_an_hour_at_least() -> None:
    assert LAMBDA_UNAVAILABLE_SCHEDULE.assured_total_s >= LAMBDA_UNAVAILABLE_PROMISE_S == 30 * 60
    # The old schedule (2 s doubling, 60 s cap, 6 attempts) gave up after about 2 minutes.
    old = RetrySchedule(interval_s=2, backoff_rate=2, max_delay_s=60, max_attempts=6)
    assert old.nominal_total_s < 180 and old.assured_total_s < LAMBDA_UNAVAILABLE_PROMISE_S


def test_the_training_queue_is_bounded_within_the_workflow_limit() -> None:
    # A run waits in line for half a day at least, a day and a half at most.
    assert JOB_QUEUE_SCHEDULE.assured_total_s >= 12 * 3600
    assert JOB_QUEUE_SCHEDULE.nominal_total_s <= 36 * 3600
    # The longest path still fits the state machine's 30-day timeout: the longest job the plan
    # allows, two approvals at the run spec's longest timeout (168 h), the vehicle, judge and
    # throughput waits, and the queue at its most.
    longest = (
        plan._JOB_TIMEOUT_MAX_S
        + 2 * 168 * 3600
        + DEPLOYMENT_WAIT_LIMIT_S
        + JUDGE_WAIT_LIMIT_S
        + PT_WAIT_LIMIT_S
        + JOB_QUEUE_SCHEDULE.nominal_total_s
    )
    assert longest < 30 * DAY
