"""The workflow's long waits that are retries: Lambda throttling, and the line for a training slot.

Step Functions retries a failed task after ``IntervalSeconds x BackoffRate^(n-1)``, capped at
``MaxDelaySeconds``; with ``JitterStrategy: FULL`` each wait is drawn uniformly between 0 and that
value [SFN: Retry, JitterType FULL "a random number between 0 and the computed backoff"]. So a
schedule has three durations worth knowing, all computed here from the same four numbers that the
state machine carries (infra/constructs/workflow_states.py writes them, tests read them back from
the synthesized template):

- ``nominal_total_s``: the sum of the computed waits, the most it can ever wait (all draws at max);
- ``expected_total_s``: half of it, what it waits on average;
- ``assured_total_s``: the expectation less four standard deviations of the sum of the uniform
  draws: waiting less than that has a probability below 1 in 15,000 (one-sided 4 sigma; the sum of
  dozens of independent uniforms is close to normal).

A promise ("retried for 30 minutes") is kept when ``assured_total_s`` covers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from pipeline.aws_retries import STATES_LAMBDA_UNAVAILABLE, states_error_name


@dataclass(frozen=True)
class RetrySchedule:
    """A capped, fully jittered exponential backoff, as a Step Functions retrier states it."""

    interval_s: int
    backoff_rate: float
    max_delay_s: int
    max_attempts: int

    def waits_s(self) -> list[float]:
        """The computed wait before each retry (before jitter)."""
        cap = float(self.max_delay_s)
        return [min(self.interval_s * self.backoff_rate**n, cap) for n in range(self.max_attempts)]

    @property
    def nominal_total_s(self) -> float:
        return sum(self.waits_s())

    @property
    def expected_total_s(self) -> float:
        return self.nominal_total_s / 2

    @property
    def assured_total_s(self) -> float:
        # Var(U(0, w)) = w^2 / 12 for each independent draw.
        sigma = math.sqrt(sum(w * w / 12 for w in self.waits_s()))
        return max(0.0, self.expected_total_s - 4 * sigma)


# -- Lambda could not run a function now ------------------------------------------------------------
# Throttled (the account's concurrency is in use, or a reservation is) or a fault of the Lambda
# service itself: the four errors AWS lists as Lambda service errors worth retrying [SFN:
# "Handling errors in Step Functions workflows", Lambda service exceptions]. They say nothing about
# the handler, whose own work has not started (or is retried idempotently), so they get a long
# schedule of their own: a run that trained for hours must not fail on minutes of account-wide
# throttling. Every other transient error keeps the short schedule.
LAMBDA_UNAVAILABLE: Final = STATES_LAMBDA_UNAVAILABLE
LAMBDA_UNAVAILABLE_PROMISE_S: Final = 30 * 60
# 2 s doubling to a 5-minute cap: quick when throttling is a blip, at most one retry per run every
# few minutes when the account is saturated (retrying faster would only add to the throttling).
LAMBDA_UNAVAILABLE_SCHEDULE: Final = RetrySchedule(
    interval_s=2, backoff_rate=2, max_delay_s=300, max_attempts=32
)

# -- In line for a training slot ----------------------------------------------------------------------
# CreateModelCustomizationJob answers ServiceQuotaExceededException while the account's concurrent
# customization jobs are all in use [BC: the operation's errors; which quota is UNCONFIRMED, see
# pipeline.quotas]. The run waits in line: the create call is retried (same job name and
# idempotency token: a retry that lands creates the one job) until a slot frees. A slot frees when
# another job ends, and jobs run for hours: from 1 minute, doubling to a 30-minute cap, for 12 to 34
# hours (assured / nominal; 17 expected), in which several jobs of any normal platform end. A run
# still refused after that points at a quota that waiting does not free (custom models per
# account) or an account over-subscribed for days: it fails as TrainingQuotaExceeded, nothing
# bought, and `start --rerun` puts it back in line. The nominal bound also keeps the longest path (a
# 14-day job, two 7-day approvals, the waits for a deployment, a judge and a throughput) within the
# state machine's 30-day limit (tests/unit/test_retries.py).
JOB_QUOTA_ERROR: Final = states_error_name("Bedrock", "ServiceQuotaExceededException")
JOB_QUEUE_SCHEDULE: Final = RetrySchedule(interval_s=60, backoff_rate=2, max_delay_s=1800, max_attempts=72)


def hours(schedule: RetrySchedule) -> str:
    """``12 to 34 hours``: how long a schedule keeps trying, assured to nominal."""
    return f"{schedule.assured_total_s / 3600:.0f} to {schedule.nominal_total_s / 3600:.0f} hours"


JOB_QUEUE_HOURS: Final = hours(JOB_QUEUE_SCHEDULE)
