"""Polling what Bedrock creates without telling anyone: deployments and Provisioned Throughput.

Neither sends a state-change event, so the workflow waits, checks, and waits again along the
plan's poll schedule (doubling from 30 s, capped, see ``pipeline.plan.poll_schedule``). This is the
pure bookkeeping of one check, shared by the status-check Lambda and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

# How long the workflow waits for what it creates, and how long the comparison may take. The plan
# turns the waits into poll schedules; costs turn them into the planned hours of an evaluation
# throughput; the workflow's functions get their timeouts from them.
#
# Throughput usually comes online in minutes; a purchase still Creating after 3 h is treated as
# failed and (without commitment) released.
PT_WAIT_LIMIT_S: Final = 3 * 3600
# An on-demand deployment has been seen Active after ~8 min (third party, bedrock.md §12); one
# still Creating after 1 h is treated as failed and deleted.
DEPLOYMENT_WAIT_LIMIT_S: Final = 3600
# An evaluation job with a judge: how long one takes is not published. One still InProgress after
# 4 h is treated as failed (UNCONFIRMED limit).
JUDGE_WAIT_LIMIT_S: Final = 4 * 3600
# The comparison with the base model runs in one Lambda invocation: 15 minutes is Lambda's limit,
# and the evaluation stops starting prompts a minute before it (pipeline.evaluation).
EVALUATE_TIME_LIMIT_S: Final = 15 * 60

# Serving: a deployment is Active, a throughput InService; a slot's in-place model change is
# UpdateCompleted (pipeline.slots.update_progress). Failed / UpdateFailed are final.
READY: Final = frozenset({"Active", "InService", "UpdateCompleted"})
FAILED: Final = frozenset({"Failed", "UpdateFailed"})


def next_check(status: str, previous: Mapping[str, Any] | None, schedule: Sequence[int]) -> dict[str, Any]:
    """The verdict of this check and, if the wait goes on, how long until the next one.

    ``schedule[i]`` is the wait before check ``i + 1`` (the workflow's first wait is
    ``schedule[0]``); after ``len(schedule) - 1`` checks a resource that is neither ready nor failed
    has timed out.
    """
    attempt = int((previous or {}).get("attempt") or 0) + 1
    max_checks = max(1, len(schedule) - 1)
    ready = status in READY
    failed = status in FAILED
    timed_out = not ready and not failed and attempt >= max_checks
    wait = int(schedule[min(attempt, len(schedule) - 1)]) if schedule else 60
    return {
        "status": status,
        "ready": ready,
        "failed": failed,
        "timedOut": timed_out,
        "attempt": attempt,
        "waitSeconds": wait,
    }
