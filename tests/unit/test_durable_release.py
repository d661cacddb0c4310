"""pipeline.durable_release: the retrying release's request, its schedule, and when it is over."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline import durable_release
from pipeline.durable_release import (
    CATCH_UP,
    DEADLINE,
    FIRST_WAIT_S,
    MAX_WAIT_S,
    attempt_result,
    execution_name,
    request,
)
from pipeline.ownership import Execution
from tests.handlers import plans

OWNER = Execution(plans.EXECUTION_ARN, plans.EXECUTION_START)
PENDING = [{"kind": "throughput", "arn": plans.PT_ARN, "reason": "Creating"}]


def _request(*, catch_up: bool = False, scope: str = "run") -> dict[str, Any]:
    return request(
        plans.RUN_ID,
        OWNER,
        scope,
        targets=PENDING,
        handed_over_at="2026-11-27T09:00:00Z",
        catch_up=catch_up,
    )


def test_the_request_names_the_execution_and_only_kind_and_arn_of_each_target() -> None:
    handed = _request(catch_up=True)
    assert handed["execution"] == {"arn": plans.EXECUTION_ARN, "start": plans.EXECUTION_START}
    assert handed["targets"] == [{"kind": "throughput", "arn": plans.PT_ARN}]
    assert handed["catchUpSeconds"] == CATCH_UP.total_seconds()
    assert handed["deadlineSeconds"] == DEADLINE.total_seconds()
    assert _request()["catchUpSeconds"] == 0
    with pytest.raises(ValueError, match="scope"):
        _request(scope="everything")


def test_waits_double_from_the_first_up_to_the_cap_and_the_schedule_is_the_clock() -> None:
    handed, previous = _request(), None
    waits, elapsed = [], []
    for _ in range(8):
        previous = attempt_result(handed, previous, pending=PENDING)
        waits.append(previous["waitSeconds"])
        elapsed.append(previous["elapsedSeconds"])
    assert waits == [60, 120, 240, 480, 600, 600, 600, 600]
    assert waits[0] == FIRST_WAIT_S and max(waits) == MAX_WAIT_S
    assert elapsed == [0, 60, 180, 420, 900, 1500, 2100, 2700]
    assert previous is not None and previous["attempt"] == 8


def test_done_once_nothing_is_pending_and_the_catch_up_window_is_over() -> None:
    handed = _request(catch_up=True)
    first = attempt_result(handed, None, pending=[])
    assert not first["done"]  # an abort: a create call may still land
    previous = first
    while not previous["done"]:
        previous = attempt_result(handed, previous, pending=[])
    assert previous["elapsedSeconds"] >= CATCH_UP.total_seconds()
    assert attempt_result(_request(), None, pending=[])["done"]  # nothing to catch up with


def test_expired_only_with_something_pending_at_the_deadline() -> None:
    handed = _request()
    at_deadline = {"attempt": 99, "elapsedSeconds": DEADLINE.total_seconds() - 600, "waitSeconds": 600}
    expired = attempt_result(handed, at_deadline, pending=PENDING)
    assert expired["expired"] and not expired["done"]
    assert not attempt_result(handed, at_deadline, pending=[])["expired"]


def test_one_release_per_execution_and_scope_within_step_functions_name_rules() -> None:
    name = execution_name(plans.RUN_ID, OWNER, "run")
    assert name.startswith(plans.RUN_ID) and name.endswith("-run")
    assert execution_name(plans.RUN_ID, OWNER, "run") == name
    assert execution_name(plans.RUN_ID, OWNER, "vehicle") != name
    later = Execution(plans.EXECUTION_ARN, "2027-03-01T08:00:00.000Z")  # same name, 90+ days on
    assert execution_name(plans.RUN_ID, later, "run") != name
    long = execution_name("r" * 80, OWNER, "vehicle")
    assert len(long) <= durable_release.EXECUTION_NAME_MAX


class _Sfn:
    def __init__(self, error: str | None = None, *, running: bool = False) -> None:
        self.error, self.running = error, running
        self.started: list[dict[str, Any]] = []

    def describe_execution(self, executionArn: str) -> dict[str, str]:  # noqa: N803 (boto3's name)
        if not self.running:
            raise LookupError("ExecutionDoesNotExist")
        return {"executionArn": executionArn, "status": "RUNNING"}

    def start_execution(self, **request: Any) -> dict[str, str]:
        self.started.append(request)
        if self.error:
            raise LookupError(self.error)
        return {"executionArn": "arn:aws:states:us-east-1:1:execution:Release:x"}


def _code(error: Exception) -> str:
    return str(error.args[0]) if isinstance(error, LookupError) else ""


MACHINE = "arn:aws:states:us-east-1:1:stateMachine:Release"


def test_a_second_hand_over_of_the_same_joins_the_first() -> None:
    joined = _Sfn(running=True)
    arn, started = durable_release.hand_over(joined, MACHINE, _request(), _code)
    assert started is False and joined.started == []
    # ...and so does one that loses the race to start it
    arn, started = durable_release.hand_over(_Sfn("ExecutionAlreadyExists"), MACHINE, _request(), _code)
    assert arn == f"arn:aws:states:us-east-1:1:execution:Release:{execution_name(plans.RUN_ID, OWNER, 'run')}"
    assert started is False
    sfn = _Sfn()
    assert durable_release.hand_over(sfn, MACHINE, _request(), _code)[1] is True
    (call,) = sfn.started
    assert call["name"] == execution_name(plans.RUN_ID, OWNER, "run")


def test_any_other_hand_over_failure_escapes() -> None:
    with pytest.raises(LookupError, match="AccessDeniedException"):
        durable_release.hand_over(_Sfn("AccessDeniedException"), MACHINE, _request(), _code)
