"""The retrying release: what cannot be deleted yet is tried again until it is gone, or a deadline
passes and an alarm goes off. Never a normal return with something still billing.

The cleanup (the workflow's failure path and the release of the evaluation vehicle) and the
stopped-run cleanup delete what they can at once. What Bedrock refuses for now (a throughput still
Creating answers ``ConflictException`` for tens of minutes), and, after an abort or a timeout, what
a create call still in flight may yet bring into being, they *hand over*: they start an execution of
the stack's release state machine (infra/constructs/durable_release.py) with a :func:`request`.
That state machine calls ``lambdas.release`` once per attempt, which releases what is left (by the
known ARNs and, for a whole run, by the run's names, always only what this execution owns), and
answers when to look again (:func:`attempt_result`): done when nothing is pending and the catch-up
window is over; expired when something is still pending at the deadline (the state machine fails,
which alarms, and the release sends a notice with the commands). In between it waits, doubling from
:data:`FIRST_WAIT_S` up to :data:`MAX_WAIT_S`. A failed attempt (an error after the retries of the
task) waits :data:`FAILED_ATTEMPT_WAIT_S` and tries again; the state machine's timeout
(:data:`STATE_MACHINE_TIMEOUT`) bounds even a release whose every attempt fails.

If handing over fails, the handler fails: Lambda's retries and the dead-letter queue engage, and
the error alarm goes off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pipeline.ownership import Execution

# How the stack marks the release state machine in the template (the simulation tells it apart).
ROLE_METADATA: Final = "bedrock-customization:state-machine"
ROLE_RELEASE: Final = "release"
SCOPE_RUN: Final = "run"  # everything the run created (found by its names each attempt)
SCOPE_VEHICLE: Final = "vehicle"  # only the listed targets: the run goes on and serves
SCOPES: Final = (SCOPE_RUN, SCOPE_VEHICLE)

# Bedrock brings a throughput online in tens of minutes (bedrock.md §5: "Creating" until InService;
# the guide gives no bound). A day covers any creation that ever ends; what still stands then needs
# a person: the state machine fails (alarm) and a notice names each resource and its command.
DEADLINE: Final = dt.timedelta(hours=24)
# The state machine's own timeout: the deadline plus one full last attempt and its notice.
STATE_MACHINE_TIMEOUT: Final = DEADLINE + dt.timedelta(hours=1)
# After an abort or a timeout a create call may still be in flight: the deploy handler runs for up to
# its 30 s timeout after the execution stopped, the judge handler up to 5 min, a Step Functions SDK
# call seconds (tests/infra/test_durable_release.py pins this against the functions' timeouts).
# The release keeps looking by name this long after the run ended, even when nothing is pending.
CATCH_UP: Final = dt.timedelta(minutes=15)
FIRST_WAIT_S: Final = 60
MAX_WAIT_S: Final = 600
FAILED_ATTEMPT_WAIT_S: Final = 300
EXECUTION_NAME_MAX: Final = 80
ALREADY: Final = "ExecutionAlreadyExists"
NO_EXECUTION: Final = "ExecutionDoesNotExist"


def request(
    run_id: str,
    execution: Execution,
    scope: str,
    *,
    targets: Iterable[Mapping[str, str]],
    handed_over_at: str,
    catch_up: bool,
) -> dict[str, Any]:
    """What the release state machine is started with (``$.request``).

    Its clock is the schedule itself, as for every wait of the workflow: an attempt's time since
    the hand-over is the sum of the waits before it (the real time is that plus the attempts' own
    seconds), so the windows below are never shorter than they say."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    return {
        "runId": run_id,
        "execution": execution.to_dict(),
        "scope": scope,
        "targets": [{"kind": str(t["kind"]), "arn": str(t["arn"])} for t in targets],
        "handedOverAt": handed_over_at,
        "catchUpSeconds": int(CATCH_UP.total_seconds()) if catch_up else 0,
        "deadlineSeconds": int(DEADLINE.total_seconds()),
    }


def execution_name(run_id: str, execution: Execution, scope: str) -> str:
    """One release execution per run execution and scope: a second hand-over of the same is refused
    by Step Functions (``ExecutionAlreadyExists``), and the first one already covers it."""
    digest = hashlib.sha256(f"{execution.arn}\n{execution.start}".encode()).hexdigest()[:10]
    suffix = f"-{digest}-{scope}"
    return f"{run_id[: EXECUTION_NAME_MAX - len(suffix)].rstrip('-_')}{suffix}"


def hand_over(
    sfn: Any, state_machine_arn: str, handed: Mapping[str, Any], error_code: Callable[[Exception], str]
) -> tuple[str, bool]:
    """Start the retrying release for ``handed`` (a :func:`request`): (its execution ARN, whether
    this call started it).

    Already started for this execution and scope: that release covers it (its ARN is returned).
    That is asked first (DescribeExecution): StartExecution answers a repeated name with the same
    input as a success [Step Functions API reference, StartExecution: "idempotent"], so its answer
    alone cannot tell a joined release from a new one.
    Any other error escapes: the handler fails loudly rather than leave something billing unwatched.
    """
    execution = Execution(**handed["execution"])
    name = execution_name(str(handed["runId"]), execution, str(handed["scope"]))
    existing = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
    try:
        sfn.describe_execution(executionArn=existing)
    except Exception as error:
        if error_code(error) != NO_EXECUTION:
            raise
    else:
        return existing, False
    try:
        started = sfn.start_execution(
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps({"request": dict(handed), "attempt": None}),
        )
    except Exception as error:
        if error_code(error) == ALREADY:
            return existing, False
        raise
    return str(started["executionArn"]), True


def next_wait(previous: Mapping[str, Any] | None) -> tuple[int, int, int]:
    """(this attempt's number, seconds since the hand-over by the schedule, the wait before the
    next attempt): waits double from FIRST_WAIT_S, capped at MAX_WAIT_S."""
    if not previous:
        return 1, 0, FIRST_WAIT_S
    attempt = int(previous.get("attempt") or 0) + 1
    waited = int(previous.get("waitSeconds") or 0)
    elapsed = int(previous.get("elapsedSeconds") or 0) + waited
    return attempt, elapsed, min(max(waited, FIRST_WAIT_S // 2) * 2, MAX_WAIT_S)


def attempt_result(
    handed: Mapping[str, Any], previous: Mapping[str, Any] | None, *, pending: list[dict[str, str]]
) -> dict[str, Any]:
    """Whether the release is done, has expired, or looks again after ``waitSeconds``.

    ``pending``: what this attempt owns but could not delete yet. Done: nothing pending and the
    catch-up window over. Expired: something still pending once the deadline is reached."""
    attempt, elapsed, wait = next_wait(previous)
    done = not pending and elapsed >= int(handed.get("catchUpSeconds") or 0)
    expired = bool(pending) and elapsed >= int(handed["deadlineSeconds"])
    return {
        "attempt": attempt,
        "elapsedSeconds": elapsed,
        "done": done,
        "expired": expired,
        "waitSeconds": wait,
        "pending": pending,
    }
