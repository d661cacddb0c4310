"""A run in line for a training slot, as `status` and `watch` show it: read from the execution history
(the job's create call refused by the quota, pipeline.retries) and, with credentials, from the job
list and the quota. RunViews as load_run builds them, without AWS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline.operate import watch
from pipeline.operate.run_history import History
from tests.operate.watch_views import START, view

TRAIN = "Train the custom model (with validation data)"
REFUSED = "Bedrock.ServiceQuotaExceededException"


def _at(minutes: float) -> str:
    return (START + dt.timedelta(minutes=minutes)).isoformat()


def events(
    *, refusals: int, created: bool = False, submit_failed: bool = False
) -> tuple[dict[str, Any], ...]:
    """The history of a run that entered training and was refused ``refusals`` times."""
    found: list[dict[str, Any]] = [
        {"id": 1, "type": "ExecutionStarted", "timestamp": _at(0)},
        {
            "id": 2,
            "type": "TaskStateEntered",
            "timestamp": _at(1),
            "stateEnteredEventDetails": {"name": TRAIN},
        },
    ]
    key = "taskSubmitFailedEventDetails" if submit_failed else "taskFailedEventDetails"
    for n in range(refusals):
        found += [
            {"id": len(found) + 1, "type": "TaskScheduled", "timestamp": _at(1 + 10 * n)},
            {
                "id": len(found) + 2,
                "type": "TaskSubmitFailed" if submit_failed else "TaskFailed",
                "timestamp": _at(1 + 10 * n),
                key: {"error": REFUSED, "cause": "The number of concurrent jobs has reached the quota"},
            },
        ]
    if created:
        found.append({"id": len(found) + 1, "type": "TaskSubmitted", "timestamp": _at(1 + 10 * refusals)})
    return tuple(found)


def test_the_history_says_the_run_is_in_line_and_for_how_long() -> None:
    queue = History(events(refusals=3)).training_queue()
    assert queue is not None
    assert (queue.refused, queue.since, queue.last_refused) == (
        3,
        START + dt.timedelta(minutes=1),
        START + dt.timedelta(minutes=21),
    )
    # 72 retries after the first attempt; at most ~34 hours in line
    assert queue.attempts_left == 70
    assert queue.gives_up_by - queue.since == dt.timedelta(seconds=122460)
    # The optimized integration's submit failure reads the same
    assert History(events(refusals=2, submit_failed=True)).training_queue() is not None


def test_once_the_job_is_created_the_run_is_no_longer_in_line() -> None:
    assert History(events(refusals=3, created=True)).training_queue() is None
    assert History(events(refusals=0)).training_queue() is None


def _queued(slots: dict[str, Any] | None) -> Any:
    queued = view(30, TRAIN, job=None)
    queued.queue = History(events(refusals=3)).training_queue()
    queued.training_slots = slots
    return queued


def test_status_shows_the_line_with_jobs_ahead_and_the_quota() -> None:
    queued = _queued(
        {"jobsInProgress": 3, "quota": 3.0, "quotaName": "'Concurrent model customization jobs' (L-X)"}
    )
    text = queued.render()
    assert queued.stage == "queued for a training slot"
    assert "queued: 3 job(s) ahead / quota 3 'Concurrent model customization jobs' (L-X)" in text
    assert "queued for a training slot since 2026-03-02 09:01 UTC, attempt 4 (3 refused by the quota" in text
    assert queued.to_dict()["queue"]["refused"] == 3 and queued.to_dict()["queue"]["jobsInProgress"] == 3


def test_without_the_job_list_or_the_quota_status_still_says_since_when_and_which_attempt() -> None:
    text = _queued(None).render()
    assert (
        "Queue" in text and "queued; queued for a training slot since 2026-03-02 09:01 UTC, attempt 4" in text
    )


def test_watch_shows_each_refusal_as_news() -> None:
    queued = _queued({"jobsInProgress": 2, "quota": 2.0, "quotaName": None})
    shot = watch.snapshot(queued)
    assert shot.stage == "queued for a training slot"
    assert shot.waiting_for.startswith("a training slot (queued: 2 job(s) ahead / quota 2;")
    later = _queued({"jobsInProgress": 2, "quota": 2.0, "quotaName": None})
    later.queue = History(events(refusals=4)).training_queue()
    assert watch.snapshot(later).key() != shot.key()


def test_status_names_the_run_a_rerun_starts_again() -> None:
    rerun = view(30, TRAIN)
    rerun.run_id = f"{rerun.run_id}-r2"
    rerun.rerun_of = rerun.run_id.removesuffix("-r2")
    text = rerun.render()
    assert "Rerun of" in text and f"{rerun.rerun_of} (this is attempt 2)" in text
    assert rerun.to_dict()["rerunOf"] == rerun.rerun_of


def test_status_says_whose_model_a_promotion_serves() -> None:
    promoted = view(30, TRAIN)
    preflight = promoted.state.setdefault("preflight", {})
    source = {"sourceRunId": "support-bot-0123456789"}
    preflight["plan"] = {**(preflight.get("plan") or {}), "promotion": source}
    text = promoted.render()
    assert "Promotion of" in text and "run support-bot-0123456789's model: nothing trained" in text
    if promoted.job is not None:
        assert "(the earlier run's job)" in text
