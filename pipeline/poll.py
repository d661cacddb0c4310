"""Polling what Bedrock creates without telling anyone: deployments and Provisioned Throughput.

Neither sends a state-change event, so the workflow waits, checks, and waits again along the
plan's poll schedule (doubling from 30 s, capped, see ``pipeline.plan.poll_schedule``). This is the
pure bookkeeping of one check, shared by the status-check Lambda and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

# Serving: a deployment is Active, a throughput InService. Failed is final for both.
READY: Final = frozenset({"Active", "InService"})
FAILED: Final = frozenset({"Failed"})


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
