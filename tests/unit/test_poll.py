"""pipeline.poll: one status check of a deployment or throughput, and when to check again."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.plan import DEPLOYMENT_WAIT_LIMIT_S, PT_WAIT_LIMIT_S, poll_schedule
from pipeline.poll import next_check

SCHEDULE = [30, 60, 120, 240, 480, 600, 600]  # 6 checks at most; the last entry is never waited


def previous(attempt: int) -> dict[str, Any]:
    return {"status": "Creating", "attempt": attempt, "waitSeconds": 0}


@pytest.mark.parametrize("status", ["Active", "InService"])
def test_ready_on_the_first_check(status: str) -> None:
    assert next_check(status, None, SCHEDULE) == {
        "status": status,
        "ready": True,
        "failed": False,
        "timedOut": False,
        "attempt": 1,
        "waitSeconds": 60,
    }


@pytest.mark.parametrize("attempt", [0, 2, 5])
def test_failed_is_final_and_never_a_timeout(attempt: int) -> None:
    result = next_check("Failed", previous(attempt), SCHEDULE)

    assert (result["ready"], result["failed"], result["timedOut"]) == (False, True, False)
    assert result["attempt"] == attempt + 1


@pytest.mark.parametrize("status", ["Creating", "Updating"])
def test_still_coming_online_waits_the_next_interval_of_the_schedule(status: str) -> None:
    result = next_check(status, previous(2), SCHEDULE)

    assert result["attempt"] == 3
    assert result["waitSeconds"] == SCHEDULE[3] == 240
    assert not (result["ready"] or result["failed"] or result["timedOut"])


def test_times_out_at_the_last_check_and_not_before() -> None:
    last = len(SCHEDULE) - 1
    before_last = next_check("Creating", previous(last - 2), SCHEDULE)
    at_last = next_check("Creating", previous(last - 1), SCHEDULE)

    assert (before_last["attempt"], before_last["timedOut"]) == (last - 1, False)
    assert (at_last["attempt"], at_last["timedOut"]) == (last, True)


def test_ready_at_the_last_check_is_ready_not_timed_out() -> None:
    result = next_check("Active", previous(len(SCHEDULE) - 2), SCHEDULE)

    assert result["ready"] is True
    assert result["timedOut"] is False


def test_a_whole_wait_follows_the_schedule_and_covers_its_limit() -> None:
    # The workflow waits schedule[0] first, then what each check returns, until a verdict
    schedule = poll_schedule(DEPLOYMENT_WAIT_LIMIT_S)
    waited = [schedule[0]]
    state: dict[str, Any] | None = None
    while True:
        state = next_check("Creating", state, schedule)
        if state["timedOut"]:
            break
        waited.append(state["waitSeconds"])
    assert state["attempt"] == len(schedule) - 1
    assert waited == schedule[:-1]
    assert sum(waited) >= DEPLOYMENT_WAIT_LIMIT_S


def test_the_next_wait_never_reads_past_the_schedule() -> None:
    schedule = poll_schedule(PT_WAIT_LIMIT_S)

    assert next_check("Creating", previous(len(schedule) + 5), schedule)["waitSeconds"] == schedule[-1]


@pytest.mark.parametrize("earlier", [None, {}, {"attempt": None}])
def test_a_first_check_counts_as_attempt_one(earlier: dict[str, Any] | None) -> None:
    assert next_check("Creating", earlier, SCHEDULE)["attempt"] == 1


def test_an_empty_schedule_allows_one_check_then_a_minute() -> None:
    result = next_check("Creating", None, [])

    assert result["timedOut"] is True
    assert result["waitSeconds"] == 60
